/**
 * The extension's link to a daemon (local child process or a remote GPU box): connect with url + token,
 * subscribe to every job (full state once, then deltas into a `JobTracker`), relay `daemon/log`, and when
 * the socket drops unexpectedly reconnect with back-off (`backoff.ts`), re-reading the endpoint each time (a
 * restarted local daemon has a new port and token). A refused token is not retried blindly: the user is
 * asked. Plain module (no vscode); the state machine is unit-tested against a real in-process daemon.
 *
 *   stopped ──connect()──▶ connecting ──ok──▶ connected ──socket lost──▶ reconnecting ──ok──▶ connected
 *      ▲                        │ error                                       │ attempts used up / 401
 *      └──── disconnect() ◀─────┴──────────────────▶ failed ◀─────────────────┘
 */
import { DaemonClient } from '../daemon/protocol/client';
import { JobProgressNotification, JobStateNotification, LogNotification, StatusRequest, StatusResult, SubscribeRequest } from '../daemon/protocol/daemon';
import type { ParamsOf } from '../daemon/protocol/message';
import { Backoff, BackoffOptions, DEFAULT_BACKOFF } from './backoff';
import { classifyConnectError, ConnectionStateName } from './format';
import { JobTracker } from './jobTracker';

export interface Endpoint {
  url: string;
  token: string;
  /** A daemon the extension did not start (Connect to Daemon). */
  remote: boolean;
}

export type LogParams = ParamsOf<typeof LogNotification>;

export interface ConnectionOptions {
  backoff?: BackoffOptions;
  /** Handshake timeout per attempt, ms. */
  timeoutMs?: number;
  /** Where to read the endpoint again before each reconnect (local daemon: its connection file). */
  refreshEndpoint?: () => Endpoint | undefined;
  random?: () => number;
}

export class DaemonConnection {
  readonly jobs = new JobTracker();
  private stateName: ConnectionStateName = 'stopped';
  private clientRef: DaemonClient | undefined;
  private statusRef: StatusResult | undefined;
  private endpointRef: Endpoint | undefined;
  private lastErrorRef: unknown;
  /** Bumped by connect()/disconnect(); a reconnect loop of an older generation stops. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly stateListeners = new Set<(s: ConnectionStateName) => void>();
  private readonly logListeners = new Set<(p: LogParams) => void>();
  private readonly failListeners = new Set<(err: unknown, endpoint: Endpoint) => void>();
  private readonly statusListeners = new Set<(s: StatusResult) => void>();
  private readonly retryListeners = new Set<(err: unknown) => void>();
  private readonly backoff: Backoff;

  constructor(private readonly opts: ConnectionOptions = {}) {
    this.backoff = new Backoff(opts.backoff ?? DEFAULT_BACKOFF, opts.random);
  }

  get state(): ConnectionStateName { return this.stateName; }
  get client(): DaemonClient | undefined { return this.stateName === 'connected' ? this.clientRef : undefined; }
  get status(): StatusResult | undefined { return this.statusRef; }
  get endpoint(): Endpoint | undefined { return this.endpointRef; }
  get lastError(): unknown { return this.lastErrorRef; }

  onState(fn: (s: ConnectionStateName) => void): () => void { this.stateListeners.add(fn); return () => this.stateListeners.delete(fn); }
  onLog(fn: (p: LogParams) => void): () => void { this.logListeners.add(fn); return () => this.logListeners.delete(fn); }
  /** The connection gave up (first connect failed, or reconnecting ran out of attempts / was refused). */
  onFailed(fn: (err: unknown, endpoint: Endpoint) => void): () => void { this.failListeners.add(fn); return () => this.failListeners.delete(fn); }
  onStatus(fn: (s: StatusResult) => void): () => void { this.statusListeners.add(fn); return () => this.statusListeners.delete(fn); }
  /** A reconnect attempt failed (`lastError` says why: unreachable, token refused…); more may follow. */
  onRetryFailed(fn: (err: unknown) => void): () => void { this.retryListeners.add(fn); return () => this.retryListeners.delete(fn); }

  /** Marks a local daemon as being started (status bar shows it) before `connect` is called. */
  markStarting(): void { this.setState('starting'); }

  /** Connects (closing any previous connection). Rejects, after notifying `onFailed`, when it cannot. */
  async connect(endpoint: Endpoint): Promise<StatusResult> {
    const gen = await this.closeCurrent();
    this.endpointRef = endpoint;
    this.backoff.reset();
    this.setState('connecting');
    try {
      const status = await this.open(endpoint, gen);
      return status;
    } catch (err) {
      if (gen === this.generation) this.fail(err, endpoint);
      throw err;
    }
  }

  /** Closes on purpose (no reconnect). */
  async disconnect(): Promise<void> {
    await this.closeCurrent();
    this.jobs.clear();
    this.statusRef = undefined;
    this.setState('stopped');
  }

  /** Asks the daemon for its status again (backend, jobs) and publishes it. */
  async refreshStatus(): Promise<StatusResult | undefined> {
    const c = this.client;
    if (!c) return undefined;
    const s = await c.request(StatusRequest, {}, 10_000);
    this.statusRef = s;
    for (const l of this.statusListeners) l(s);
    return s;
  }

  private async closeCurrent(): Promise<number> {
    const gen = ++this.generation;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const c = this.clientRef;
    this.clientRef = undefined;
    if (c) await c.close().catch(() => undefined);
    return gen;
  }

  private async open(endpoint: Endpoint, gen: number): Promise<StatusResult> {
    const client = await DaemonClient.connect(endpoint.url, endpoint.token, { timeoutMs: this.opts.timeoutMs ?? 5000 });
    if (gen !== this.generation) { await client.close(); throw new Error('superseded by a newer connection'); }
    client.on(JobStateNotification, (p) => { this.jobs.applyState(p.job); void this.refreshStatus().catch(() => undefined); });
    client.on(JobProgressNotification, (p) => this.jobs.applyProgress(p.jobId, p.progress));
    client.on(LogNotification, (p) => { for (const l of this.logListeners) l(p); });
    client.onClose(() => { if (gen === this.generation) this.lost(gen); });
    this.clientRef = client;
    const [status, sub] = await Promise.all([client.request(StatusRequest, {}, 10_000), client.request(SubscribeRequest, {}, 10_000)]);
    if (gen !== this.generation) throw new Error('superseded by a newer connection');
    this.statusRef = status;
    this.jobs.reset(sub.jobs);
    this.backoff.reset();
    this.lastErrorRef = undefined;
    this.setState('connected');
    for (const l of this.statusListeners) l(status);
    return status;
  }

  private lost(gen: number): void {
    this.clientRef = undefined;
    this.setState('reconnecting');
    this.scheduleReconnect(gen);
  }

  private scheduleReconnect(gen: number): void {
    const delay = this.backoff.next();
    const endpoint = this.endpointRef;
    if (delay === undefined || !endpoint) { this.fail(this.lastErrorRef ?? new Error('connection lost'), endpoint ?? { url: '?', token: '', remote: false }); return; }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (gen !== this.generation) return;
      const fresh = this.opts.refreshEndpoint?.() ?? endpoint;
      this.endpointRef = fresh;
      this.open(fresh, gen).catch((err) => {
        if (gen !== this.generation) return;
        this.lastErrorRef = err;
        for (const l of this.retryListeners) l(err);
        // A refused token will not get better by waiting, unless the endpoint can be re-read (new local start).
        if (classifyConnectError(err) === 'unauthorized' && !this.opts.refreshEndpoint) { this.fail(err, fresh); return; }
        this.scheduleReconnect(gen);
      });
    }, delay);
  }

  private fail(err: unknown, endpoint: Endpoint): void {
    this.lastErrorRef = err;
    this.clientRef = undefined;
    this.setState('failed');
    for (const l of this.failListeners) l(err, endpoint);
  }

  private setState(s: ConnectionStateName): void {
    if (s === this.stateName) return;
    this.stateName = s;
    for (const l of this.stateListeners) l(s);
  }
}
