/**
 * Starting a daemon process: engine first (so `status` can report the backend), then the server, then the
 * connection file. Crash guards keep one bad job or callback from killing the process silently.
 */
import * as path from 'node:path';
import { initEngine, BackendChoice } from '../engine/backend';
import { tf } from '../engine/tf';
import { jobKindMap } from '../jobs/kinds';
import type { LogLevel } from '../protocol/daemon';
import { newToken } from './auth';
import { defaultConnectionFile, removeConnectionFile, writeConnectionFile } from './connectionFile';
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

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startDaemon(opts: StartOptions = {}): Promise<RunningDaemon> {
  const log = opts.log ?? ((level, message) => console.error(`[${new Date().toISOString()}] ${level}: ${message}`));
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    if (!opts.allowRemote) throw new Error(`refusing to bind ${host}: only loopback is allowed without --allow-remote`);
    log('warn', `binding ${host}: the daemon is reachable from other machines; anyone with the token can run jobs and read files under the allowed roots`);
  }
  const engine = await initEngine({ backend: opts.backend ?? 'auto', threads: opts.threads, log: (m) => log('info', m) });
  const token = opts.token ?? newToken();
  const workspaceDir = path.resolve(opts.workspaceDir ?? process.cwd());
  let stopping: Promise<void> | undefined;
  const server: DaemonServer = new DaemonServer({
    host,
    port: opts.port ?? 0,
    token,
    workspaceDir,
    kinds: jobKindMap(),
    engine: {
      backend: engine.backend,
      reason: engine.reason,
      threads: engine.threads,
      versions: { ...engine.versions, node: process.versions.node },
      memory: () => { const m = tf.memory(); return { numTensors: m.numTensors, numBytes: m.numBytes }; },
    },
    allowedOrigins: opts.allowedOrigins,
    maxMessageBytes: opts.maxMessageBytes,
    log,
    onShutdownRequested: () => void stop(),
  });
  const port = await server.listen();
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const connectionFile = opts.connectionFile ?? defaultConnectionFile();
  writeConnectionFile(connectionFile, { url, token, pid: process.pid, workspace: workspaceDir, startedAt: new Date().toISOString() });
  log('info', `daemon listening on ${url} (backend ${engine.backend}, ${engine.threads} threads); connection file ${connectionFile}`);

  function stop(): Promise<void> {
    stopping ??= (async () => {
      await server.close();
      removeConnectionFile(connectionFile);
      log('info', 'daemon stopped');
    })();
    return stopping;
  }
  return { server, url, port, token, connectionFile, stop };
}
