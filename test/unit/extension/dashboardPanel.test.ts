/**
 * The dashboard panel under plain Node with `vscode` stubbed, through the real `activate`: the webview panel
 * serializer is registered (so a dashboard open before a window reload comes back; package.json activates on
 * its panel), a restored panel gets the CSP'd page (pictures from data: only, resources from the bundle
 * folders only) and is fed from the daemon connection; Open Dashboard reveals an open panel; commands.ts
 * loads the panel module directly.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { probeJob } from '../../../daemon/jobs/kinds/probe';
import { StateMessage, type DashboardState } from '../../../daemon/protocol/webview';
import { DaemonServer } from '../../../daemon/server/server';
import type { FaceInversionApi } from '../../../extension/extension';
import { makeRun } from '../webview/fixture';
import { fakeExtensionContext, fakeLanguageClient, FakePanel, installVscodeStub, makeVscodeStub } from './vscodeStub';
import { waitFor } from '../waitFor';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const TOKEN = 'panel-test-token-0123456789';
const OUT_EXTENSION = `${path.sep}out${path.sep}extension${path.sep}`;


/** Modules of the extension loaded under another test's stub are dropped, so they bind to this one. */
function forgetExtensionModules(): void {
  for (const k of Object.keys(require.cache)) if (k.includes(OUT_EXTENSION)) delete require.cache[k];
}

const statesOf = (panel: FakePanel): DashboardState[] => panel.received.filter((m) => StateMessage.is(m)).map((m) => (m as { params: DashboardState }).params);

describe('extension: dashboard panel and its serializer (vscode stubbed, real activate)', function () {
  this.timeout(60_000);
  const stub = makeVscodeStub();
  let uninstall: () => void;
  let tmp: string;
  let server: DaemonServer;
  let url: string;
  let api: FaceInversionApi;
  let extension: typeof import('../../../extension/extension');

  before(async () => {
    forgetExtensionModules();
    uninstall = installVscodeStub(stub.vscode, { 'vscode-languageclient/node': fakeLanguageClient });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-panel-'));
    await makeRun(path.join(tmp, 'ws', 'runs'), 'remote-run', { faces: 1, steps: 4, evaluation: false });
    await tf.setBackend('cpu');
    server = new DaemonServer({
      host: '127.0.0.1', port: 0, token: TOKEN, workspaceDir: path.join(tmp, 'ws'), kinds: new Map([['probe', probeJob as unknown as JobKind]]),
      engine: { backend: 'cpu', reason: 'unit test', threads: 1, versions: {}, memory: () => tf.memory() },
      runFeed: { runPollMs: 0, listPollMs: 0 },
    });
    url = `ws://127.0.0.1:${await server.listen()}`;
    extension = await import('../../../extension/extension');
    api = await extension.activate(fakeExtensionContext(ROOT, path.join(tmp, 'storage')) as never);
  });
  after(async () => {
    await extension?.deactivate();
    await server?.close();
    uninstall?.();
    forgetExtensionModules();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('activate registers the dashboard\'s panel serializer, and package.json activates on that panel', () => {
    assert.ok(stub.serializers.has('faceInversion.dashboard'), `serializers: ${[...stub.serializers.keys()].join(', ')}`);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { activationEvents: string[] };
    assert.ok(pkg.activationEvents.includes('onWebviewPanel:faceInversion.dashboard'), pkg.activationEvents.join(', '));
  });

  it('a panel restored after a reload gets the strict page and is fed by the daemon connection', async () => {
    const panel = new FakePanel('faceInversion.dashboard');
    await stub.serializers.get('faceInversion.dashboard')!.deserializeWebviewPanel(panel, { run: 'remote-run', logScale: true });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(panel.webview.html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /img-src data:;/, 'pictures only as data: URIs');
    assert.match(csp, /script-src 'nonce-[A-Za-z0-9+/=]+'/);
    const roots = (panel.webview.options.localResourceRoots as { fsPath: string }[]).map((u) => path.relative(ROOT, u.fsPath)).sort();
    assert.deepEqual(roots, [path.join('out', 'webview'), 'webview'], 'no run folder is a resource root');
    panel.send({ method: 'dashboard/ready', params: { run: 'remote-run' } });
    const down = await waitFor('a state without a daemon', () => statesOf(panel)[0]);
    assert.match(down.daemon.problem ?? '', /No daemon is connected/);
    assert.equal(await stub.vscode.commands.executeCommand('faceInversion.connectDaemon', url, TOKEN), true);
    const live = await waitFor('the daemon\'s runs on the restored panel', () => statesOf(panel).find((s) => s.selected?.name === 'remote-run'));
    assert.deepEqual(live.daemon, { connected: true, url, remote: true });
    assert.equal(live.selected?.metrics.length, 4);
    assert.equal(api.dashboard()?.selected?.name, 'remote-run');
    // Open Dashboard reveals the open panel rather than making a second one.
    assert.equal(await stub.vscode.commands.executeCommand('faceInversion.openDashboard'), true);
    assert.equal(panel.revealed, 1);
    assert.equal(stub.panels.length, 0);
    // A second restored panel (two were saved) is closed: one dashboard per window.
    const extra = new FakePanel('faceInversion.dashboard');
    await stub.serializers.get('faceInversion.dashboard')!.deserializeWebviewPanel(extra, {});
    assert.equal(extra.disposed, true);
    panel.dispose();
    assert.equal(api.dashboard(), undefined);
    assert.equal(await stub.vscode.commands.executeCommand('faceInversion.openDashboard'), true);
    assert.equal(stub.panels.length, 1, 'Open Dashboard creates a panel when none is open');
    stub.panels[0].dispose();
  });

  it('Open Dashboard loads the panel module directly (no lazy require left in commands.ts)', () => {
    const src = fs.readFileSync(path.join(ROOT, 'extension', 'commands.ts'), 'utf8');
    assert.doesNotMatch(src, /\brequire\(/);
    assert.match(src, /from '\.\/dashboard\/panel'/);
  });
});
