/**
 * Host test of the packaged extension: it was installed from the .vsix (`--install-extension`) into the
 * server's extensions folder by test/host/run.js; here it must be found there (not the development copy),
 * activate, register its commands, start its config language server, and start its daemon from the
 * packed node_modules.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FaceInversionApi } from '../../../extension/extension';

const EXT_ID = 'face-inversion-lab.face-inversion-lab';

describe('Face Inversion extension installed from its .vsix', () => {
  it('is installed, activates, registers commands and runs its config server and daemon', async function () {
    this.timeout(180_000);
    const ext = vscode.extensions.getExtension<FaceInversionApi>(EXT_ID);
    assert.ok(ext, `${EXT_ID} is not installed (loaded: ${vscode.extensions.all.map((e) => e.id).filter((id) => !id.startsWith('vscode.')).join(', ')})`);
    assert.match(ext.extensionPath, /vsix-extensions/, `loaded from ${ext.extensionPath}, not the installed copy`);
    assert.ok(!ext.extensionPath.startsWith(path.resolve(__dirname, '..', '..', '..', '..', 'extension')));
    const api = await ext.activate();
    const all = new Set(await vscode.commands.getCommands(true));
    for (const c of ['faceInversion.startDaemon', 'faceInversion.openDashboard', 'faceInversion.newRunConfig']) assert.ok(all.has(c), c);
    await api.configServerReady;
    await vscode.commands.executeCommand('faceInversion.startDaemon');
    const t0 = Date.now();
    while (api.state() !== 'connected') {
      if (Date.now() - t0 > 120_000) throw new Error(`daemon from the vsix did not connect: ${api.state()} ${JSON.stringify(api.notices())}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(api.backend());
    await vscode.commands.executeCommand('faceInversion.stopDaemon');
    assert.equal(api.state(), 'stopped');
  });
});
