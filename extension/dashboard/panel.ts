/**
 * The dashboard webview panel: one per window, created or revealed by `openDashboard`, restored after a
 * reload by the serializer. A thin `vscode` shell around DashboardController (controller.ts): it sets the
 * CSP'd HTML (html.ts), limits `localResourceRoots` to the bundle, the stylesheet and the run folders, maps
 * files to `asWebviewUri` URIs and relays messages. State survives hiding through the webview's own
 * getState/setState plus `dashboard/ready` (no retainContextWhenHidden).
 */
import { DEFAULT_RUNS_DIR } from '../../daemon/protocol/runConfig';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DaemonClient } from '../../daemon/protocol/client';
import { DashboardController } from './controller';
import { dashboardHtml } from './html';

export const DASHBOARD_VIEW_TYPE = 'faceInversion.dashboard';

export interface DashboardContext {
  extensionUri: vscode.Uri;
  /** Folder whose `runs/` holds the runs; without it only an explicit run folder can be shown. */
  workspaceRoot?: string;
  client(): DaemonClient | undefined;
  log(msg: string): void;
}

let current: { panel: vscode.WebviewPanel; controller: DashboardController; roots: vscode.Uri[] } | undefined;

function runsRootOf(ctx: DashboardContext): string | null {
  return ctx.workspaceRoot ? path.join(ctx.workspaceRoot, DEFAULT_RUNS_DIR) : null;
}

function baseRoots(ctx: DashboardContext, runDir?: string): vscode.Uri[] {
  const roots = [vscode.Uri.joinPath(ctx.extensionUri, 'out', 'webview'), vscode.Uri.joinPath(ctx.extensionUri, 'webview')];
  const runsRoot = runsRootOf(ctx);
  if (runsRoot) roots.push(vscode.Uri.file(runsRoot));
  if (runDir) roots.push(vscode.Uri.file(path.resolve(runDir)));
  return roots;
}

function webviewOptions(roots: vscode.Uri[]): vscode.WebviewOptions {
  return { enableScripts: true, enableCommandUris: false, localResourceRoots: roots };
}

function attach(ctx: DashboardContext, panel: vscode.WebviewPanel, runDir?: string): void {
  const roots = baseRoots(ctx, runDir);
  panel.webview.options = webviewOptions(roots);
  const webview = panel.webview;
  const entry = { panel, roots, controller: undefined as unknown as DashboardController };
  entry.controller = new DashboardController({
    post: (msg) => { void webview.postMessage(msg); },
    toUri: (file) => webview.asWebviewUri(vscode.Uri.file(file)).toString(),
    openFile: (file) => { void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), { preview: true }); },
    allowRoot: (dir) => {
      const uri = vscode.Uri.file(dir);
      if (entry.roots.some((r) => uri.fsPath === r.fsPath || uri.fsPath.startsWith(r.fsPath + path.sep))) return;
      entry.roots = [...entry.roots, uri];
      webview.options = webviewOptions(entry.roots); // the webview reloads and asks again with dashboard/ready
    },
    log: (m) => ctx.log(m), // bound: the context may be a class instance
  }, { runsRoot: runsRootOf(ctx), client: () => ctx.client() }, runDir);
  webview.html = dashboardHtml({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(ctx.extensionUri, 'out', 'webview', 'dashboard.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(ctx.extensionUri, 'webview', 'dashboard.css')).toString(),
  });
  const subs = [
    webview.onDidReceiveMessage((msg: unknown) => {
      entry.controller.handle(msg).catch((e: Error) => ctx.log(`dashboard: handling a webview message failed: ${e.stack ?? e.message}`));
    }),
  ];
  panel.onDidDispose(() => {
    entry.controller.dispose();
    for (const s of subs) s.dispose();
    if (current?.panel === panel) current = undefined;
  });
  current = entry;
}

/** Opens (or reveals) the dashboard; shows `runDir` when given, else the run it showed last or the newest. */
export function openDashboard(ctx: DashboardContext, runDir?: string): void {
  if (current) {
    current.panel.reveal();
    if (runDir) current.controller.show(runDir).catch((e: Error) => ctx.log(`dashboard: cannot show ${runDir}: ${e.message}`));
    return;
  }
  const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'Face Inversion Dashboard', vscode.ViewColumn.Active, webviewOptions(baseRoots(ctx, runDir)));
  attach(ctx, panel, runDir);
}

/**
 * Restores the panel after a window reload (needs `onWebviewPanel:faceInversion.dashboard` in
 * activationEvents); the webview's saved view state names the run it showed.
 */
export function registerDashboardSerializer(ctx: DashboardContext): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
      if (current) { panel.dispose(); return; }
      attach(ctx, panel);
    },
  });
}
