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
import type { CommandFactory, Ctx } from './ctx';
import { openDashboard as showDashboard } from './dashboard/panel';
import { checkDaemonUrl } from './format';
import { evaluateJob, invertJob, JOB_KIND, JobSubmission, probeJob, runJob, trainJob } from './jobParams';
import { isActive } from './jobTracker';
import { configText, encoderTemplate, freshName, runTemplate } from './templates';

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
    await ctx.stopLocalDaemon();
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

/** The run config a command acts on: its argument, else the active editor's file, else a picker. */
async function pickRunConfig(ctx: Ctx, arg: unknown, preferActive: boolean): Promise<string | undefined> {
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
  const item = await vscode.window.showQuickPick(found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })), { title: 'Run config to train' });
  return item?.uri.fsPath;
}

export const runConfig: CommandFactory = {
  needsDaemon: true,
  enabled: (ctx) => async (arg?: unknown) => {
    const doc = vscode.window.activeTextEditor?.document;
    const file = str(arg) ?? (doc?.uri.scheme === 'file' ? doc.uri.fsPath : undefined);
    const kind = file ? configKindOf(file) : undefined;
    if (!file || !kind) {
      void ctx.notify('warning', 'Face Inversion: open a run config (*.faceinv-run.json) to run it.');
      return undefined;
    }
    if (kind === 'encoder') {
      void ctx.notify('info', `Face Inversion: ${path.basename(file)} is an encoder config; a run config names it and is what runs.`, 'New Run Config')
        .then((pick) => pick && vscode.commands.executeCommand('faceInversion.newRunConfig'));
      return undefined;
    }
    if (doc && doc.uri.fsPath === file && doc.isDirty) await doc.save();
    // End to end (route judge → train or invert → evaluate) where the daemon has it; else black-box training.
    const kinds = await offeredKinds(ctx);
    return submitChecked(ctx, kinds?.includes(JOB_KIND.run) ? runJob(file) : trainJob(file));
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

const schemaRef = (ctx: Ctx, file: string) => vscode.Uri.joinPath(ctx.extensionUri, 'models', 'schemas', file).toString();

export const newEncoderConfig: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async (idArg?: unknown) => {
    const id = str(idArg) ?? await vscode.window.showInputBox({
      title: 'New encoder config', prompt: 'Encoder id (lower-case letters, digits, . _ -)', value: 'my-encoder',
      validateInput: (v) => (/^[a-z0-9][a-z0-9._-]*$/.test(v) ? undefined : 'use lower-case letters, digits, ".", "_" or "-", starting with a letter or digit'),
    });
    if (!id) return undefined;
    return createConfig(ctx, id, '.faceinv-encoder.json', encoderTemplate(id, schemaRef(ctx, 'encoder.schema.json')));
  },
};

export const newRunConfig: CommandFactory = {
  needsDaemon: false,
  enabled: (ctx) => async (encoderArg?: unknown, nameArg?: unknown) => {
    let encoder = str(encoderArg);
    if (!encoder) {
      const known = await encodersOrSay(ctx);
      if (!known) return undefined;
      const pick = await vscode.window.showQuickPick(known.map((e) => ({
        label: e.id, description: `${e.format} · ${e.embeddingDim}-d · ${e.route === 'whitebox' ? 'white box' : 'black box'}${e.shadows ? ' · workspace copy' : ''}`, detail: e.description,
      })), { title: 'Encoder to attack' });
      encoder = pick?.label;
    }
    if (!encoder) return undefined;
    const name = str(nameArg) ?? `${encoder}-blackbox`;
    return createConfig(ctx, name, '.faceinv-run.json', runTemplate(name, encoder, schemaRef(ctx, 'run.schema.json')));
  },
};

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
  'faceInversion.trainModel': trainModel,
  'faceInversion.invertEmbeddings': invertEmbeddings,
  'faceInversion.evaluateAttack': evaluateAttack,
  'faceInversion.openDashboard': openDashboard,
  'faceInversion.cancelJob': cancelJob,
  'faceInversion.newEncoderConfig': newEncoderConfig,
  'faceInversion.newRunConfig': newRunConfig,
  'faceInversion.selfCheck': selfCheck,
  'faceInversion.showLog': showLog,
};
