/**
 * Where a running daemon tells its clients (the editor, `faceinv status`, another machine's user via
 * "Connect to Daemon…") how to reach it: `<state dir>/daemon.json` holding url, token and
 * pid, readable by the user alone (0600), written atomically. The token never goes to stdout or logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stateDirFromEnv } from './env';

export interface ConnectionInfo {
  url: string;
  token: string;
  pid: number;
  workspace: string;
  startedAt: string;
}

/** `FACEINV_HOME` or `~/.faceinv`: per-user state (connection file, default caches). */
export function stateDir(): string {
  return stateDirFromEnv();
}

export function defaultConnectionFile(): string {
  return path.join(stateDir(), 'daemon.json');
}

export function writeConnectionFile(file: string, info: ConnectionInfo): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2), { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

export function readConnectionFile(file = defaultConnectionFile()): ConnectionInfo {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no daemon connection file at ${file}: start one with "faceinv daemon"`);
  }
  let value: Partial<ConnectionInfo>;
  try {
    value = JSON.parse(text) as Partial<ConnectionInfo>;
  } catch {
    throw new Error(`daemon connection file ${file} is not valid JSON; delete it and restart the daemon`);
  }
  if (typeof value.url !== 'string' || typeof value.token !== 'string') {
    throw new Error(`daemon connection file ${file} lacks url/token; delete it and restart the daemon`);
  }
  return value as ConnectionInfo;
}

/** Removes the file only if it still describes this process (a newer daemon may have replaced it). */
export function removeConnectionFile(file: string, pid = process.pid): void {
  try {
    const info = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ConnectionInfo>;
    if (info.pid === pid) fs.rmSync(file, { force: true });
  } catch {
    /* already gone */
  }
}
