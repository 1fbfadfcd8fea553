/**
 * Shared pieces of the daemon robustness tests: an in-process daemon on a free loopback port, a raw
 * WebSocket client that records every frame it receives (so tests can count answers, including the ones
 * with id -1 for frames whose id could not be read), and a seeded PRNG so a failing fuzz run can be replayed.
 */
import { WebSocket } from 'ws';
import { mulberry32 } from '../../daemon/data/split';
import { tf } from '../../daemon/tfjs/tf';
import type { JobKind } from '../../daemon/jobs/defineJobKind';
import { probeJob } from '../../daemon/jobs/kinds/probe';
import { TOKEN_HEADER } from '../../daemon/protocol/daemon';
import { DaemonServer, DaemonServerOptions } from '../../daemon/server/server';

export const TEST_TOKEN = 'robustness-token-0123456789';

export function probeKinds(): Map<string, JobKind> {
  return new Map<string, JobKind>([['probe', probeJob as unknown as JobKind]]);
}

export async function startTestServer(extra: Partial<DaemonServerOptions> = {}): Promise<{ server: DaemonServer; url: string }> {
  const server = new DaemonServer({
    host: '127.0.0.1', port: 0, token: TEST_TOKEN, workspaceDir: process.cwd(), kinds: probeKinds(),
    engine: { backend: tf.getBackend(), reason: 'test', threads: 1, versions: {}, memory: () => tf.memory() },
    allowedOrigins: ['vscode-webview://allowed'],
    ...extra,
  });
  const port = await server.listen();
  return { server, url: `ws://127.0.0.1:${port}` };
}

export interface Frame { type?: string; id?: number; method?: string; result?: unknown; error?: { code: number; message: string; data?: unknown }; params?: unknown }

/** A WebSocket that records every received frame; `waitFor` resolves when a predicate holds. */
export class RawClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  private readonly waiters: { pred: () => boolean; resolve: () => void }[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.check();
    });
    socket.on('close', (code) => { this.closeCode = code; this.check(); });
    socket.on('error', () => undefined);
  }

  static connect(url: string, token = TEST_TOKEN, headers: Record<string, string> = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { [TOKEN_HEADER]: token, ...headers }, maxPayload: 256 * 1024 * 1024 });
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(data: string | Buffer, binary = false): void {
    this.socket.send(data, { binary });
  }

  responses(): Frame[] { return this.frames.filter((f) => f.type === 'response'); }
  notifications(method?: string): Frame[] { return this.frames.filter((f) => f.type === 'notification' && (!method || f.method === method)); }
  response(id: number): Frame | undefined { return this.frames.find((f) => f.type === 'response' && f.id === id); }

  async request(id: number, method: string, params?: unknown, timeoutMs = 30000): Promise<Frame> {
    this.send(JSON.stringify({ type: 'request', id, method, ...(params === undefined ? {} : { params }) }));
    await this.waitFor(() => this.response(id) !== undefined, timeoutMs, `response to ${method} #${id}`);
    return this.response(id)!;
  }

  waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      this.waiters.push({ pred, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  waitClosed(timeoutMs = 10000): Promise<void> {
    return this.waitFor(() => this.closeCode !== undefined, timeoutMs, 'close');
  }

  close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => { this.socket.once('close', () => resolve()); this.socket.close(); });
  }

  private check(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].pred()) this.waiters.splice(i, 1)[0].resolve();
    }
  }
}

/** Seeded PRNG (the project's mulberry32) for reproducible fuzzing. Returns floats in [0,1). */
export const seededRandom = mulberry32;

import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const FACEINV_BIN = path.join(REPO_ROOT, 'bin', 'faceinv.js');

export interface SpawnedDaemon {
  proc: ChildProcess;
  url: string;
  pid: number;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node bin/faceinv.js daemon ARGS` and resolves once it prints FACEINV_READY. */
export function spawnDaemon(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<SpawnedDaemon> {
  const proc = spawn(process.execPath, [FACEINV_BIN, 'daemon', ...args], { cwd: opts.cwd ?? REPO_ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => { out += String(d); });
  proc.stderr!.on('data', (d) => { err += String(d); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`daemon not ready after ${opts.timeoutMs ?? 60000} ms:\n${err}`)); }, opts.timeoutMs ?? 60000);
    const onData = () => {
      const line = out.split('\n').find((l) => l.startsWith('FACEINV_READY '));
      if (!line) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      const info = JSON.parse(line.slice('FACEINV_READY '.length)) as { url: string; pid: number };
      resolve({ proc, url: info.url, pid: info.pid, stdout: () => out, stderr: () => err, exited });
    };
    proc.stdout!.on('data', onData);
    void exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`daemon exited (${code}) before ready:\n${err}`)); });
  });
}
