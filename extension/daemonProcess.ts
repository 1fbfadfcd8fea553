/**
 * The local daemon as a child process: `node <extension>/bin/faceinv.js daemon --port 0 --connection-file F
 * --workspace W`. The daemon makes a fresh token per start and writes url + token to F (0600); it prints
 * `FACEINV_READY {json}` (no secrets) on stdout when listening. Plain module (no vscode): log lines and exits
 * are reported through callbacks so the extension and the unit tests can both drive it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readConnectionFile } from '../daemon/protocol/connectionFile';

/** Same literal as `daemon/cli/commands/daemon.ts` (not imported: that module pulls in the whole daemon). */
export const READY_PREFIX = 'FACEINV_READY ';

export interface DaemonSpawnOptions {
  /** The runtime's executable (Node.js 20, or the editor's Electron with ELECTRON_RUN_AS_NODE=1 in `env`): daemonRuntime.ts. */
  nodePath: string;
  /** `<extension>/bin/faceinv.js`. */
  cliPath: string;
  connectionFile: string;
  workspace?: string;
  backend?: string;
  threads?: number;
  /** Extra arguments after the generated ones. */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** Give up when not ready after this long (loading TF.js and the wasm backend takes a few seconds). */
  readyTimeoutMs?: number;
}

export interface DaemonEndpoint {
  url: string;
  token: string;
  pid: number;
  connectionFile: string;
}

/** argv of the daemon process (after the node executable). */
export function daemonArgs(o: DaemonSpawnOptions): string[] {
  const args = [o.cliPath, 'daemon', '--port', '0', '--connection-file', o.connectionFile];
  if (o.workspace) args.push('--workspace', o.workspace);
  if (o.backend && o.backend !== 'auto') args.push('--backend', o.backend);
  if (o.threads && o.threads > 0) args.push('--threads', String(o.threads));
  return [...args, ...(o.extraArgs ?? [])];
}

/** Parses the ready line; undefined for any other line. */
export function parseReadyLine(line: string): { url: string; port: number; pid: number } | undefined {
  if (!line.startsWith(READY_PREFIX)) return undefined;
  try {
    const v = JSON.parse(line.slice(READY_PREFIX.length)) as { url?: unknown; port?: unknown; pid?: unknown };
    if (typeof v.url !== 'string' || typeof v.pid !== 'number') return undefined;
    return { url: v.url, port: Number(v.port), pid: v.pid };
  } catch {
    return undefined;
  }
}

/** Splits a byte stream into lines, keeping a partial last line for the next chunk. */
export function lineSplitter(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = '';
  return (chunk) => {
    rest += String(chunk);
    let k: number;
    while ((k = rest.indexOf('\n')) >= 0) {
      onLine(rest.slice(0, k).replace(/\r$/, ''));
      rest = rest.slice(k + 1);
    }
  };
}

export interface DaemonProcessEvents {
  /** A line the daemon wrote (stderr is its log; stdout after the ready line). */
  onLog(line: string, stream: 'stdout' | 'stderr'): void;
  /** The process ended; `expected` when `stop()` asked for it. */
  onExit(code: number | null, signal: NodeJS.Signals | null, expected: boolean): void;
}

export class DaemonProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly events: DaemonProcessEvents) {}

  get pid(): number | undefined { return this.child?.pid; }
  get running(): boolean { return !!this.child && this.child.exitCode === null && this.child.signalCode === null; }

  /** Spawns the daemon and resolves once it is listening, with the url and token from its connection file. */
  start(o: DaemonSpawnOptions): Promise<DaemonEndpoint> {
    if (this.running) return Promise.reject(new Error(`the daemon is already running (pid ${this.child?.pid})`));
    if (!fs.existsSync(o.cliPath)) return Promise.reject(new Error(`daemon entry ${o.cliPath} is missing; is the extension built (npm run build)?`));
    fs.mkdirSync(path.dirname(o.connectionFile), { recursive: true, mode: 0o700 });
    this.stopping = false;
    const child = spawn(o.nodePath, daemonArgs(o), {
      cwd: o.workspace && fs.existsSync(o.workspace) ? o.workspace : path.dirname(path.dirname(o.cliPath)),
      env: { ...process.env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child = child;
    let ready = false;
    const tail: string[] = [];
    const remember = (line: string) => { tail.push(line); if (tail.length > 20) tail.shift(); };
    return new Promise<DaemonEndpoint>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (ready) return;
        reject(new Error(`the daemon did not report ready within ${o.readyTimeoutMs ?? 60_000} ms; last output:\n${tail.join('\n')}`));
        child.kill('SIGKILL');
      }, o.readyTimeoutMs ?? 60_000);
      child.stdout?.on('data', lineSplitter((line) => {
        const r = !ready ? parseReadyLine(line) : undefined;
        if (r) {
          ready = true;
          clearTimeout(timer);
          try {
            const info = readConnectionFile(o.connectionFile);
            resolve({ url: info.url, token: info.token, pid: r.pid, connectionFile: o.connectionFile });
          } catch (err) {
            reject(err as Error);
          }
          return;
        }
        remember(line);
        this.events.onLog(line, 'stdout');
      }));
      child.stderr?.on('data', lineSplitter((line) => { remember(line); this.events.onLog(line, 'stderr'); }));
      this.exited = new Promise((done) => {
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          if (this.child === child) this.child = undefined;
          if (!ready) {
            reject(new Error(`the daemon exited before it was ready (${signal ? `signal ${signal}` : `code ${code}`}); last output:\n${tail.join('\n')}`));
          }
          this.events.onExit(code, signal, this.stopping || !ready);
          done();
        });
      });
      child.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        reject(new Error(err.code === 'ENOENT'
          ? `cannot run "${o.nodePath}": not found. Install Node.js 20 or set faceInversion.daemon.nodePath`
          : `cannot start the daemon with "${o.nodePath}": ${err.message}`));
      });
    });
  }

  /** SIGTERM (the daemon cancels jobs, keeps checkpoints, removes its connection file); SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.stopping = true;
    const exited = this.exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
