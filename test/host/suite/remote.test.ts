/**
 * Host test: the extension connects to a daemon started elsewhere — its own state dir
 * (FACEINV_HOME) and workspace, started by test/host/run.js (remoteDaemon.js), given by URL + token as
 * "Connect to Daemon…" takes them — and the dashboard shows that daemon's runs and live curves: the runs of
 * the other workspace, the pictures (sent through the protocol), and metric lines appended while the test
 * watches reaching the chart. Then the daemon goes away and comes back with a new token (a restart on that
 * machine): the dashboard says so, and once connected with the new token it shows everything again,
 * including the lines written meanwhile. What the webview draws is read from its DOM by run.js (probes).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { FaceInversionApi } from '../../../extension/extension';
import { waitFor } from './waitFor';

const EXT_ID = 'face-inversion-lab.face-inversion-lab';

interface Remote {
  url: string; token: string; workspace: string; home: string;
  /** The run run.js attacked and evaluated with the real code (one face not detectable); absent without LFW. */
  evaluated?: { name: string; items: number; failedId: string };
}
interface DashboardDom {
  found: boolean; title: string | null; runs: string[]; lines: number; chartEmpty: boolean;
  images: [number, number]; placeholders: number; banner: string; daemon: string; error?: string;
  sarRows: { redetect: number; direct: number }; sarProblem: string | null; badges: (string | null)[];
}


let probes = 0;
/** Asks run.js (outside the host, driving the browser) for `action`; resolves with its answer. */
async function probe<T>(action: string): Promise<T> {
  const dir = process.env.FACEINV_HOST_PROBE_DIR;
  assert.ok(dir, 'FACEINV_HOST_PROBE_DIR is set by test/host/run.js');
  const id = `remote-${++probes}`;
  console.log(`[faceinv-probe] ${id} ${action}`);
  const file = path.join(dir, `probe-${id}.json`);
  const answer = await waitFor(`run.js to answer probe ${id} (${action})`, () => fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')) as T, 90_000);
  if ((answer as { error?: string }).error) throw new Error(`probe ${action}: ${(answer as { error?: string }).error}`);
  return answer;
}

/** The dashboard's DOM once `ok` holds for it (read again until then). */
async function dashboardWhen(what: string, ok: (d: DashboardDom) => boolean, timeoutMs = 30_000): Promise<DashboardDom> {
  let last: DashboardDom | undefined;
  try {
    return await waitFor(what, async () => { last = await probe<DashboardDom>('dashboard'); return ok(last) && last; }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the dashboard showed ${JSON.stringify(last)}`);
  }
}

function metricLines(steps: number, from: number): string {
  let text = '';
  for (let s = from; s < from + steps; s++) {
    text += `${JSON.stringify({ time: new Date().toISOString(), step: s, epoch: 0, split: 'train', loss: 1 / (1 + 0.05 * s), imgPerSec: 40 })}\n`;
  }
  return text;
}

describe('Face Inversion dashboard on a daemon started elsewhere (real VS Code host)', () => {
  let api: FaceInversionApi;
  let remote: Remote;
  let metricsFile: string;

  before(async function () {
    const given = process.env.FACEINV_REMOTE_DAEMON;
    if (!given) throw new Error('FACEINV_REMOTE_DAEMON is not set: test/host/run.js starts that daemon');
    remote = JSON.parse(given) as Remote;
    metricsFile = path.join(remote.workspace, 'runs', 'remote-live', 'metrics.jsonl');
    const ext = vscode.extensions.getExtension<FaceInversionApi>(EXT_ID);
    assert.ok(ext);
    api = await ext.activate();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('connects by URL + token to a daemon of another home and workspace, and the dashboard shows its runs and pictures', async function () {
    this.timeout(120_000);
    const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    assert.notEqual(path.resolve(remote.workspace), path.resolve(ws), 'another workspace than the window\'s');
    assert.ok(await vscode.commands.executeCommand<boolean>('faceInversion.connectDaemon', remote.url, remote.token), JSON.stringify(api.notices().slice(-2)));
    assert.equal(api.state(), 'connected');
    assert.equal(api.url(), remote.url);
    assert.match(api.statusBarText(), /faceinv: cpu/);
    assert.equal(await vscode.commands.executeCommand<boolean>('faceInversion.openDashboard'), true);
    const state = await waitFor('the remote runs in the dashboard state', () => { const s = api.dashboard(); return s?.selected?.name === 'remote-live' && s; }, 30_000);
    assert.equal(state.runsRoot, path.join(remote.workspace, 'runs'));
    const history = ['remote-live', 'remote-done', ...(remote.evaluated ? [remote.evaluated.name] : [])];
    assert.deepEqual(state.runs.map((r) => r.name), history);
    assert.deepEqual(state.daemon, { connected: true, url: remote.url, remote: true });
    const dom = await dashboardWhen('the remote runs drawn with their pictures', (d) => d.found && d.title === 'remote-live' && d.images[0] === 4);
    assert.deepEqual(dom.runs, history);
    assert.equal(dom.lines, 22, '20 train + 2 test lines of the remote run');
    assert.equal(dom.chartEmpty, false, 'curves are drawn');
    assert.deepEqual(dom.images, [4, 4], 'both faces with their originals, sent through the protocol');
    assert.match(dom.daemon, new RegExp(`remote daemon ${remote.url.replace(/[.]/g, '\\.')}`));
    assert.equal(dom.banner, '');
  });

  it('draws metric lines appended to the remote run while it watches (live curves)', async function () {
    this.timeout(120_000);
    let lines = 22;
    for (let batch = 0; batch < 3; batch++) {
      fs.appendFileSync(metricsFile, metricLines(5, 20 + batch * 5));
      lines += 5;
      const want = lines;
      await waitFor(`${want} lines in the dashboard state`, () => api.dashboard()?.selected?.metrics.length === want, 20_000);
      await dashboardWhen(`${want} lines drawn`, (d) => d.lines === want, 20_000);
    }
    await probe('screenshot');
  });

  it('shows the SAR tables and every badge of a report the real evaluation wrote, with a face the detector cannot find', async function () {
    this.timeout(120_000);
    const ev = remote.evaluated;
    if (!ev) this.skip();
    assert.equal(await vscode.commands.executeCommand<boolean>('faceInversion.openDashboard', ev.name), true);
    await waitFor(`${ev.name} selected`, () => api.dashboard()?.selected?.name === ev.name, 30_000);
    const dom = await dashboardWhen('the SAR tables and the badges', (d) => d.title === ev.name && d.sarRows.redetect > 0 && d.badges.length === ev.items, 30_000);
    assert.equal(dom.sarProblem, null, 'no "cannot read this report" problem');
    assert.ok(dom.sarRows.direct > 0, 'the direct protocol\'s table too');
    assert.equal(dom.badges.filter((b) => b === 'no-face').length, 1, `one "no face" badge: ${JSON.stringify(dom.badges)}`);
    assert.equal(dom.badges.filter((b) => b === null).length, 0, 'every badge says its verdict');
    await probe('screenshot');
    assert.equal(await vscode.commands.executeCommand<boolean>('faceInversion.openDashboard', 'remote-live'), true);
    await dashboardWhen('back on remote-live', (d) => d.title === 'remote-live' && d.images[0] === 4, 30_000);
  });

  it('a remote daemon restarted with a new token: the dashboard says so, and shows everything again once connected with it', async function () {
    this.timeout(180_000);
    const fresh = await probe<{ url: string; token: string }>('restart-remote');
    assert.equal(fresh.url, remote.url, 'the same address');
    assert.notEqual(fresh.token, remote.token);
    fs.appendFileSync(metricsFile, metricLines(8, 35)); // written while the dashboard cannot see it
    const said = await waitFor('the dashboard to say the token is refused', () => { const d = api.dashboard()?.daemon; return d && /refused the token/.test(d.problem ?? '') && d; }, 90_000);
    assert.equal(said.connected, false);
    const dom = await dashboardWhen('the banner', (d) => /refused the token/.test(d.banner), 20_000);
    assert.equal(dom.title, 'remote-live', 'what was shown stays');
    assert.match(dom.banner, /Connect to Daemon…/);
    assert.ok(await vscode.commands.executeCommand<boolean>('faceInversion.connectDaemon', fresh.url, fresh.token));
    await waitFor('everything again', () => api.dashboard()?.daemon.connected && api.dashboard()?.selected?.metrics.length === 37 + 8, 30_000);
    const back = await dashboardWhen('the curves with the lines written meanwhile, no banner', (d) => d.lines === 45 && d.banner === '', 30_000);
    assert.deepEqual(back.images, [4, 4]);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
