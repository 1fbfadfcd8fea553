/**
 * Starting a daemon process: engine first (so `status` can report the backend), then the server, then the
 * connection file. Crash guards keep one bad job or callback from killing the process silently; SIGTERM /
 * SIGINT cancel the jobs (which keep their checkpoints: checkpoints are written temp + rename at step
 * boundaries, and cancellation only stops at a boundary) and remove the connection file.
 */
import * as path from 'node:path';
import { initEngine, BackendChoice } from '../tfjs/backend';
import { tf } from '../tfjs/tf';
import type { JobKind } from '../jobs/defineJobKind';
import type { LogLevel } from '../protocol/daemon';
import { daemonRoots, setActiveRoots } from '../security/roots';
import { newToken } from './auth';
import { defaultConnectionFile, removeConnectionFile, writeConnectionFile } from '../protocol/connectionFile';
import { DaemonServer } from './server';

export interface StartOptions {
  host?: string;
  port?: number;
  workspaceDir?: string;
  backend?: BackendChoice;
  threads?: number;
  connectionFile?: string;
  /** Required to bind anything but loopback. */
  allowRemote?: boolean;
  allowedOrigins?: string[];
  maxMessageBytes?: number;
  token?: string;
  /** Extra folders jobs may read (datasets); relative ones resolve against the workspace. */
  dataRoots?: string[];
  /** Job kinds to serve (default: all of `jobs/kinds.ts`). */
  kinds?: ReadonlyMap<string, JobKind>;
  log?: (level: LogLevel, message: string) => void;
}

export interface RunningDaemon {
  server: DaemonServer;
  url: string;
  port: number;
  token: string;
  connectionFile: string;
  stop(): Promise<void>;
}

export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost']);

/** Printed (as a `warn` log line) when binding a non-loopback address with `allowRemote`. */
export function remoteBindWarning(host: string): string {
  return `binding ${host}: the daemon is reachable from other machines; anyone with the token can run jobs and read files under the allowed roots`;
}

export async function startDaemon(opts: StartOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? ((level, message) => console.error(`[${new Date().toISOString()}] ${level}: ${message}`));
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) {
    if (!opts.allowRemote) throw new Error(`refusing to bind ${host}: only loopback (127.0.0.1, ::1) is allowed without --allow-remote`);
    log('warn', remoteBindWarning(host));
  }
  const workspaceDir = path.resolve(opts.workspaceDir ?? process.cwd());
  const roots = daemonRoots({ workspaceDir, dataRoots: opts.dataRoots });
  // The probe trail is debug detail (`faceinv status` shows it as the backend reason); one line names the engine.
  const engine = await initEngine({ backend: opts.backend ?? 'auto', threads: opts.threads, log: (m) => log('debug', m) });
  log('info', `engine: ${engine.summary}`);
  // Loaded lazily: the kinds pull in the whole model stack, which tests with their own kinds do not need.
  const kinds = opts.kinds ?? (await import('../jobs/registry')).jobKindMap();
  const token = opts.token ?? newToken();
  let stopping: Promise<void> | undefined;
  const server: DaemonServer = new DaemonServer({
    host,
    port: opts.port ?? 0,
    token,
    workspaceDir,
    kinds,
    engine: {
      backend: engine.backend,
      reason: engine.reason,
      threads: engine.threads,
      versions: { ...engine.versions, node: process.versions.node },
      memory: () => { const m = tf.memory(); return { numTensors: m.numTensors, numBytes: m.numBytes }; },
    },
    allowedOrigins: opts.allowedOrigins,
    maxMessageBytes: opts.maxMessageBytes,
    roots,
    log,
    onShutdownRequested: () => void stop(),
  });
  const port = await server.listen();
  setActiveRoots(roots);
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const connectionFile = opts.connectionFile ?? defaultConnectionFile();
  writeConnectionFile(connectionFile, { url, token, pid: process.pid, workspace: workspaceDir, startedAt: new Date().toISOString() });
  log('info', `daemon listening on ${url} (backend ${engine.backend}, ${engine.threads} threads); connection file ${connectionFile}`);
  log('info', `allowed roots: ${roots.all.join(', ')}`);

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await server.close();
      removeConnectionFile(connectionFile);
      setActiveRoots(undefined);
      log('info', 'daemon stopped');
    })();
    return stopping;
  }
  return { server, url, port, token, connectionFile, stop };
}

/**
 * Process-wide crash guards for a daemon process: an uncaught exception or unhandled rejection (a stray
 * callback, a library bug) is logged and the daemon carries on — jobs already fail alone in the queue.
 * Returns a function that removes the guards.
 */
export function installCrashGuards(log: (level: LogLevel, message: string) => void): () => void {
  const onException = (err: unknown) => log('error', `uncaught exception (continuing): ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  const onRejection = (err: unknown) => log('error', `unhandled rejection (continuing): ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}

/**
 * Resolves once the daemon has stopped: on SIGTERM/SIGINT (jobs cancelled at their next step boundary,
 * connection file removed) or after a `daemon/shutdown` request. A second signal while stopping exits at
 * once with code 130.
 */
export function stopOnSignals(daemon: RunningDaemon, log: (level: LogLevel, message: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let signalled = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) {
        log('warn', `${sig} again while stopping: exiting now`);
        removeConnectionFile(daemon.connectionFile);
        process.exit(130);
      }
      signalled = true;
      log('info', `${sig}: cancelling jobs (checkpoints are kept) and stopping`);
      void daemon.stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    daemon.server.onClosed(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    });
  });
}
