/**
 * The extension's live state (rust-analyzer's `ctx.ts` pattern): the daemon connection and local daemon
 * process, the status-bar item, the output channel, progress notifications, and command registration with
 * an enabled and a disabled form (when no daemon is connected). Logic that needs no VS Code lives in plain
 * modules: `connection.ts`, `daemonProcess.ts`, `backoff.ts`, `jobTracker.ts`, `format.ts`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { daemonDatasetArgs } from './dataset';
import type { DatasetStatusResult } from '../daemon/protocol/configServer';
import * as vscode from 'vscode';
import type { ListEncodersResult } from '../daemon/protocol/configServer';
import type { DaemonClient } from '../daemon/protocol/client';
import { CancelJobRequest, JobInfo, SubmitJobRequest } from '../daemon/protocol/daemon';
import { readConnectionFile } from '../daemon/protocol/connectionFile';
import { CrashPolicy } from './backoff';
import { Config } from './config';
import { DaemonConnection, Endpoint } from './connection';
import { DaemonProcess } from './daemonProcess';
import { chooseRuntime, runtimeCandidates, type RuntimeChoice, type RuntimeFailure } from './daemonRuntime';
import {
  ACTION_CONNECT, ACTION_OPEN_SETTINGS, ACTION_RETRY, ACTION_SHOW_LOG, ACTION_START, connectFailureNotice, crashNotice, logLine, progressMessage, statusBarView,
} from './format';
import type { JobSubmission } from './jobParams';
import { isActive, percentOf } from './jobTracker';

/** A command body; `args` are what `executeCommand` passed. */
export type Cmd = (...args: unknown[]) => unknown;

/** A command: its enabled body, and whether it needs a connected daemon (else the disabled form runs). */
export interface CommandFactory {
  readonly needsDaemon: boolean;
  readonly enabled: (ctx: Ctx) => Cmd;
}

/** A notification the extension showed (kept for the status API and the host tests). */
export interface Notice { level: 'info' | 'warning' | 'error'; message: string; actions: string[] }

const REMOTE_URL_KEY = 'faceInversion.remoteUrl';
/** Jobs that end sooner than this get only the finished/failed message, no progress notification. */
export const PROGRESS_DELAY_MS = 1000;
const REMOTE_TOKEN_KEY = 'faceInversion.remoteToken';

export class Ctx {
  readonly config = new Config();
  readonly output: vscode.OutputChannel;
  readonly connection: DaemonConnection;
  readonly notices: Notice[] = [];
  /** The last lines written to the output channel. */
  readonly recentLog: string[] = [];
  private readonly proc: DaemonProcess;
  private readonly statusBar: vscode.StatusBarItem;
  private readonly crashes = new CrashPolicy();
  /** Jobs submitted from this window: they get an end message and a progress notification. */
  private readonly ownJobs = new Map<string, (job: JobInfo) => void>();
  private disposed = false;
  /** URL of the daemon process this window spawned, while it runs. */
  private spawnedUrl: string | undefined;
  /** The runtime found for the current nodePath setting. */
  private runtime: { setting: string; choice: RuntimeChoice } | undefined;
  /** Delay before a job's progress notification opens (tests set 0). */
  progressDelayMs = PROGRESS_DELAY_MS;
  /**
   * The encoders a run config of this workspace can name, from the config language server (which asks the
   * daemon's own registry): the pickers offer exactly what the daemon will resolve. Set once the server runs.
   */
  listEncoders: () => Promise<ListEncodersResult> = () => Promise.reject(new Error('the config language server is not running yet'));
  /** True while a command saves the dataset setting and restarts the daemon itself. */
  settingDataset = false;
  /** Where the daemon would find LFW, and whether `folder` holds a dataset (asked of the config server). */
  datasetStatus: (folder?: string) => Promise<DatasetStatusResult> = () => Promise.reject(new Error('the config language server is not running yet'));

  constructor(readonly ext: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Face Inversion');
    // Keep the last lines too: the extension API hands them to tests and to other extensions.
    const append = this.output.appendLine.bind(this.output);
    this.output.appendLine = (line: string) => { this.recentLog.push(line); if (this.recentLog.length > 500) this.recentLog.shift(); append(line); };
    this.statusBar = vscode.window.createStatusBarItem('faceInversion.status', vscode.StatusBarAlignment.Left, 10);
    this.statusBar.name = 'Face Inversion daemon';
    this.connection = new DaemonConnection({ refreshEndpoint: () => this.localEndpointFromFile() });
    this.proc = new DaemonProcess({
      onLog: (line, stream) => this.output.appendLine(stream === 'stderr' ? line : `[stdout] ${line}`),
      onExit: (code, signal, expected) => void this.onDaemonExit(code, signal, expected),
    });
    ext.subscriptions.push(this.output, this.statusBar, { dispose: () => { this.disposed = true; } });
    this.connection.onState(() => this.updateStatusBar());
    this.connection.onStatus(() => this.updateStatusBar());
    // A daemon this window started writes every log line to its stderr (above) too: its log notifications
    // would show each line twice, in two formats. Only a daemon started elsewhere is heard through them.
    this.connection.onLog((p) => { if (!this.hearsDaemonStderr) this.output.appendLine(logLine(p.level, p.message, p.time, p.jobId)); });
    this.connection.onFailed((err, endpoint) => void this.showConnectFailure(err, endpoint));
    this.connection.jobs.onEvent((e) => {
      this.updateStatusBar();
      this.ownJobs.get(e.job.id)?.(e.job);
    });
    this.updateStatusBar();
    this.statusBar.show();
  }

  // --- DashboardContext (extension/dashboard/panel.ts): extensionUri, connection, log ---
  get extensionUri(): vscode.Uri { return this.ext.extensionUri; }
  get workspaceRoot(): string | undefined { return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath; }
  client(): DaemonClient | undefined { return this.connection.client; }
  log(msg: string): void { this.output.appendLine(msg); }

  get localDaemonRunning(): boolean { return this.proc.running; }
  /** True while the connected daemon is the process this window spawned (its stderr is in the output channel). */
  private get hearsDaemonStderr(): boolean {
    return this.proc.running && this.spawnedUrl !== undefined && this.connection.endpoint?.url === this.spawnedUrl;
  }
  get connectionFile(): string { return path.join(this.ext.globalStorageUri.fsPath, 'daemon.json'); }

  registerCommand(name: string, factory: CommandFactory): void {
    const enabled = factory.enabled(this);
    const cmd: Cmd = (...args) => {
      if (factory.needsDaemon && !this.client()) return this.daemonDownNotice(name);
      return enabled(...args);
    };
    this.ext.subscriptions.push(vscode.commands.registerCommand(name, cmd));
  }

  /** Shows and records a notification; resolves with the button the user picked. */
  async notify(level: Notice['level'], message: string, ...actions: string[]): Promise<string | undefined> {
    return this.show(level, message, actions, true);
  }

  /** A notification; `log`: also write it to the output channel (not when the daemon's log already has it). */
  private async show(level: Notice['level'], message: string, actions: string[], log: boolean): Promise<string | undefined> {
    this.notices.push({ level, message, actions });
    if (this.notices.length > 50) this.notices.shift();
    if (log) this.output.appendLine(`[notice:${level}] ${message}`);
    const show = level === 'error' ? vscode.window.showErrorMessage : level === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    return show(message, ...actions);
  }

  /** The disabled form of a command that needs the daemon (does not wait for the user's answer). */
  private daemonDownNotice(command: string): undefined {
    void this.notify('warning', `Face Inversion: "${command}" needs a daemon, and none is connected.`, ACTION_START, ACTION_CONNECT).then((pick) => {
      if (pick === ACTION_START) void vscode.commands.executeCommand('faceInversion.startDaemon');
      if (pick === ACTION_CONNECT) void vscode.commands.executeCommand('faceInversion.connectDaemon');
    });
    return undefined;
  }

  /** Starts the local daemon (stopping a previous one) and connects to it. */
  async startLocalDaemon(): Promise<void> {
    // Disconnect before stopping a running daemon, and say "starting" at once: otherwise a restart shows a lost
    // daemon being reconnected to, then none at all, before the new one is up.
    await this.connection.disconnect();
    this.connection.markStarting();
    if (this.proc.running) await this.proc.stop();
    const ws = this.workspaceRoot;
    const picked = await this.daemonRuntime();
    if ('error' in picked) {
      await this.connection.disconnect();
      this.output.appendLine(picked.error);
      void this.notify('error', picked.error, ACTION_RETRY, ACTION_OPEN_SETTINGS).then((pick) => {
        if (pick === ACTION_RETRY) void this.startLocalDaemon();
        if (pick === ACTION_OPEN_SETTINGS) void vscode.commands.executeCommand('workbench.action.openSettings', 'faceInversion.daemon.nodePath');
      });
      return;
    }
    const { runtime } = picked;
    this.output.appendLine(`starting daemon with ${runtime.label}, Node ${picked.node}: ${path.join(this.ext.extensionPath, 'bin', 'faceinv.js')} daemon (workspace ${ws ?? 'none'})`);
    let endpoint;
    try {
      const dataset = daemonDatasetArgs({ lfw: this.config.lfw, dataRoots: this.config.dataRoots }, ws);
      endpoint = await this.proc.start({
        nodePath: runtime.command,
        env: { ...runtime.env, ...dataset.env },
        cliPath: path.join(this.ext.extensionPath, 'bin', 'faceinv.js'),
        connectionFile: this.connectionFile,
        workspace: ws,
        backend: this.config.backend,
        threads: this.config.threads,
        extraArgs: [...dataset.args, ...this.config.extraArgs],
      });
    } catch (err) {
      this.runtime = undefined; // look again next time (a runtime can go away)
      await this.connection.disconnect();
      this.output.appendLine(String((err as Error).message));
      void this.notify('error', `Face Inversion: cannot start the daemon: ${(err as Error).message.split('\n')[0]}`, ACTION_RETRY, ACTION_SHOW_LOG).then((pick) => {
        if (pick === ACTION_RETRY) void this.startLocalDaemon();
        if (pick === ACTION_SHOW_LOG) this.output.show(true);
      });
      return;
    }
    this.spawnedUrl = endpoint.url;
    this.output.appendLine(`daemon ready at ${endpoint.url} (pid ${endpoint.pid})`);
    await this.connection.connect({ url: endpoint.url, token: endpoint.token, remote: false }).catch(() => undefined);
  }

  /**
   * The runtime that starts the daemon (daemonRuntime.ts): checked once per setting value, since the check
   * loads native modules (about a second).
   */
  private async daemonRuntime(): Promise<RuntimeChoice | RuntimeFailure> {
    const setting = this.config.nodePath;
    if (this.runtime && this.runtime.setting === setting) return this.runtime.choice;
    const candidates = runtimeCandidates({ nodePathSetting: setting, execPath: process.execPath, versions: process.versions });
    const choice = await chooseRuntime(candidates, path.join(this.ext.extensionPath, 'out', 'daemon', 'cli', 'runtimeCheck.js'));
    for (const t of choice.tried) this.output.appendLine(`daemon runtime not usable: ${t}`);
    if (!('error' in choice)) this.runtime = { setting, choice };
    return choice;
  }

  async stopLocalDaemon(): Promise<void> {
    await this.connection.disconnect();
    await this.proc.stop();
  }

  /** Connects to a daemon the extension did not start (a remote GPU box). The token goes to SecretStorage. */
  async connectRemote(url: string, token: string): Promise<boolean> {
    await this.ext.globalState.update(REMOTE_URL_KEY, url);
    await this.ext.secrets.store(REMOTE_TOKEN_KEY, token);
    try {
      await this.connection.connect({ url, token, remote: true });
      return true;
    } catch {
      return false; // onFailed has shown the notice
    }
  }

  async lastRemote(): Promise<{ url?: string; token?: string }> {
    return { url: this.ext.globalState.get<string>(REMOTE_URL_KEY), token: await this.ext.secrets.get(REMOTE_TOKEN_KEY) };
  }

  /** Submits a job; with a progress notification (Cancel) while it runs. Returns the queued job. */
  async submit(job: JobSubmission): Promise<JobInfo | undefined> {
    const client = this.client();
    if (!client) return this.daemonDownNotice('submit job');
    let info: JobInfo;
    try {
      info = (await client.request(SubmitJobRequest, { kind: job.kind, params: job.params, label: job.label }, 30_000)).job;
    } catch (err) {
      void this.notify('error', `Face Inversion: the daemon refused the ${job.kind} job: ${(err as Error).message}`);
      return undefined;
    }
    this.output.appendLine(`submitted ${info.kind} job ${info.id}: ${info.label}`);
    this.watchJob(info);
    return info;
  }

  async cancelJob(jobId: string): Promise<JobInfo | undefined> {
    const client = this.client();
    if (!client) return undefined;
    try {
      return (await client.request(CancelJobRequest, { jobId }, 10_000)).job;
    } catch (err) {
      void this.notify('warning', `Face Inversion: cannot cancel job ${jobId}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /**
   * Follows a job submitted from this window: a message when it ends, and a progress notification (with
   * Cancel) while it runs — opened only for jobs still going after PROGRESS_DELAY_MS, because a notification
   * opened for a job that is already over can outlive its task in VS Code (seen in 1.100 web: a toast stuck
   * at "step 1/30").
   */
  private watchJob(first: JobInfo): void {
    let reporter: ((job: JobInfo) => void) | undefined;
    let closeProgress: (() => void) | undefined;
    let ended = false;
    const end = () => {
      ended = true;
      clearTimeout(timer);
      offState();
      this.ownJobs.delete(first.id);
      reporter = undefined;
      closeProgress?.();
    };
    const onJob = (job: JobInfo) => {
      reporter?.(job);
      if (isActive(job)) return;
      end();
      // The daemon logged the failure once already (its stderr or its log notification): not again here.
      if (job.state === 'failed') void this.show('error', `Face Inversion: ${job.label} failed: ${job.error ?? 'see the log'}`, [ACTION_SHOW_LOG], false).then((p) => p && this.output.show(true));
      else if (job.state === 'succeeded') void this.notify('info', `Face Inversion: ${job.label} finished.`);
      else if (job.state === 'cancelled') void this.notify('info', `Face Inversion: ${job.label} was cancelled.`);
    };
    // The daemon went away: nothing more will come for this job.
    const offState = this.connection.onState((st) => { if (st !== 'connected' && st !== 'reconnecting') end(); });
    this.ownJobs.set(first.id, onJob);
    const timer = setTimeout(() => {
      const now = this.connection.jobs.get(first.id) ?? first;
      if (!this.config.progressNotifications || !isActive(now) || !this.ownJobs.has(first.id)) return;
      void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: first.label, cancellable: true }, (progress, token) =>
        new Promise<void>((resolve) => {
          // The task may start after the job already ended (the host calls it asynchronously): close at once.
          if (ended) { resolve(); return; }
          let lastPct = 0;
          closeProgress = () => { this.output.appendLine(`progress closed: ${first.label}`); resolve(); };
          this.output.appendLine(`progress opened: ${first.label}`);
          token.onCancellationRequested(() => void this.cancelJob(first.id));
          reporter = (job) => {
            const pct = percentOf(job) ?? lastPct;
            progress.report({ increment: Math.max(0, pct - lastPct), message: job.progress ? progressMessage(job.progress) : job.state });
            lastPct = Math.max(lastPct, pct);
          };
          reporter(this.connection.jobs.get(first.id) ?? now);
        }));
    }, this.progressDelayMs);
    const already = this.connection.jobs.get(first.id);
    if (already && !isActive(already)) onJob(already);
  }

  private localEndpointFromFile(): Endpoint | undefined {
    if (this.connection.endpoint?.remote) return undefined;
    try {
      const info = readConnectionFile(this.connectionFile);
      return { url: info.url, token: info.token, remote: false };
    } catch {
      return undefined;
    }
  }

  private async onDaemonExit(code: number | null, signal: NodeJS.Signals | null, expected: boolean): Promise<void> {
    this.output.appendLine(`daemon exited (${signal ? `signal ${signal}` : `code ${code}`})${expected ? '' : ' unexpectedly'}`);
    if (expected || this.disposed) return;
    const restart = this.crashes.recordCrash();
    void this.notify(restart ? 'warning' : 'error', crashNotice(code, signal, restart, this.crashes.recentCrashes), ACTION_SHOW_LOG)
      .then((p) => p && this.output.show(true));
    if (restart) await this.startLocalDaemon();
    else await this.connection.disconnect();
  }

  private async showConnectFailure(err: unknown, endpoint: Endpoint): Promise<void> {
    const { message, actions } = connectFailureNotice(endpoint.url, err);
    const pick = await this.notify('warning', message, ...actions);
    if (pick === ACTION_RETRY) {
      const fresh = endpoint.remote ? endpoint : this.localEndpointFromFile() ?? endpoint;
      await this.connection.connect(fresh).catch(() => undefined);
    } else if (pick === ACTION_START) {
      await this.startLocalDaemon();
    } else if (pick === ACTION_CONNECT) {
      await vscode.commands.executeCommand('faceInversion.connectDaemon');
    } else if (pick === ACTION_SHOW_LOG) {
      this.output.show(true);
    }
  }

  private updateStatusBar(): void {
    const c = this.connection;
    const view = statusBarView(c.state, c.status, c.jobs.current(), !!c.endpoint?.remote);
    void vscode.commands.executeCommand('setContext', 'faceInversion.daemonConnected', c.state === 'connected');
    this.statusBar.text = view.text;
    this.statusBar.tooltip = view.tooltip;
    this.statusBar.backgroundColor = view.alert ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.statusBar.command = c.state === 'connected' ? 'faceInversion.openDashboard'
      : c.state === 'failed' && c.endpoint?.remote ? 'faceInversion.connectDaemon'
        : c.state === 'stopped' || c.state === 'failed' ? 'faceInversion.startDaemon' : 'faceInversion.showLog';
  }

  /** Status-bar text as shown (the extension API exposes it for tests and other extensions). */
  get statusBarText(): string { return this.statusBar.text; }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.connection.disconnect().catch(() => undefined);
    await this.proc.stop(2000).catch(() => undefined);
    fs.rmSync(this.connectionFile, { force: true });
  }
}
