/**
 * The daemon's WebSocket server: authenticates upgrades, validates every frame, dispatches requests through
 * the handler table, and fans job notifications out to subscribers. Nothing a client sends can take the
 * daemon down: every failure becomes a structured error response on that connection.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import {
  CancelJobRequest, GetJobRequest, JobInfo, JobProgress, JobProgressNotification, JobStateNotification, ListJobKindsRequest,
  ListJobsRequest, LogLevel, LogNotification, PROTOCOL_VERSION, RunImagesRequest, ShutdownRequest, StatusRequest, StatusResult,
  ListRunsRequest, SubmitJobRequest, SubscribeRequest, SubscribeRunRequest, SubscribeRunsRequest, UnsubscribeRequest, UnsubscribeRunRequest,
  UnsubscribeRunsRequest,
} from '../protocol/daemon';
import { DEFAULT_RUNS_DIR } from '../protocol/runConfig';
import {
  ErrorCode, NotificationType, ParamsOf, ProtocolError, RequestEnvelope, WireError, WireResponse,
} from '../protocol/message';
import { formatProblems, validate } from '../protocol/validate';
import type { TSchema } from '@sinclair/typebox';
import type { JobKind } from '../jobs/defineJobKind';
import { JobQueue } from '../jobs/queue';
import { checkJsonShape, DEFAULT_JSON_LIMITS, JsonLimits } from '../security/jsonGuard';
import { confinePath } from '../security/paths';
import { AllowedRoots, daemonRoots } from '../security/roots';
import { checkUpgrade } from './auth';
import { HandlerTable } from './handlers';
import { isPlainObject } from '../protocol/json';
import { runsFoldersOf, runsFoldersOfJobs } from '../runs/runsFolders';
import { RunFeed, type Notify, type RunFeedOptions } from './runFeed';

export interface EngineSummary {
  backend: string;
  reason: string;
  threads: number;
  versions: Record<string, string>;
  memory(): { numTensors: number; numBytes: number };
}

export interface DaemonServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  token: string;
  workspaceDir: string;
  kinds: ReadonlyMap<string, JobKind>;
  engine: EngineSummary;
  /** Browser origins allowed to connect (others are refused at the upgrade). Node clients send none. */
  allowedOrigins?: readonly string[];
  /** Largest accepted frame in bytes (larger ones close the connection with 1009; the daemon stays up). */
  maxMessageBytes?: number;
  /** Depth / size limits on a parsed frame (defaults: `DEFAULT_JSON_LIMITS`). */
  jsonLimits?: JsonLimits;
  /** Folders job paths must stay inside (default: `daemonRoots({ workspaceDir })`). */
  roots?: AllowedRoots;
  log?: (level: LogLevel, message: string) => void;
  /** Called after `daemon/shutdown` has been answered. */
  onShutdownRequested?: () => void;
  /** Poll periods of the run feed (tests); its runs root is always `<workspace>/runs`. */
  runFeed?: Omit<RunFeedOptions, 'runsRoot'>;
}

/** Per-connection state. */
export interface Connection {
  readonly socket: WebSocket;
  /** Job ids subscribed to; '*' = all jobs. */
  readonly subscriptions: Set<string>;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * A client that does not read its notifications is cut off once this much is waiting in its send buffer,
 * so one stalled client cannot make the daemon's memory grow without bound.
 */
export const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * Top-level string params of `daemon/submitJob` that name files or folders. They are confined to the
 * daemon's roots before the job is queued (the job kinds confine the paths inside the configs they read).
 */
export const PATH_PARAM_KEYS: readonly string[] = ['config', 'runDir', 'embeddings', 'generator', 'out', 'dataset', 'model', 'file', 'dir', 'path'];

export class DaemonServer {
  readonly queue: JobQueue;
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly handlers = new HandlerTable<Connection>();
  private readonly startedAt = Date.now();
  private closing = false;
  private readonly closedListeners: (() => void)[] = [];
  readonly roots: AllowedRoots;
  /** Run folders for the dashboard: history, one run's state and deltas, pictures. */
  readonly runs: RunFeed;

  constructor(private readonly opts: DaemonServerOptions) {
    this.roots = opts.roots ?? daemonRoots({ workspaceDir: opts.workspaceDir });
    // The feed follows every runs folder the workspace's run configs name, and the folder of every run this
    // daemon's run, train and evaluate jobs write (a config from outside the workspace), not only <workspace>/runs.
    this.runs = new RunFeed({
      ...opts.runFeed, runsRoot: path.join(path.resolve(opts.workspaceDir), DEFAULT_RUNS_DIR),
      moreRoots: () => [...runsFoldersOf(opts.workspaceDir), ...runsFoldersOfJobs(this.queue.list())], allowedRoots: this.roots.all,
    });
    this.queue = new JobQueue(opts.kinds, opts.workspaceDir);
    this.queue.listen({
      state: (job) => this.broadcastJob(job.id, JobStateNotification, { job: safeJob(job) }),
      progress: (jobId, progress) => this.broadcastJob(jobId, JobProgressNotification, { jobId, progress }),
      log: (level, message, jobId) => this.broadcastLog(level, message, jobId),
    });
    this.http = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('Face Inversion Lab daemon: WebSocket only\n');
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
    this.http.on('upgrade', (req, socket, head) => {
      const verdict = checkUpgrade(req, opts.token, opts.allowedOrigins ?? []);
      if (!verdict.ok) {
        this.log('warn', `refused connection from ${req.socket.remoteAddress}: ${verdict.reason}`);
        socket.end(`HTTP/1.1 ${verdict.status} ${verdict.status === 403 ? 'Forbidden' : 'Unauthorized'}\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${verdict.reason}\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    this.registerHandlers();
  }

  /** Starts listening; rejects with a clear message if the port is taken. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new Error(`port ${this.opts.port} on ${this.opts.host} is already in use (is another daemon running? use --port 0 for any free port)`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`cannot bind ${this.opts.host}: address not available on this machine`));
        else reject(err);
      };
      this.http.once('error', onError);
      this.http.listen(this.opts.port, this.opts.host, () => {
        this.http.off('error', onError);
        resolve((this.http.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.queue.cancelAll();
    this.runs.dispose();
    for (const c of this.connections) c.socket.close(1001, 'daemon shutting down');
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.closedListeners.splice(0).forEach((l) => l());
  }

  /** Called once the server has fully closed (after `close()` or a `daemon/shutdown` request). */
  onClosed(listener: () => void): void {
    this.closedListeners.push(listener);
  }

  status(): StatusResult {
    const mem = this.opts.engine.memory();
    return {
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      uptimeSeconds: (Date.now() - this.startedAt) / 1000,
      backend: this.opts.engine.backend,
      backendReason: this.opts.engine.reason,
      threads: this.opts.engine.threads,
      versions: this.opts.engine.versions,
      workspace: this.opts.workspaceDir,
      jobs: this.queue.list().map(safeJob),
      memory: { rssBytes: process.memoryUsage().rss, numTensors: mem.numTensors, numBytes: mem.numBytes },
    };
  }

  private registerHandlers(): void {
    const q = this.queue;
    this.handlers
      .on(StatusRequest, () => this.status())
      .on(SubmitJobRequest, (p) => {
        if (this.closing) throw new ProtocolError(ErrorCode.ShuttingDown, 'daemon is shutting down');
        this.confineJobPaths(p.kind, p.params);
        return { job: q.submit(p.kind, p.params, p.label) };
      })
      .on(CancelJobRequest, (p) => {
        const { job } = q.get(p.jobId);
        if (job.state !== 'queued' && job.state !== 'running') {
          throw new ProtocolError(ErrorCode.Conflict, `job "${p.jobId}" has already finished (${job.state}); nothing to cancel`);
        }
        return { job: q.cancel(p.jobId) };
      })
      .on(ListJobsRequest, () => ({ jobs: q.list().map(safeJob) }))
      .on(GetJobRequest, (p) => { const g = q.get(p.jobId); return { job: safeJob(g.job), history: g.history }; })
      .on(SubscribeRequest, (p, conn) => {
        if (p.jobId !== undefined && !q.has(p.jobId)) throw new ProtocolError(ErrorCode.NotFound, `no job with id "${p.jobId}"`);
        conn.subscriptions.add(p.jobId ?? '*');
        const jobs = (p.jobId ? [q.get(p.jobId).job] : q.list()).map(safeJob);
        const history: Record<string, JobProgress[]> = {};
        for (const j of jobs) history[j.id] = q.get(j.id).history;
        return { jobs, history };
      })
      .on(UnsubscribeRequest, (p, conn) => {
        const key = p.jobId ?? '*';
        if (!conn.subscriptions.has(key)) {
          throw new ProtocolError(ErrorCode.Conflict, p.jobId ? `not subscribed to job "${p.jobId}"` : 'not subscribed to all jobs');
        }
        return { ok: conn.subscriptions.delete(key) };
      })
      .on(ListJobKindsRequest, () => ({
        kinds: [...this.opts.kinds.values()].map((k) => ({ kind: k.kind, summary: k.summary, paramsSchema: k.params })),
      }))
      .on(ShutdownRequest, () => {
        setImmediate(() => this.opts.onShutdownRequested?.());
        return { ok: true };
      })
      .on(ListRunsRequest, () => this.runs.listRuns())
      .on(SubscribeRunsRequest, (_p, conn) => this.runs.subscribeRuns(conn, this.notifier(conn)))
      .on(UnsubscribeRunsRequest, (_p, conn) => ({ ok: this.runs.unsubscribeRuns(conn) }))
      .on(SubscribeRunRequest, (p, conn) => this.runs.subscribeRun(conn, this.notifier(conn), p.run))
      .on(UnsubscribeRunRequest, (p, conn) => ({ ok: this.runs.unsubscribeRun(conn, p.run) }))
      .on(RunImagesRequest, (p) => this.runs.images(p));
  }

  /** Sends notifications to one connection (the run feed's deltas). */
  private notifier(conn: Connection): Notify {
    return (type, params) => this.send(conn, { type: 'notification', method: type.method, params });
  }

  /** Confines the path-valued top-level params of a job (`PATH_PARAM_KEYS`) to the daemon's roots. */
  private confineJobPaths(kind: string, params: unknown): void {
    if (!this.opts.kinds.has(kind) || !isPlainObject(params)) return; // the queue answers unknown kinds / bad params
    for (const key of PATH_PARAM_KEYS) {
      const value = params[key];
      if (typeof value === 'string') confinePath(value, this.roots.all, `${kind.slice(0, 64)} params.${key}`);
    }
  }

  private accept(socket: WebSocket): void {
    const conn: Connection = { socket, subscriptions: new Set() };
    this.connections.add(conn);
    socket.on('message', (data, isBinary) => void this.onFrame(conn, data as Buffer, isBinary));
    socket.on('close', () => { this.connections.delete(conn); this.runs.drop(conn); });
    socket.on('error', (err) => {
      // ws reports oversized frames here (and closes with 1009); the daemon carries on.
      this.log('warn', `connection error: ${err.message}`);
    });
  }

  private async onFrame(conn: Connection, data: Buffer, isBinary: boolean): Promise<void> {
    let id: number | null = null;
    try {
      if (isBinary) throw new ProtocolError(ErrorCode.InvalidRequest, 'binary frames are not accepted; send JSON text');
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        throw new ProtocolError(ErrorCode.ParseError, 'frame is not valid JSON (NaN, Infinity, comments and trailing commas are not JSON)');
      }
      if (isPlainObject(msg) && Number.isSafeInteger(msg.id) && (msg.id as number) >= 0) id = msg.id as number;
      const shape = checkJsonShape(msg, this.opts.jsonLimits ?? DEFAULT_JSON_LIMITS);
      if (shape) throw new ProtocolError(ErrorCode.InvalidRequest, `message refused: ${shape}`);
      if (isPlainObject(msg) && (msg.type === 'response' || msg.type === 'notification')) {
        throw new ProtocolError(ErrorCode.InvalidRequest, `the daemon accepts only requests; a ${msg.type} frame cannot be sent to it`);
      }
      const problems = validate(RequestEnvelope, msg);
      if (problems.length) {
        throw new ProtocolError(ErrorCode.InvalidRequest, `not a request envelope:\n${formatProblems(problems)}`);
      }
      const req = msg as { id: number; method: string; params?: unknown };
      const result = await this.handlers.dispatch(req.method, req.params, conn);
      this.send(conn, { type: 'response', id: req.id, result });
    } catch (err) {
      this.send(conn, { type: 'response', id: id ?? -1, error: toWireError(err) });
      if (!(err instanceof ProtocolError)) this.log('error', `internal error: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }

  private send(conn: Connection, message: WireResponse | { type: 'notification'; method: string; params: unknown }): void {
    if (conn.socket.readyState !== WebSocket.OPEN) return;
    if (conn.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.log('warn', `closing a client that stopped reading (${(conn.socket.bufferedAmount / 2 ** 20).toFixed(0)} MiB unsent)`);
      conn.socket.terminate();
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (err) {
      // A job result that cannot be serialised (cycle, BigInt) must not break the queue that emitted it.
      this.log('error', `cannot send ${message.type} ${'method' in message ? message.method : `#${message.id}`}: ${(err as Error).message}`);
      if (message.type === 'response') {
        conn.socket.send(JSON.stringify({ type: 'response', id: message.id, error: { code: ErrorCode.InternalError, message: `result could not be serialised: ${(err as Error).message}` } }));
      }
      return;
    }
    conn.socket.send(text);
  }

  private broadcastJob<P extends TSchema>(jobId: string, type: NotificationType<string, P>, params: ParamsOf<NotificationType<string, P>>): void {
    for (const c of this.connections) {
      if (c.subscriptions.has('*') || c.subscriptions.has(jobId)) this.send(c, { type: 'notification', method: type.method, params });
    }
  }

  private broadcastLog(level: LogLevel, message: string, jobId?: string): void {
    this.log(level, jobId ? `[${jobId}] ${message}` : message);
    const params = { level, message, time: new Date().toISOString(), ...(jobId ? { jobId } : {}) };
    for (const c of this.connections) this.send(c, { type: 'notification', method: LogNotification.method, params });
  }

  private log(level: LogLevel, message: string): void {
    this.opts.log?.(level, message);
  }
}

/** A job whose result cannot be serialised (cycle, BigInt) is reported with a description instead. */
export function safeJob(job: JobInfo): JobInfo {
  if (job.result === undefined) return job;
  try {
    JSON.stringify(job.result);
    return job;
  } catch (err) {
    return { ...job, result: `<result not serialisable: ${(err as Error).message}>` };
  }
}


export function toWireError(err: unknown): WireError {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message, ...(err.data !== undefined ? { data: err.data } : {}) };
  return { code: ErrorCode.InternalError, message: err instanceof Error ? err.message : String(err) };
}

export type { JobInfo };
