/**
 * A typed client for the daemon channel, used by the CLI, the extension and tests. Requests resolve with the
 * declared result type or reject with `DaemonRequestError` carrying the daemon's error code.
 */
import type { TSchema } from '@sinclair/typebox';
import { WebSocket } from 'ws';
import { TOKEN_HEADER } from './daemon';
import { isWireNotification, isWireResponse, NotificationType, ParamsOf, RequestType, ResultOf, WireError } from './message';

export class DaemonRequestError extends Error {
  constructor(readonly method: string, readonly error: WireError) {
    super(`${method}: ${error.message}`);
  }
  get code(): number { return this.error.code; }
}

export class DaemonConnectionError extends Error {}

type AnyRequest = RequestType<string, TSchema, TSchema>;

interface Pending { method: string; resolve(v: unknown): void; reject(e: Error): void; timer?: NodeJS.Timeout }

export class DaemonClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, Set<(params: unknown) => void>>();
  private readonly closeListeners = new Set<(code: number, reason: string) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => this.onMessage(String(data)));
    socket.on('close', (code, reason) => {
      for (const p of this.pending.values()) {
        if (p.timer) clearTimeout(p.timer);
        p.reject(new DaemonConnectionError(`connection closed before ${p.method} was answered (${code} ${reason.toString()})`));
      }
      this.pending.clear();
      for (const l of this.closeListeners) l(code, reason.toString());
    });
    socket.on('error', () => { /* surfaced through 'close' */ });
  }

  /** Connects and authenticates; rejects with a readable reason (refused, wrong token, timeout). */
  static connect(url: string, token: string, opts: { timeoutMs?: number; origin?: string } = {}): Promise<DaemonClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { [TOKEN_HEADER]: token }, ...(opts.origin ? { origin: opts.origin } : {}), handshakeTimeout: opts.timeoutMs ?? 5000 });
      const fail = (why: string) => { socket.removeAllListeners(); socket.on('error', () => undefined); socket.terminate(); reject(new DaemonConnectionError(`cannot connect to daemon at ${url}: ${why}`)); };
      socket.once('open', () => { socket.removeAllListeners(); resolve(new DaemonClient(socket)); });
      socket.once('unexpected-response', (_req, res) => fail(res.statusCode === 401 ? 'token refused (401)' : res.statusCode === 403 ? 'origin refused (403)' : `HTTP ${res.statusCode}`));
      socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ECONNREFUSED' ? 'nothing is listening there (is the daemon running?)' : err.message));
    });
  }

  request<T extends AnyRequest>(type: T, params: ParamsOf<T>, timeoutMs = 0): Promise<ResultOf<T>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) { reject(new DaemonConnectionError('connection is closed')); return; }
      const pending: Pending = { method: type.method, resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        pending.timer = setTimeout(() => { this.pending.delete(id); reject(new DaemonConnectionError(`${type.method} timed out after ${timeoutMs} ms`)); }, timeoutMs);
      }
      this.pending.set(id, pending);
      this.socket.send(JSON.stringify({ type: 'request', id, method: type.method, params }));
    });
  }

  /** Sends raw text (fuzz and robustness tests). */
  sendRaw(text: string | Buffer): void {
    this.socket.send(text);
  }

  on<P extends TSchema>(type: NotificationType<string, P>, handler: (params: ParamsOf<NotificationType<string, P>>) => void): () => void {
    let set = this.listeners.get(type.method);
    if (!set) this.listeners.set(type.method, (set = new Set()));
    const fn = handler as (params: unknown) => void;
    set.add(fn);
    return () => set?.delete(fn);
  }

  onClose(handler: (code: number, reason: string) => void): () => void {
    this.closeListeners.add(handler);
    return () => this.closeListeners.delete(handler);
  }

  get isOpen(): boolean { return this.socket.readyState === WebSocket.OPEN; }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => { this.socket.once('close', () => resolve()); this.socket.close(); });
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try { msg = JSON.parse(text); } catch { return; }
    if (isWireResponse(msg)) {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (p.timer) clearTimeout(p.timer);
      if (msg.error) p.reject(new DaemonRequestError(p.method, msg.error));
      else p.resolve(msg.result);
    } else if (isWireNotification(msg)) {
      for (const l of this.listeners.get(msg.method) ?? []) l(msg.params);
    }
  }
}
