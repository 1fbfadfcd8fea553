/**
 * The dashboard webview panel: one per window, created or revealed by `openDashboard`, restored after a
 * window reload by the serializer (`registerDashboardSerializer`, activation event
 * `onWebviewPanel:faceInversion.dashboard`). A thin `vscode` shell around DashboardController (controller.ts),
 * which reads everything from the daemon connection: it sets the CSP'd HTML (html.ts), limits
 * `localResourceRoots` to the bundle and the stylesheet (pictures arrive as `data:` URIs, never from disk),
 * opens pictures in editor tabs and relays messages. State survives hiding through the webview's own
 * getState/setState plus `dashboard/ready` (no retainContextWhenHidden).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DashboardController, type DashboardLink, type PictureToOpen } from './controller';
import { dashboardHtml } from './html';

export const DASHBOARD_VIEW_TYPE = 'faceInversion.dashboard';

export interface DashboardContext {
  extensionUri: vscode.Uri;
  /** The extension's daemon connection (local or remote): the dashboard's only source. */
  connection: DashboardLink;
  log(msg: string): void;
}

let current: { panel: vscode.WebviewPanel; controller: DashboardController } | undefined;

/** The open dashboard's controller (the extension API hands its state to the host tests). */
export function currentDashboard(): DashboardController | undefined {
  return current?.controller;
}

function webviewOptions(ctx: DashboardContext): vscode.WebviewOptions {
  return {
    enableScripts: true, enableCommandUris: false,
    localResourceRoots: [vscode.Uri.joinPath(ctx.extensionUri, 'out', 'webview'), vscode.Uri.joinPath(ctx.extensionUri, 'webview')],
  };
}

/** A picture in an editor tab: the daemon's own file when it runs here, else its bytes in a temp file. */
function openPicture(p: PictureToOpen): void {
  let file = p.localPath && fs.existsSync(p.localPath) ? p.localPath : undefined;
  if (!file) {
    const dir = path.join(os.tmpdir(), `faceinv-dashboard-${process.pid}`, p.run.replace(/[^\w.-]/g, '_'));
    fs.mkdirSync(dir, { recursive: true });
    file = path.join(dir, `${p.face.replace(/[^\w.-]/g, '_')}${p.which === 'original' ? '.orig' : ''}.${p.type === 'image/png' ? 'png' : 'jpg'}`);
    fs.writeFileSync(file, p.bytes);
  }
  void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file), { preview: true });
}

function attach(ctx: DashboardContext, panel: vscode.WebviewPanel, run?: string): void {
  panel.webview.options = webviewOptions(ctx);
  const webview = panel.webview;
  const controller = new DashboardController({
    post: (msg) => { void webview.postMessage(msg); },
    openImage: (p) => {
      try { openPicture(p); } catch (e) { ctx.log(`dashboard: cannot open ${p.which} "${p.face}": ${(e as Error).message}`); }
    },
    reconnect: (remote) => { void vscode.commands.executeCommand(remote ? 'faceInversion.connectDaemon' : 'faceInversion.startDaemon'); },
    log: (m) => ctx.log(m), // bound: the context may be a class instance
  }, { link: ctx.connection }, run);
  webview.html = dashboardHtml({
    cspSource: webview.cspSource,
    scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(ctx.extensionUri, 'out', 'webview', 'dashboard.js')).toString(),
    styleUri: webview.asWebviewUri(vscode.Uri.joinPath(ctx.extensionUri, 'webview', 'dashboard.css')).toString(),
  });
  const sub = webview.onDidReceiveMessage((msg: unknown) => {
    controller.handle(msg).catch((e: Error) => ctx.log(`dashboard: handling a webview message failed: ${e.stack ?? e.message}`));
  });
  panel.onDidDispose(() => {
    controller.dispose();
    sub.dispose();
    if (current?.panel === panel) current = undefined;
  });
  current = { panel, controller };
}

/** Opens (or reveals) the dashboard; shows `run` (a name, or a folder of the daemon's runs root) when given. */
export function openDashboard(ctx: DashboardContext, run?: string): void {
  if (current) {
    current.panel.reveal();
    if (run) current.controller.show(run).catch((e: Error) => ctx.log(`dashboard: cannot show ${run}: ${e.message}`));
    return;
  }
  const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, 'Face Inversion Dashboard', vscode.ViewColumn.Active, webviewOptions(ctx));
  attach(ctx, panel, run);
}

/**
 * Restores the panel after a window reload (activation event `onWebviewPanel:faceInversion.dashboard`); the
 * webview's saved view state names the run it showed, and it asks for it with `dashboard/ready`.
 */
export function registerDashboardSerializer(ctx: DashboardContext): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
    async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
      if (current) { panel.dispose(); return; }
      attach(ctx, panel);
    },
  });
}
