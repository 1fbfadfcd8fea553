/**
 * What a dashboard browser test needs: a real daemon (DaemonServer in this process, its run feed) serving a
 * workspace, the real DashboardController fed by it through the extension's DaemonConnection, the real HTML
 * shell and esbuild bundle in Debian's Chromium (playwright-core) behind a stub `acquireVsCodeApi`, and a
 * list of page errors, CSP violations and failed requests. A local HTTP server plays the webview resource
 * origin for the bundle and the stylesheet only.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { tf } from '../../daemon/tfjs/tf';
import type { JobKind } from '../../daemon/jobs/defineJobKind';
import { probeJob } from '../../daemon/jobs/kinds/probe';
import { DaemonServer } from '../../daemon/server/server';
import { DaemonConnection } from '../../extension/connection';
import { DashboardController } from '../../extension/dashboard/controller';
import { dashboardHtml, newNonce } from '../../extension/dashboard/html';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const BUNDLE = path.join(REPO, 'out', 'webview', 'dashboard.js');
const CSS = path.join(REPO, 'webview', 'dashboard.css');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };
const TOKEN = 'browser-test-token-0123456789';

export interface Dashboard {
  page: Page;
  daemon: DaemonServer;
  /** Problems the page met (errors, CSP violations, failed requests): a test expects none. */
  problems: string[];
  /** One check of the daemon's run watchers, then a moment for the deltas to reach the page. */
  poll(): Promise<void>;
  /**
   * Restarts the daemon as the extension's Restart Daemon does (extension/ctx.ts startLocalDaemon: disconnect,
   * "starting", stop the old one, start a new one on a new port and token, connect); `whileStarting` runs
   * between the old daemon's end and the new one's start.
   */
  restart(whileStarting?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function openDashboard(workspace: string, profileDir: string, kinds: Map<string, JobKind> = new Map([['probe', probeJob as unknown as JobKind]])): Promise<Dashboard> {
  await tf.setBackend('cpu');
  const newDaemon = () => new DaemonServer({
    host: '127.0.0.1', port: 0, token: TOKEN, workspaceDir: workspace, kinds,
    engine: { backend: 'cpu', reason: 'browser test', threads: 1, versions: {}, memory: () => tf.memory() },
    runFeed: { runPollMs: 0, listPollMs: 0 },
  });
  let daemon = newDaemon();
  const url = `ws://127.0.0.1:${await daemon.listen()}`;
  const conn = new DaemonConnection({ backoff: { initialMs: 50, maxMs: 200, factor: 2, maxAttempts: 200 } });
  await conn.connect({ url, token: TOKEN, remote: false });
  let origin = '';
  const server = http.createServer((req, res) => {
    const u = decodeURIComponent((req.url ?? '/').split('?')[0]);
    if (u === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(dashboardHtml({ cspSource: origin, scriptUri: `${origin}/assets/dashboard.js`, styleUri: `${origin}/assets/dashboard.css`, nonce: newNonce() }));
      return;
    }
    if (u === '/favicon.ico') { res.writeHead(204); res.end(); return; }
    const file = u === '/assets/dashboard.js' ? BUNDLE : u === '/assets/dashboard.js.map' ? BUNDLE + '.map' : u === '/assets/dashboard.css' ? CSS : undefined;
    if (!file || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const context: BrowserContext = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  const controller = new DashboardController({
    post: (msg) => { void page.evaluate((m) => window.postMessage(m, '*'), msg).catch(() => undefined); },
    openImage: () => undefined,
    reconnect: () => undefined,
    log: () => undefined,
  }, { link: conn });
  await page.exposeFunction('__toExtension', (msg: unknown) => controller.handle(msg));
  await stubVsCodeApi(page);
  await page.goto(origin + '/');
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  const d: Dashboard = {
    page, daemon, problems,
    poll: async () => { d.daemon.runs.poll(); await new Promise((r) => setTimeout(r, 300)); },
    restart: async (whileStarting) => {
      await conn.disconnect();
      conn.markStarting();
      await daemon.close();
      await whileStarting?.();
      daemon = newDaemon();
      d.daemon = daemon;
      await conn.connect({ url: `ws://127.0.0.1:${await daemon.listen()}`, token: TOKEN, remote: false });
    },
    close: async () => {
      controller.dispose();
      await conn.disconnect();
      await daemon.close();
      await context.close();
      server.close();
    },
  };
  return d;
}

/** Shows run `name` from the history and waits for its header. */
export async function showRun(page: Page, name: string): Promise<void> {
  await page.waitForSelector(`.runs .run[data-run="${name}"]`, { timeout: 10_000 });
  await page.click(`.runs .run[data-run="${name}"]`);
  await page.waitForFunction((n) => document.querySelector('#header h1')?.textContent === n, name, { timeout: 10_000 });
}

/**
 * The stub VS Code API of a dashboard page: messages go to `window.__toExtension` (exposed by the test), the
 * view state is kept in sessionStorage (it survives a reload), and CSP violations are collected in `__csp`.
 */
export async function stubVsCodeApi(page: import('playwright-core').Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => (w.__csp as string[]).push(`${e.violatedDirective} ${e.blockedURI}`));
    w.acquireVsCodeApi = () => ({
      postMessage: (m: unknown) => (w.__toExtension as (m: unknown) => void)(m),
      getState: () => JSON.parse(sessionStorage.getItem('vscodeState') ?? 'null'),
      setState: (s: unknown) => sessionStorage.setItem('vscodeState', JSON.stringify(s)),
    });
  });
}
