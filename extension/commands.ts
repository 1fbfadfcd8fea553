/**
 * The "Face Inversion" commands, one small factory each over the context (rust-analyzer's commands.ts
 * pattern). `needsDaemon` commands get the disabled form from `Ctx.registerCommand` when no daemon is
 * connected. Commands accept optional arguments (paths, ids) so other commands and tests can run them without
 * a picker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ListJobKindsRequest, ListRunsRequest, type RunSummary } from '../daemon/protocol/daemon';
import { configKindOf, type EncoderSummary } from '../daemon/protocol/configServer';
import { isEncoderId } from '../daemon/protocol/encoderConfig';
import type { CommandFactory, Ctx } from './ctx';
import { openDashboard as showDashboard } from './dashboard/panel';
import { checkDaemonUrl } from './format';
import { auditJob, evaluateJob, invertJob, JOB_KIND, JobSubmission, probeJob, protectJob, runJob, runNameOf, trainJob } from './jobParams';
import { isActive } from './jobTracker';
import { AuditJob, resultOf } from '../daemon/protocol/jobKinds';
import { configText, encoderTemplate, freshName, protectTemplate, runTemplate } from './templates';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : v instanceof vscode.Uri ? v.fsPath : undefined);

/** Job kinds the connected daemon offers (undefined when it cannot say). */
async function offeredKinds(ctx: Ctx): Promise<string[] | undefined> {
  try {
    return (await ctx.client()?.request(ListJobKindsRequest, {}, 10_000))?.kinds.map((k) => k.kind);
  } catch {
    return undefined;
  }
}

/** Checks the daemon offers `kind` before submitting; says which kinds it has otherwise. */
async function submitChecked(ctx: Ctx, job: JobSubmission) {
  const kinds = await offeredKinds(ctx);
  if (kinds && !kinds.includes(job.kind)) {
    void ctx.notify('error', `Face Inversion: this daemon has no "${job.kind}" job kind (it offers: ${kinds.join(', ')}). Update the daemon.`);
    return undefined;
  }
  return ctx.submit(job);
}

export const startDaemon: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async () => {
    if (ctx.localDaemonRunning && ctx.connection.state === 'connected' && !ctx.connection.endpoint?.remote) {
      void ctx.notify('info', 'Face Inversion: the local daemon is already running.');
      return ctx.connection.status;
    }
    await ctx.startLocalDaemon();
    return ctx.connection.status;
  },
};

export const stopDaemon: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async () => {
    if (!ctx.localDaemonRunning && ctx.connection.state === 'stopped') { void ctx.notify('info', 'Face Inversion: no daemon is running.'); return; }
    await ctx.stopLocalDaemon();
  },
};

export const restartDaemon: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async () => {
    // startLocalDaemon stops the running one itself, with the link saying "starting" all along (no "stopped" gap).
    await ctx.startLocalDaemon();
    return ctx.connection.status;
  },
};

export const connectDaemon: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async (urlArg?: unknown, tokenArg?: unknown) => {
    const last = await ctx.lastRemote();
    const url = str(urlArg) ?? await vscode.window.showInputBox({
      title: 'Connect to a Face Inversion daemon', prompt: 'WebSocket URL of the daemon (e.g. a GPU box reached through an SSH tunnel)',
      value: last.url ?? 'ws://127.0.0.1:7391', validateInput: (v) => checkDaemonUrl(v),
      ignoreFocusOut: true,
    });
    if (!url) return false;
    const bad = checkDaemonUrl(url);
    if (bad) { void ctx.notify('error', `Face Inversion: ${url}: ${bad}`); return false; }
    const token = str(tokenArg) ?? await vscode.window.showInputBox({
      title: 'Daemon token', prompt: 'The token from the daemon\'s connection file (~/.faceinv/daemon.json on that machine)',
      password: true, value: last.url === url ? last.token : undefined, ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'the token is required'),
    });
    if (!token) return false;
    return ctx.connectRemote(url, token.trim());
  },
};

/** A config's text: the open document's (it may be ahead of the disk), else the file's; '' when unreadable. */
async function readText(file: string): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
  if (open) return open.getText();
  return fs.promises.readFile(file, 'utf8').catch(() => '');
}

/** The run config a command acts on: its argument, else the active editor's file, else a picker. */
async function pickRunConfig(ctx: Ctx, arg: unknown, preferActive: boolean, title = 'Run config to train'): Promise<string | undefined> {
  const given = str(arg);
  if (given) return given;
  const active = vscode.window.activeTextEditor?.document;
  if (preferActive && active && active.uri.scheme === 'file' && configKindOf(active.uri.fsPath) === 'run') {
    if (active.isDirty) await active.save();
    return active.uri.fsPath;
  }
  const found = [
    ...await vscode.workspace.findFiles('**/*.faceinv-run.json', '**/node_modules/**', 200),
    ...await vscode.workspace.findFiles('**/models/experiments/*.json', '**/node_modules/**', 200),
  ];
  if (found.length === 0) {
    void ctx.notify('warning', 'Face Inversion: no run configs (*.faceinv-run.json) in this workspace.', 'New Run Config')
      .then((pick) => pick && vscode.commands.executeCommand('faceInversion.newRunConfig'));
    return undefined;
  }
  const item = await vscode.window.showQuickPick(found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })), { title });
  return item?.uri.fsPath;
}

const DATASET_PICKER_TITLE = 'Dataset folder: LFW (holding lfw-deepfunneled/<Person>/*.jpg) or any <Person>/*.jpg folder';

/**
 * The folder picker for the dataset: the config server checks the folder by the daemon's rules before it is
 * saved (user settings, `faceInversion.dataset.lfw`); a running local daemon is restarted with it.
 */
export async function chooseDatasetFolder(ctx: Ctx, why?: string): Promise<string | undefined> {
  for (;;) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use as Dataset', title: why ? `${why} ${DATASET_PICKER_TITLE}` : DATASET_PICKER_TITLE });
    const folder = picked?.[0]?.fsPath;
    if (!folder) return undefined;
    const status = await ctx.datasetStatus(folder);
    if (status.folderProblem) {
      const again = await ctx.notify('error', `Face Inversion: ${status.folderProblem}.`, 'Choose Another Folder…');
      if (again) continue;
      return undefined;
    }
    ctx.settingDataset = true; // this command restarts the daemon itself: no "restart to apply" prompt
    try {
      await vscode.workspace.getConfiguration('faceInversion').update('dataset.lfw', folder, vscode.ConfigurationTarget.Global);
    } finally {
      ctx.settingDataset = false;
    }
    if (ctx.localDaemonRunning) await ctx.startLocalDaemon();
    void ctx.notify('info', `Face Inversion: dataset folder set to ${folder} (setting faceInversion.dataset.lfw).`);
    return folder;
  }
}

export const chooseDataset: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => () => chooseDatasetFolder(ctx),
};

/** A run config's dataset is LFW (named or by default) and LFW is nowhere the daemon looks: pick its folder. */
async function ensureDataset(ctx: Ctx, configText: string): Promise<boolean> {
  let ds: unknown;
  try { ds = (JSON.parse(configText) as { dataset?: { path?: unknown } }).dataset?.path; } catch { return true; } // the daemon names a syntax error
  if (ds !== undefined && ds !== 'lfw') return true;
  const status = await ctx.datasetStatus().catch(() => undefined);
  if (!status || status.lfw) return true;
  return (await chooseDatasetFolder(ctx, 'LFW was not found.')) !== undefined;
}

export const runConfig: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (arg?: unknown) => {
    const doc = vscode.window.activeTextEditor?.document;
    const active = doc?.uri.scheme === 'file' && configKindOf(doc.uri.fsPath) ? doc.uri.fsPath : undefined;
    // No config in hand (the dashboard or another file has the focus): offer the workspace's run configs.
    const file = str(arg) ?? active ?? await pickRunConfig(ctx, undefined, false, 'Run config to run');
    if (!file) return undefined;
    const kind = configKindOf(file);
    if (!kind) {
      void ctx.notify('warning', `Face Inversion: ${path.basename(file)} is not a run config (*.faceinv-run.json).`);
      return undefined;
    }
    if (kind === 'encoder') {
      void ctx.notify('info', `Face Inversion: ${path.basename(file)} is an encoder config; a run config names it and is what runs.`, 'New Run Config')
        .then((pick) => pick && vscode.commands.executeCommand('faceInversion.newRunConfig'));
      return undefined;
    }
    if (doc && doc.uri.fsPath === file && doc.isDirty) await doc.save();
    // A protection config runs as the `protect` job (its report opens from the job's result).
    if (kind === 'protect') return submitChecked(ctx, protectJob(file));
    // End to end (route judge → train or invert → evaluate) where the daemon has it; else black-box training.
    const text = await readText(file);
    if (!await ensureDataset(ctx, text)) return undefined;
    const kinds = await offeredKinds(ctx);
    const name = runNameOf(text);
    return submitChecked(ctx, kinds?.includes(JOB_KIND.run) ? runJob(file, name) : trainJob(file, name));
  },
};

export const trainModel: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (arg?: unknown) => {
    const file = await pickRunConfig(ctx, arg, false);
    return file ? submitChecked(ctx, trainJob(file)) : undefined;
  },
};

/**
 * The runs the daemon serves (its runs root, newest first): the folders a job there can read, local or remote.
 * Says why, and returns undefined, when the daemon cannot list them.
 */
async function runsOrSay(ctx: Ctx): Promise<RunSummary[] | undefined> {
  try {
    const r = await ctx.client()?.request(ListRunsRequest, {}, 10_000);
    if (!r) throw new Error('the daemon is not connected');
    return r.runs;
  } catch (err) {
    void vscode.window.showErrorMessage(`Face Inversion: cannot list the daemon's runs: ${(err as Error).message}`);
    return undefined;
  }
}

/** A picker line for a run: its name, what it is and how it stands, its folder on the daemon's machine. */
export function runPickItem(r: RunSummary): { label: string; description: string; detail: string; dir: string } {
  const what = [r.kind, r.encoderId, r.state, r.hasReport ? 'evaluated' : undefined].filter(Boolean).join(' · ');
  return { label: r.name, description: what, detail: r.dir, dir: r.dir };
}

async function pickRunFolder(ctx: Ctx, title: string): Promise<string | undefined> {
  const runs = await runsOrSay(ctx);
  if (!runs) return undefined;
  const browse = { label: '$(folder-opened) Browse…', description: 'a run folder on this machine', detail: '', dir: '' };
  const items = [...runs.filter((r) => r.state !== 'unknown').map(runPickItem), browse];
  const pick = items.length > 1 ? await vscode.window.showQuickPick(items, { title }) : browse;
  if (!pick) return undefined;
  if (pick.dir) return pick.dir;
  const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title, openLabel: 'Select run folder' });
  return uris?.[0]?.fsPath;
}

/** The registry's encoders (through the config server); says why, and returns undefined, when it cannot list them. */
async function encodersOrSay(ctx: Ctx): Promise<EncoderSummary[] | undefined> {
  try {
    const r = await ctx.listEncoders();
    for (const bad of r.invalid) ctx.output.appendLine(`encoder config ${bad.file} is invalid: ${bad.problem}`);
    return r.encoders;
  } catch (err) {
    void vscode.window.showErrorMessage(`Face Inversion: cannot list the encoder configs: ${(err as Error).message}`);
    return undefined;
  }
}

export const invertEmbeddings: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (fileArg?: unknown, encoderArg?: unknown, generatorArg?: unknown) => {
    const file = str(fileArg) ?? (await vscode.window.showOpenDialog({
      canSelectMany: false, title: 'Embeddings to invert', openLabel: 'Invert',
      filters: { 'Embeddings': ['json', 'jsonl', 'npy', 'f32', 'bin', 'csv'], 'All files': ['*'] },
    }))?.[0]?.fsPath;
    if (!file) return undefined;
    let encoder = str(encoderArg);
    if (!encoder) {
      const known = await encodersOrSay(ctx);
      if (!known) return undefined;
      encoder = (await vscode.window.showQuickPick(known.map((e) => ({ label: e.id, description: `${e.embeddingDim}-d · ${e.format}` })), { title: 'Encoder that produced these embeddings' }))?.label;
    }
    if (!encoder) return undefined;
    let generator = str(generatorArg);
    if (generatorArg === undefined) {
      const judge = { label: 'Let the judge decide', description: 'white box where the encoder is differentiable, else a trained decoder', dir: '' };
      const known = await runsOrSay(ctx);
      if (!known) return undefined;
      const runs = known.filter((r) => r.state === 'finished').map((r) => ({ ...runPickItem(r), description: `its face model · ${runPickItem(r).description}` }));
      const pick = await vscode.window.showQuickPick([judge, ...runs], { title: 'Generator / decoder' });
      if (!pick) return undefined;
      generator = pick.dir || undefined;
    }
    return submitChecked(ctx, invertJob(file, encoder, generator));
  },
};

export const evaluateAttack: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (runArg?: unknown) => {
    const run = str(runArg) ?? await pickRunFolder(ctx, 'Run folder to evaluate');
    return run ? submitChecked(ctx, evaluateJob(run)) : undefined;
  },
};

/** Key of an HTTP encoder's secret in the editor's secret storage. */
export const encoderSecretKey = (name: string) => `faceInversion.encoderSecret.${name}`;

/** Secret names the `auth.secret` of these encoders refer to. */
function secretNames(encoders: readonly EncoderSummary[]): string[] {
  return [...new Set(encoders.flatMap((e) => (e.secret ? [e.secret] : [])))];
}

/**
 * "Audit Template Store…": an audit config (argument, active editor), or pickers for the template store and
 * the encoder that made it, then the reference set. HTTP encoders' secrets come from the secret storage.
 * When the audit ends, "Open Report" opens its self-contained HTML report.
 */
export const auditTemplateStore: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (fileArg?: unknown, encoderArg?: unknown, referenceArg?: unknown) => {
    const active = vscode.window.activeTextEditor?.document;
    let file = str(fileArg);
    if (!file && active?.uri.scheme === 'file' && configKindOf(active.uri.fsPath) === 'audit') file = active.uri.fsPath;
    const listed = await encodersOrSay(ctx);
    if (!listed) return undefined;
    const known = new Map(listed.map((e) => [e.id, e]));
    let sub: Parameters<typeof auditJob>[0];
    let encoders: EncoderSummary[];
    if (file && configKindOf(file) === 'audit') {
      if (active && active.uri.fsPath === file && active.isDirty) await active.save();
      let cfg: { encoder?: unknown; transfer?: { encoder?: unknown }[] } = {};
      try { cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof cfg; } catch { /* the daemon names the problem */ }
      encoders = [cfg.encoder, ...(cfg.transfer ?? []).map((t) => t.encoder)].map((id) => (typeof id === 'string' ? known.get(id) : undefined)).filter((e): e is EncoderSummary => !!e);
      sub = { config: file };
    } else {
      const templates = file ?? (await vscode.window.showOpenDialog({
        canSelectMany: false, title: 'Template store to audit', openLabel: 'Audit',
        filters: { 'Template stores': ['npy', 'json', 'jsonl', 'f32', 'bin'], 'All files': ['*'] },
      }))?.[0]?.fsPath;
      if (!templates) return undefined;
      let encoder = str(encoderArg);
      if (!encoder) {
        encoder = (await vscode.window.showQuickPick(listed.map((e) => ({
          label: e.id, description: `${e.embeddingDim}-d · ${e.format}${e.route === 'whitebox' ? ' · white box possible' : ' · black box'}`, detail: e.description,
        })), { title: 'Encoder that made these templates (the system to audit)' }))?.label;
      }
      if (!encoder) return undefined;
      let reference = str(referenceArg);
      if (referenceArg === undefined) {
        const lfw = { label: 'LFW', description: 'the default reference set, where found', dir: '' };
        const browse = { label: '$(folder-opened) Browse…', description: 'labelled photos, one folder per person', dir: 'browse' };
        const pick = await vscode.window.showQuickPick([lfw, browse], { title: 'Reference set (calibrates the thresholds; the attacker\'s own photos)' });
        if (!pick) return undefined;
        if (pick.dir === 'browse') {
          reference = (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, title: 'Reference set folder', openLabel: 'Use as reference' }))?.[0]?.fsPath;
          if (!reference) return undefined;
        }
      }
      encoders = [known.get(encoder)].filter((e): e is EncoderSummary => !!e);
      sub = { templates, encoder, ...(reference ? { reference } : {}) };
    }
    const secrets: Record<string, string> = {};
    for (const name of secretNames(encoders)) {
      const v = await ctx.ext.secrets.get(encoderSecretKey(name));
      if (!v) {
        void ctx.notify('error', `Face Inversion: the encoder's auth.secret "${name}" is not set in this editor's secret storage.`, 'Set Encoder Secret…')
          .then((pick) => pick && vscode.commands.executeCommand('faceInversion.setEncoderSecret', name));
        return undefined;
      }
      secrets[name] = v;
    }
    const job = await submitChecked(ctx, auditJob({ ...sub, secrets }));
    if (!job) return undefined;
    const off = ctx.connection.jobs.onEvent((e) => {
      if (e.job.id !== job.id || e.job.state === 'queued' || e.job.state === 'running') return;
      off();
      const result = resultOf(AuditJob, e.job.result);
      if (e.job.state !== 'succeeded' || typeof result?.report !== 'string') return;
      const report = result.report;
      const msg = result.state === 'paused' ? `Face Inversion: the audit paused (${String(result.stopReason)}). Partial report:` : 'Face Inversion: audit report ready.';
      void ctx.notify(result.state === 'paused' ? 'warning' : 'info', msg, 'Open Report').then((pick) => { if (pick) void vscode.env.openExternal(vscode.Uri.file(report)); });
    });
    return job;
  },
};

/** "Set Encoder Secret…": stores the credential an HTTP encoder's auth.secret names (never in a file). */
export const setEncoderSecret: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async (nameArg?: unknown, valueArg?: unknown) => {
    let name = str(nameArg);
    if (!name) {
      // Offer the names the registry's HTTP encoders use; without the config server, the name can still be typed.
      const names = secretNames((await ctx.listEncoders().catch(() => undefined))?.encoders ?? []);
      const other = { label: '$(edit) Another name…' };
      const pick = names.length ? await vscode.window.showQuickPick([...names.map((n) => ({ label: n })), other], { title: 'Secret named by an HTTP encoder\'s auth.secret' }) : other;
      if (!pick) return false;
      name = pick === other ? await vscode.window.showInputBox({ title: 'Secret name', prompt: 'The name in model.http.auth.secret', validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v) ? undefined : 'letters, digits, ".", "_" or "-"') }) : pick.label;
    }
    if (!name) return false;
    const value = str(valueArg) ?? await vscode.window.showInputBox({ title: `Secret "${name}"`, prompt: 'The credential (kept in the editor\'s secret storage, sent to the daemon only with audit jobs)', password: true, ignoreFocusOut: true });
    if (!value) return false;
    await ctx.ext.secrets.store(encoderSecretKey(name), value);
    void ctx.notify('info', `Face Inversion: secret "${name}" stored.`);
    return true;
  },
};

export const selfCheck: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (stepsArg?: unknown) => submitChecked(ctx, probeJob(typeof stepsArg === 'number' ? stepsArg : 20)),
};

export const openDashboard: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async (runArg?: unknown) => {
    showDashboard(ctx, str(runArg));
    return true;
  },
};

export const cancelJob: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (idArg?: unknown) => {
    let id = str(idArg);
    if (!id) {
      const active = ctx.connection.jobs.all().filter(isActive);
      if (active.length === 0) { void ctx.notify('info', 'Face Inversion: no job is queued or running.'); return undefined; }
      const pick = active.length === 1 ? { id: active[0].id } : await vscode.window.showQuickPick(
        active.map((j) => ({ label: j.label, description: `${j.kind} · ${j.state}`, id: j.id })), { title: 'Cancel which job?' });
      id = pick?.id;
    }
    return id ? ctx.cancelJob(id) : undefined;
  },
};

/** Writes a new config next to the workspace root (or an untitled editor without a workspace) and opens it. */
async function createConfig(ctx: Ctx, base: string, suffix: string, value: object): Promise<vscode.Uri | undefined> {
  const ws = ctx.workspaceRoot;
  if (!ws) {
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: configText(value) });
    await vscode.window.showTextDocument(doc);
    void ctx.notify('info', `Face Inversion: save this file as <name>${suffix} inside a workspace so it is checked.`);
    return doc.uri;
  }
  const name = freshName(base, suffix, (n) => fs.existsSync(path.join(ws, n)));
  const uri = vscode.Uri.file(path.join(ws, name));
  await vscode.workspace.fs.writeFile(uri, Buffer.from(configText(value)));
  await vscode.window.showTextDocument(uri);
  return uri;
}


export const newEncoderConfig: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async (idArg?: unknown) => {
    const id = str(idArg) ?? await vscode.window.showInputBox({
      title: 'New encoder config', prompt: 'Encoder id (lower-case letters, digits, . _ -)', value: 'my-encoder',
      validateInput: (v) => (isEncoderId(v) ? undefined : 'use lower-case letters, digits, ".", "_" or "-", starting with a letter or digit'),
    });
    if (!id) return undefined;
    return createConfig(ctx, id, '.faceinv-encoder.json', encoderTemplate(id));
  },
};

/** The encoder a new config is for: the argument, else picked from the registry (undefined when none or cancelled). */
async function encoderFor(ctx: Ctx, arg: unknown, title: string, routeShown: boolean): Promise<string | undefined> {
  const given = str(arg);
  if (given) return given;
  const known = await encodersOrSay(ctx);
  if (!known) return undefined;
  const pick = await vscode.window.showQuickPick(known.map((e) => ({
    label: e.id, description: `${e.format} · ${e.embeddingDim}-d${routeShown ? ` · ${e.route === 'whitebox' ? 'white box' : 'black box'}` : ''}${e.shadows ? ' · workspace copy' : ''}`, detail: e.description,
  })), { title });
  return pick?.label;
}

/** A New … Config command for a config made from an encoder id and a name. */
function newConfigForEncoder(suffix: string, pickTitle: string, routeShown: boolean, defaultName: (encoder: string) => string, template: (name: string, encoder: string) => object): CommandFactory {
  return {
    needsDaemon: false,
    enabled: (ctx) => async (encoderArg?: unknown, nameArg?: unknown) => {
      const encoder = await encoderFor(ctx, encoderArg, pickTitle, routeShown);
      if (!encoder) return undefined;
      const name = str(nameArg) ?? defaultName(encoder);
      return createConfig(ctx, name, suffix, template(name, encoder));
    },
  };
}

export const newRunConfig = newConfigForEncoder('.faceinv-run.json', 'Encoder to attack', true, (e) => `${e}-blackbox`, runTemplate);
export const newProtectConfig = newConfigForEncoder('.faceinv-protect.json', 'Encoder whose templates are protected', false, (e) => `${e}-protection`, protectTemplate);

export const showLog: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => () => ctx.output.show(true),
};

/** Every command, by id (package.json "contributes.commands" lists the same ids; a unit test checks). */
export const COMMANDS: Record<string, CommandFactory> = {
  'faceInversion.startDaemon': startDaemon,
  'faceInversion.stopDaemon': stopDaemon,
  'faceInversion.restartDaemon': restartDaemon,
  'faceInversion.connectDaemon': connectDaemon,
  'faceInversion.runConfig': runConfig,
  'faceInversion.chooseDataset': chooseDataset,
  'faceInversion.trainModel': trainModel,
  'faceInversion.invertEmbeddings': invertEmbeddings,
  'faceInversion.evaluateAttack': evaluateAttack,
  'faceInversion.auditTemplateStore': auditTemplateStore,
  'faceInversion.setEncoderSecret': setEncoderSecret,
  'faceInversion.openDashboard': openDashboard,
  'faceInversion.cancelJob': cancelJob,
  'faceInversion.newEncoderConfig': newEncoderConfig,
  'faceInversion.newRunConfig': newRunConfig,
  'faceInversion.newProtectConfig': newProtectConfig,
  'faceInversion.selfCheck': selfCheck,
  'faceInversion.showLog': showLog,
};
