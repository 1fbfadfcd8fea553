/**
 * Face Inversion Lab extension entry point: builds the context, registers the commands, starts the config
 * language server, and reports its own activation failures (VS Code does not show them to the user).
 * Activation: the commands and `workspaceContains` of encoder/run configs (package.json), never `*`.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { JobInfo } from '../daemon/protocol/daemon';
import { COMMANDS } from './commands';
import { Config } from './config';
import { Ctx, Notice } from './ctx';
import type { ConnectionStateName } from './format';
import { currentDashboard, registerDashboardSerializer } from './dashboard/panel';
import type { DashboardState } from '../daemon/protocol/webview';
import { startConfigServer } from './lspClient';
import { DatasetSettingsNotification, DatasetStatusRequest, ListEncodersRequest, type DatasetStatusResult, type ListEncodersResult } from '../daemon/protocol/configServer';

/** What `activate` returns: a read-only view for other extensions and the host tests. */
export interface FaceInversionApi {
  state(): ConnectionStateName;
  backend(): string | undefined;
  /** URL of the daemon connected (or last tried). */
  url(): string | undefined;
  statusBarText(): string;
  jobs(): JobInfo[];
  notices(): Notice[];
  /** The last lines of the "Face Inversion" output channel. */
  log(): string[];
  /** Resolves once the config language server is running (or rejects with why it is not). */
  configServerReady: Promise<void>;
  /** The open dashboard's state as last sent to its webview, undefined when none is open. */
  dashboard(): DashboardState | undefined;
}

let ctx: Ctx | undefined;
let lsp: LanguageClient | undefined;

export async function activate(ext: vscode.ExtensionContext): Promise<FaceInversionApi> {
  try {
    ctx = new Ctx(ext);
  } catch (err) {
    void vscode.window.showErrorMessage(`Face Inversion failed to activate: ${(err as Error).message}`);
    throw err;
  }
  const c = ctx;
  for (const [name, factory] of Object.entries(COMMANDS)) c.registerCommand(name, factory);
  // A dashboard open before a window reload comes back (activation event onWebviewPanel:faceInversion.dashboard).
  ext.subscriptions.push(registerDashboardSerializer(c));
  ext.subscriptions.push(vscode.workspace.onDidChangeConfiguration(async (e) => {
    if (e.affectsConfiguration('faceInversion.dataset')) void lsp?.sendNotification(DatasetSettingsNotification.method, { lfw: c.config.lfw, dataRoots: c.config.dataRoots });
    const changed = Config.restartNeeded(e);
    if (changed.length && c.localDaemonRunning && !c.settingDataset) {
      const pick = await c.notify('info', `Face Inversion: ${changed.join(', ')} changed; restart the daemon to apply.`, 'Restart Daemon');
      if (pick) await vscode.commands.executeCommand('faceInversion.restartDaemon');
    }
  }));
  const configServerReady = startConfigServer(ext, c.output, { lfw: c.config.lfw, dataRoots: c.config.dataRoots }).then((client) => {
    lsp = client;
    c.listEncoders = () => client.sendRequest<ListEncodersResult>(ListEncodersRequest.method, {});
    c.datasetStatus = (folder) => client.sendRequest<DatasetStatusResult>(DatasetStatusRequest.method, folder ? { folder } : {});
  }, (err: Error) => {
    c.output.appendLine(`config language server failed to start: ${err.stack ?? err.message}`);
    void c.notify('error', `Face Inversion: the config checks server did not start: ${err.message}`);
    throw err;
  });
  configServerReady.catch(() => undefined);
  if (c.config.autoStart) void c.startLocalDaemon();
  return {
    state: () => c.connection.state,
    backend: () => c.connection.status?.backend,
    url: () => c.connection.endpoint?.url,
    statusBarText: () => c.statusBarText,
    jobs: () => c.connection.jobs.all(),
    notices: () => [...c.notices],
    log: () => [...c.recentLog],
    configServerReady,
    dashboard: () => currentDashboard()?.snapshot(),
  };
}

export async function deactivate(): Promise<void> {
  const stopping: Promise<unknown>[] = [];
  if (lsp) stopping.push(lsp.stop().catch(() => undefined));
  if (ctx) stopping.push(ctx.dispose());
  await Promise.all(stopping);
  lsp = undefined;
  ctx = undefined;
}
