/**
 * Host tests of the editor tried as a new user, in the real VS Code host: a config copied away from
 * its relative `$schema` keeps its schema errors (from the language server, as errors), and Run Config with
 * the dashboard focused offers the workspace's run configs. What only the browser sees (the quick pick) is
 * read by test/host/run.js (probe "quickpick").
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FaceInversionApi } from '../../../extension/extension';
import { waitFor } from './waitFor';

const EXT_ID = 'face-inversion-lab.face-inversion-lab';

let probes = 0;
/** Asks test/host/run.js for what the browser shows (answered in probe-<id>.json). */
async function probe<T>(action: string): Promise<T> {
  const dir = process.env.FACEINV_HOST_PROBE_DIR;
  if (!dir) throw new Error('FACEINV_HOST_PROBE_DIR is not set: run through test/host/run.js');
  const id = `editor-${++probes}`;
  console.log(`[faceinv-probe] ${id} ${action}`);
  const file = path.join(dir, `probe-${id}.json`);
  const answer = await waitFor(`run.js to answer probe ${id} (${action})`, () => fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')) as T, 60_000);
  if ((answer as { error?: string }).error) throw new Error(`probe ${action}: ${(answer as { error?: string }).error}`);
  return answer;
}

describe('The editor as a new user meets it', () => {
  let api: FaceInversionApi;
  const ws = () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';

  before(async () => {
    const ext = vscode.extensions.getExtension<FaceInversionApi>(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID} is not loaded`);
    api = await ext.activate();
  });

  it('a sample copied elsewhere, its $schema path broken, still gets an error for "queries": -5', async () => {
    await api.configServerReady;
    const copied = vscode.Uri.file(path.join(ws(), 'copied', 'sample-copy.faceinv-run.json'));
    await vscode.window.showTextDocument(copied);
    const d = await waitFor('a faceinv schema diagnostic', () => vscode.languages.getDiagnostics(copied).find((x) => x.source === 'faceinv' && x.code === 'config-schema'), 30_000);
    assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
    assert.match(d.message, /\/search\/queries: .*>= 1/);
    const doc = await vscode.workspace.openTextDocument(copied);
    assert.equal(doc.getText(d.range), '-5');
  });

  it('Run Config with the dashboard focused offers the run configs in a picker', async function () {
    this.timeout(150_000);
    await vscode.commands.executeCommand('faceInversion.startDaemon');
    await waitFor('a connected daemon', () => api.state() === 'connected', 90_000);
    assert.equal(await vscode.commands.executeCommand<boolean>('faceInversion.openDashboard'), true);
    await waitFor('the dashboard to have the focus', () => vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof vscode.TabInputWebview && !vscode.window.activeTextEditor, 20_000);
    const before = api.notices().length;
    const running = vscode.commands.executeCommand('faceInversion.runConfig');
    try {
      const pick = await probe<{ visible: boolean; title: string; items: string[] }>('quickpick');
      assert.ok(pick.visible, `no picker; notices: ${JSON.stringify(api.notices().slice(before))}`);
      assert.match(pick.title, /Run config/);
      assert.ok(pick.items.some((i) => i.includes('good.faceinv-run.json')), pick.items.join(' | '));
      assert.ok(!api.notices().slice(before).some((n) => /open a run config/.test(n.message)));
    } finally {
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
      assert.equal(await running, undefined, 'nothing runs when the picker is dismissed');
      await vscode.commands.executeCommand('faceInversion.stopDaemon');
    }
  });
});
