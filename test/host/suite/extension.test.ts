/**
 * Host tests: the extension inside a real VS Code extension host (code-server 4.100.3 = VS Code 1.100.3).
 * They start the real daemon (`node bin/faceinv.js daemon`), so they check the spawn, the token hand-over,
 * the WebSocket channel and the job stream end to end. The workspace is prepared by `test/host/run.js`.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FaceInversionApi } from '../../../extension/extension';
import { waitFor } from './waitFor';

const EXT_ID = 'face-inversion-lab.face-inversion-lab';


describe('Face Inversion extension (real VS Code host)', () => {
  let api: FaceInversionApi;
  const ws = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';

  before(async () => {
    const ext = vscode.extensions.getExtension<FaceInversionApi>(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID} is not loaded`);
    api = await ext.activate();
  });

  it('registers every contributed command', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(vscode.extensions.getExtension(EXT_ID)!.extensionPath, 'package.json'), 'utf8')) as { contributes: { commands: { command: string }[] } };
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = pkg.contributes.commands.map((c) => c.command).filter((c) => !all.has(c));
    assert.deepEqual(missing, []);
    assert.ok(pkg.contributes.commands.length >= 13);
  });

  it('a command that needs the daemon shows its disabled form while none runs', async () => {
    assert.equal(api.state(), 'stopped');
    void vscode.commands.executeCommand('faceInversion.cancelJob');
    const n = await waitFor('the daemon-down notice', () => api.notices().find((x) => /needs a daemon/.test(x.message)), 10_000);
    assert.deepEqual(n.actions, ['Start Daemon', 'Connect…']);
  });

  it('puts JSON syntax errors and unknown encoders on config files as diagnostics', async () => {
    await api.configServerReady;
    const bad = vscode.Uri.file(path.join(ws(), 'broken.faceinv-run.json'));
    await vscode.window.showTextDocument(bad);
    const syntax = await waitFor('a faceinv syntax diagnostic', () => vscode.languages.getDiagnostics(bad).find((d) => d.source === 'faceinv'));
    assert.match(syntax.message, /JSON syntax error/);
    assert.equal(syntax.severity, vscode.DiagnosticSeverity.Error);
    const unknown = vscode.Uri.file(path.join(ws(), 'unknown-encoder.faceinv-run.json'));
    await vscode.window.showTextDocument(unknown);
    const d = await waitFor('an unknown-encoder diagnostic', () => vscode.languages.getDiagnostics(unknown).find((x) => x.source === 'faceinv' && x.code === 'encoder-unknown'));
    assert.match(d.message, /unknown encoder "no-such-encoder"/);
    // Hover on a known encoder shows the resolved model.
    const good = vscode.Uri.file(path.join(ws(), 'good.faceinv-run.json'));
    const doc = await vscode.workspace.openTextDocument(good);
    const pos = doc.positionAt(doc.getText().indexOf('arcface512-faceplugin') + 3);
    const hovers = await waitFor('a hover', async () => {
      const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', good, pos);
      return h && h.length ? h : undefined;
    }, 20_000);
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /fr_feature\.onnx/);
    assert.match(text, /\[1, 3, 112, 112\]/);
  });

  it('names an invalid encoder file as invalid, checks a borrowed decoder (faceModel.run) and offers finished runs as quick fixes', async () => {
    await api.configServerReady;
    const uses = vscode.Uri.file(path.join(ws(), 'uses-wonky.faceinv-run.json'));
    await vscode.window.showTextDocument(uses);
    const inv = await waitFor('an encoder-invalid diagnostic', () => vscode.languages.getDiagnostics(uses).find((x) => x.source === 'faceinv'));
    assert.equal(inv.code, 'encoder-invalid');
    assert.match(inv.message, /encoder "wonky" is defined in wonky\.faceinv-encoder\.json, but that file is invalid: \/normalization\/std\/1: division by zero/);
    const gen = vscode.Uri.file(path.join(ws(), 'bad-generator.faceinv-run.json'));
    const doc = await vscode.workspace.openTextDocument(gen);
    await vscode.window.showTextDocument(doc);
    const d = await waitFor('a generator diagnostic', () => vscode.languages.getDiagnostics(gen).find((x) => x.source === 'faceinv' && x.code === 'generator-missing'));
    assert.match(d.message, /runs\/no-such-run.*does not exist; finished black-box runs for 512-d embeddings: "runs\/bb-arcface"/);
    const actions = await waitFor('the quick fix', async () => {
      const a = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', gen, d.range, vscode.CodeActionKind.QuickFix.value);
      return a?.filter((x) => /finished black-box run "runs\/bb-arcface"/.test(x.title)).length ? a : undefined;
    }, 20_000);
    const fix = actions.find((x) => /runs\/bb-arcface/.test(x.title))!;
    assert.ok(fix.edit, 'the fix carries an edit');
    assert.ok(await vscode.workspace.applyEdit(fix.edit!));
    assert.match(doc.getText(), /"run": "runs\/bb-arcface"/);
    await waitFor('the diagnostic to go', () => !vscode.languages.getDiagnostics(gen).some((x) => x.source === 'faceinv'), 20_000);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('the run config\'s field description shows models/encoders/<id>.json (not swallowed as HTML)', async () => {
    const good = vscode.Uri.file(path.join(ws(), 'good.faceinv-run.json'));
    const doc = await vscode.workspace.openTextDocument(good);
    const pos = doc.positionAt(doc.getText().indexOf('"encoder"') + 3);
    const text = await waitFor('the schema hover on "encoder"', async () => {
      const h = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', good, pos);
      const t = (h ?? []).flatMap((x) => x.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      return /attacked encoder/.test(t) ? t : undefined;
    }, 30_000);
    assert.match(text, /`models\/encoders\/<id>\.json`/, text);
  });

  it('binds the JSON schemas to encoder and run config files (contributes.jsonValidation)', async () => {
    const enc = vscode.Uri.file(path.join(ws(), 'schema-bad.faceinv-encoder.json'));
    await vscode.window.showTextDocument(enc);
    const d1 = await waitFor('schema diagnostics on the encoder config', () => { const d = vscode.languages.getDiagnostics(enc).filter((x) => x.source !== 'faceinv'); return d.length ? d : undefined; }, 30_000);
    assert.ok(d1.some((d) => /pattern|missing|required/i.test(d.message)), d1.map((d) => d.message).join('\n'));
    const run = vscode.Uri.file(path.join(ws(), 'models', 'experiments', 'schema-bad.json'));
    await vscode.window.showTextDocument(run);
    const d2 = await waitFor('schema diagnostics on the run config', () => { const d = vscode.languages.getDiagnostics(run).filter((x) => x.source !== 'faceinv'); return d.length ? d : undefined; }, 30_000);
    assert.ok(d2.some((d) => /sideways|auto|blackbox|whitebox|allowed/i.test(d.message)), d2.map((d) => d.message).join('\n'));
  });

  it('Start Daemon → the status bar shows the backend', async function () {
    this.timeout(120_000);
    await vscode.commands.executeCommand('faceInversion.startDaemon');
    await waitFor('a connected daemon', () => api.state() === 'connected', 90_000);
    const backend = api.backend();
    assert.ok(backend, 'status has a backend');
    assert.match(api.statusBarText(), new RegExp(`faceinv: ${backend}`));
  });

  it('a submitted job streams progress to the extension', async function () {
    this.timeout(120_000);
    // Long enough (several seconds, also on a quiet machine) for the progress notification to open; run.js checks none is left open at the end.
    const job = await vscode.commands.executeCommand<{ id: string } | undefined>('faceInversion.selfCheck', 4000);
    assert.ok(job?.id, 'self-check job submitted');
    const seen = new Set<number>();
    await waitFor('the job to finish', () => {
      const j = api.jobs().find((x) => x.id === job.id);
      if (j?.progress) seen.add(j.progress.step);
      return j && (j.state === 'succeeded' || j.state === 'failed') ? j : undefined;
    }, 90_000);
    const done = api.jobs().find((x) => x.id === job.id)!;
    assert.equal(done.state, 'succeeded', done.error);
    assert.equal(done.progress?.step, 4000);
    assert.equal(done.progress?.total, 4000);
    assert.ok(seen.size >= 2, `progress observed while polling (${[...seen].join(',')})`);
    await waitFor('the finished message', () => api.notices().find((n) => /self-check ×4000 finished/.test(n.message)), 10_000);
    // The progress notification (with Cancel) opened while it ran, and closed when it ended.
    const lines = api.log();
    assert.ok(lines.includes('progress opened: self-check ×4000'), lines.filter((l) => /progress|submitted/.test(l)).join('\n'));
    assert.ok(lines.includes('progress closed: self-check ×4000'));
  });

  it('Open Dashboard creates a webview', async () => {
    const ok = await vscode.commands.executeCommand<boolean>('faceInversion.openDashboard');
    assert.equal(ok, true, `openDashboard failed: ${JSON.stringify(api.notices().slice(-1))}`);
    await waitFor('a webview tab', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview), 20_000);
  });

  it('a wrong token gives a notification with Retry / Start Daemon', async () => {
    const conn = { url: api.url() ?? '' };
    assert.match(conn.url, /^ws:\/\/127\.0\.0\.1:\d+/);
    const before = api.notices().length;
    const ok = await vscode.commands.executeCommand<boolean>('faceInversion.connectDaemon', conn.url, 'not-the-token');
    assert.equal(ok, false);
    const n = await waitFor('the token notice', () => api.notices().slice(before).find((x) => /refused the token/.test(x.message)), 10_000);
    assert.ok(n.actions.includes('Retry') && n.actions.includes('Start Daemon'), JSON.stringify(n.actions));
    assert.equal(api.state(), 'failed');
  });

  it('Stop Daemon stops it', async () => {
    await vscode.commands.executeCommand('faceInversion.stopDaemon');
    assert.equal(api.state(), 'stopped');
    assert.match(api.statusBarText(), /stopped/);
  });

  it('starts the daemon with the editor\'s own runtime when no node is on PATH and no nodePath is set', async function () {
    this.timeout(120_000);
    const cfg = vscode.workspace.getConfiguration('faceInversion');
    const savedPath = process.env.PATH;
    const emptyBin = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'faceinv-no-node-'));
    const savedSetting = cfg.inspect<string>('daemon.nodePath')?.workspaceValue;
    await cfg.update('daemon.nodePath', '', vscode.ConfigurationTarget.Workspace);
    process.env.PATH = emptyBin;
    try {
      assert.equal(vscode.workspace.getConfiguration('faceInversion').get('daemon.nodePath'), '');
      await vscode.commands.executeCommand('faceInversion.startDaemon');
      await waitFor('a connected daemon', () => api.state() === 'connected' || api.notices().find((n) => /cannot start the daemon|no runtime/.test(n.message)), 90_000);
      assert.equal(api.state(), 'connected', JSON.stringify(api.notices().slice(-2)));
      const started = api.log().filter((l) => l.startsWith('starting daemon with '));
      assert.match(started.at(-1) ?? '', /^starting daemon with the editor's own runtime \((Electron [^,]+, )?Node [\d.]+/, started.join('\n'));
      await vscode.commands.executeCommand('faceInversion.stopDaemon');
      assert.equal(api.state(), 'stopped');
    } finally {
      process.env.PATH = savedPath;
      await cfg.update('daemon.nodePath', savedSetting, vscode.ConfigurationTarget.Workspace);
      fs.rmSync(emptyBin, { recursive: true, force: true });
    }
  });
});
