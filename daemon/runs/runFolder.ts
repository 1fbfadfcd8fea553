/**
 * Reading and writing a run folder (layout in `layout.ts`). Every whole-file write is temp + fsync + rename,
 * so a kill at any moment leaves either the old or the new file, never a torn one; metrics are appended line
 * by line and a torn last line (kill mid-append) is skipped on read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../protocol/runConfig';
import { MetricsLine, RUN_FILES, RunManifest } from '../protocol/runFolder';

/** A run config's folder: `<workspace>/<runsDir>/<name>` (the run feed lists every runsDir the workspace's configs name). */
export function runDirOf(config: Pick<RunConfig, 'runsDir' | 'name'>, workspaceDir: string): string {
  return path.resolve(workspaceDir, config.runsDir, config.name);
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Checks that a run folder can be written, with a clear error if not (read-only, missing permissions). */
export function ensureWritableDir(dir: string): void {
  // Recursive mkdir reports a read-only file system as ENOENT; probing the nearest existing parent first
  // gives the real reason (EROFS, EACCES).
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    fs.accessSync(existing, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`run folder ${dir} is not writable: ${code === 'EROFS' ? 'the file system is read-only' : `permission denied on ${existing}`}`);
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    fs.writeFileSync(probe, 'ok');
    fs.rmSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'the file system is read-only' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOSPC' ? 'the disk is full' : (err as Error).message;
    throw new Error(`run folder ${dir} is not writable: ${why}`);
  }
}

export class MetricsWriter {
  private fd: number;
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a');
  }
  append(line: MetricsLine): void {
    fs.writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Reads metrics.jsonl, skipping a torn or foreign line instead of failing (a kill can cut the last one). */
export function readMetrics(file: string): MetricsLine[] {
  if (!fs.existsSync(file)) return [];
  const out: MetricsLine[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as MetricsLine;
      if (typeof v.step === 'number' && typeof v.loss === 'number') out.push(v);
    } catch {
      /* torn line */
    }
  }
  return out;
}

/** Drops metric lines past `step` (after a resume from an earlier checkpoint), rewriting the file atomically. */
export function truncateMetrics(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = readMetrics(file).filter((m) => m.step <= step);
  writeFileAtomic(file, kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
}

export function readManifest(runDir: string): RunManifest {
  return readJson<RunManifest>(path.join(runDir, RUN_FILES.manifest));
}

export function updateManifest(runDir: string, patch: Partial<RunManifest>): RunManifest {
  const file = path.join(runDir, RUN_FILES.manifest);
  const current = fs.existsSync(file) ? readJson<RunManifest>(file) : ({} as RunManifest);
  const next = { ...current, ...patch, updatedAt: new Date().toISOString() };
  writeJsonAtomic(file, next);
  return next;
}

/** Stable JSON (sorted keys) for comparing configs. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Claims a run folder for a config: a new folder gets the config; the same config resumes; a different
 * config is refused unless `overwrite` (which clears the folder first).
 */
export function claimRunFolder(runDir: string, config: unknown, overwrite: boolean): 'new' | 'resume' {
  const configFile = path.join(runDir, RUN_FILES.config);
  if (fs.existsSync(configFile)) {
    const existing = readJson<unknown>(configFile);
    // Where the file's `$schema` points depends on where the config file sits, not on the run.
    const withoutSchema = (v: unknown) => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
      const { $schema: _s, ...rest } = v as Record<string, unknown>;
      return rest;
    };
    if (canonicalJson(withoutSchema(existing)) === canonicalJson(withoutSchema(config))) return 'resume';
    if (!overwrite) {
      throw new Error(`run folder ${runDir} already holds a different config (${configFile}); choose another run name or pass --overwrite to replace it`);
    }
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  ensureWritableDir(runDir);
  writeJsonAtomic(configFile, config);
  return 'new';
}
