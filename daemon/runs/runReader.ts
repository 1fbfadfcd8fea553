/**
 * Reads run folders (layout: daemon/protocol/runFolder.ts) for the daemon's run feed (server/runFeed.ts, the
 * dashboard's source): the run history under `<workspace>/runs/`, one run's manifest, metrics (incrementally,
 * from a byte offset, so a growing metrics.jsonl is read once), reconstructions index and evaluation report.
 *
 * Files are written by the trainer temp + rename, but metrics.jsonl is appended: a last line without its
 * newline is held back until it is complete. Nothing here throws for bad content; every problem comes back
 * as a readable string naming the file, so the view can show it next to what could be read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { compareRuns, type RunFace, type RunState, type RunSummary } from '../protocol/daemon';
import { EvaluationReportSchema, runHeadline } from '../protocol/report';
import {
  MetricsLineSchema, ReconstructionIndexSchema, RUN_FILES, RunManifestSchema,
  type EvaluationReport, type MetricsLine, type ReconstructionIndex, type RunManifest,
} from '../protocol/runFolder';

/** A value read from a file, or null with the reason (null and no problem: the file does not exist yet). */
export interface ReadResult<T> { value: T | null; problem?: string }

/** Metric lines parsed from `offset` on; `offset` is where the next read starts (after the last complete line). */
export interface MetricsChunk { lines: MetricsLine[]; offset: number; problems: string[]; lineNumber: number }

/** A run read whole (what `daemon/subscribeRun` answers), with where its metrics.jsonl was read up to. */
export interface RunSnapshot extends RunState {
  metricsOffset: number;
  metricsLineNumber: number;
}

function firstProblem(schema: TSchema, value: unknown): string | undefined {
  const err = Value.Errors(schema, value).First();
  return err ? `${err.path || '/'}: ${err.message}` : undefined;
}

/** Reads and validates one JSON file. Missing → `{ value: null }`; unreadable/invalid → `{ value: null, problem }`. */
export function readJsonFile<T>(file: string, schema: TSchema): ReadResult<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { value: null };
    return { value: null, problem: `${file}: cannot read (${(e as Error).message})` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { value: null, problem: `${file}: not valid JSON (${(e as Error).message})` };
  }
  const bad = firstProblem(schema, parsed);
  if (bad) return { value: null, problem: `${file}: does not match the run layout at ${bad}` };
  return { value: parsed as T };
}

export function readManifest(runDir: string): ReadResult<RunManifest> {
  return readJsonFile<RunManifest>(path.join(runDir, RUN_FILES.manifest), RunManifestSchema);
}

/** The fields a current report has and a report of an older version (version 1: `scores`, `images`) lacks. */
const REPORT_FIELDS = ['version', 'operatingPoints', 'thresholds', 'rows', 'items'];

export function readEvaluation(runDir: string): ReadResult<EvaluationReport> {
  const file = path.join(runDir, RUN_FILES.evaluationReport);
  const r = readJsonFile<EvaluationReport>(file, EvaluationReportSchema);
  if (!r.problem) return r;
  // An older report is named as such, with what it lacks, rather than as a layout error.
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (v && typeof v === 'object' && v.version !== 2) {
      const missing = REPORT_FIELDS.filter((k) => !(k in v) || (k === 'version' && v.version !== 2));
      return { value: null, problem: `${file} comes from an older version of Face Inversion Lab (missing ${missing.join(', ')}): run "Evaluate Attack" (faceinv evaluate) on this run again to get protocols, baselines and intervals` };
    }
  } catch {
    /* the first problem stands */
  }
  return r;
}

/**
 * Parses metrics.jsonl from byte `offset` (0 = the start). `lineNumber` is the 1-based number of the first
 * line at `offset`, for problem messages. Lines that are not JSON or not a MetricsLine are skipped with a
 * problem; a trailing line without '\n' is not consumed. A file shorter than `offset` (rewritten) reads
 * again from 0.
 */
export function readMetrics(runDir: string, offset = 0, lineNumber = 1): MetricsChunk {
  const file = path.join(runDir, RUN_FILES.metrics);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const problems = code === 'ENOENT' || code === 'ENOTDIR' ? [] : [`${file}: cannot read (${(e as Error).message})`];
    return { lines: [], offset, problems, lineNumber };
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < offset) { offset = 0; lineNumber = 1; }
    if (size === offset) return { lines: [], offset, problems: [], lineNumber };
    const buf = Buffer.alloc(size - offset);
    let got = 0;
    while (got < buf.length) {
      const n = fs.readSync(fd, buf, got, buf.length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    const end = buf.lastIndexOf(0x0a, got - 1);
    if (end < 0) return { lines: [], offset, problems: [], lineNumber };
    const text = buf.subarray(0, end).toString('utf8');
    const lines: MetricsLine[] = [];
    const problems: string[] = [];
    let n = lineNumber;
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.length > 0) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
          const bad = firstProblem(MetricsLineSchema, parsed);
          if (bad) problems.push(`${file}:${n}: not a metrics line (${bad})`);
          else lines.push(parsed as MetricsLine);
        } catch {
          problems.push(`${file}:${n}: not valid JSON`);
        }
      }
      n++;
    }
    return { lines, offset: offset + end + 1, problems, lineNumber: n };
  } finally {
    fs.closeSync(fd);
  }
}

/** Resolves `rel` inside `base`; null when it is absolute or climbs out (a hostile or broken index). */
export function resolveInside(base: string, rel: string): string | null {
  if (path.isAbsolute(rel)) return null;
  const full = path.resolve(base, rel);
  const root = path.resolve(base);
  return full.startsWith(root + path.sep) ? full : null;
}

/** `size-mtime` of a file, '' when it is not a readable regular file: a picture's version (RunFace). */
export function fileVersion(file: string): string {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? `${st.size}-${Math.round(st.mtimeMs)}` : '';
  } catch {
    return '';
  }
}

/**
 * reconstructions/index.json as RunFaces: image paths stay relative to the reconstructions folder and are
 * checked to stay inside it (an item whose image leaves it is skipped, an original that does is dropped).
 */
export function readFaces(runDir: string): ReadResult<RunFace[]> & { problems: string[] } {
  const index = readJsonFile<ReconstructionIndex>(path.join(runDir, RUN_FILES.reconstructionIndex), ReconstructionIndexSchema);
  if (!index.value) return { value: index.problem ? null : [], problem: index.problem, problems: index.problem ? [index.problem] : [] };
  const base = path.join(runDir, RUN_FILES.reconstructions);
  const faces: RunFace[] = [];
  const problems: string[] = [];
  for (const item of index.value.items) {
    const imagePath = resolveInside(base, item.image);
    if (!imagePath) { problems.push(`${path.join(base, 'index.json')}: item "${item.id}" image path "${item.image}" leaves the reconstructions folder; skipped`); continue; }
    const originalPath = item.original !== undefined ? resolveInside(base, item.original) : undefined;
    if (originalPath === null) problems.push(`${path.join(base, 'index.json')}: item "${item.id}" original path "${item.original}" leaves the reconstructions folder; original not shown`);
    faces.push({
      id: item.id,
      ...(item.identity !== undefined ? { identity: item.identity } : {}),
      ...(item.cosine !== undefined ? { cosine: item.cosine } : {}),
      image: path.relative(base, imagePath),
      imageVersion: fileVersion(imagePath),
      ...(originalPath && item.original !== undefined ? { original: path.relative(base, originalPath), originalVersion: fileVersion(originalPath) } : {}),
    });
  }
  return { value: faces, problems };
}

/** Everything the dashboard shows for one run, read from scratch. */
export function readRun(runDir: string): RunSnapshot {
  const dir = path.resolve(runDir);
  const manifest = readManifest(dir);
  const metrics = readMetrics(dir);
  const faces = readFaces(dir);
  const evaluation = readEvaluation(dir);
  const problems = [
    ...(manifest.problem ? [manifest.problem] : []),
    ...metrics.problems,
    ...faces.problems,
    ...(evaluation.problem ? [evaluation.problem] : []),
  ];
  return {
    name: path.basename(dir), dir, manifest: manifest.value, metrics: metrics.lines, metricsOffset: metrics.offset,
    metricsLineNumber: metrics.lineNumber, faces: faces.value ?? [], evaluation: evaluation.value,
    ...(evaluation.problem ? { evaluationProblem: evaluation.problem } : {}), problems,
  };
}

/** The part of a snapshot that goes on the wire (the read offsets stay with the watcher). */
export function runState(snap: RunSnapshot): RunState {
  const { metricsOffset: _o, metricsLineNumber: _n, ...state } = snap;
  return state;
}

/** One history row for a run folder. */
export function summarizeRun(runDir: string): RunSummary {
  const dir = path.resolve(runDir);
  const manifest = readManifest(dir);
  const hasReport = fs.existsSync(path.join(dir, RUN_FILES.evaluationReport));
  if (manifest.value) {
    const m = manifest.value;
    const report = hasReport ? readEvaluation(dir).value : null;
    return {
      name: path.basename(dir), dir, kind: m.kind, encoderId: m.encoderId, state: m.state, createdAt: m.createdAt, hasReport,
      ...(report ? { headline: runHeadline(report) } : {}),
    };
  }
  let createdAt = new Date(0).toISOString();
  try { createdAt = fs.statSync(dir).mtime.toISOString(); } catch { /* vanished meanwhile: epoch sorts it last */ }
  return {
    name: path.basename(dir), dir, state: 'unknown', createdAt, hasReport,
    problem: manifest.problem ?? `${path.join(dir, RUN_FILES.manifest)}: missing`,
  };
}

/** Every run folder under `runsRoot`, newest first (ties by name). A missing root is an empty history. */
export function listRuns(runsRoot: string): RunSummary[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsRoot, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot list runs folder ${runsRoot}: ${(e as Error).message}`);
  }
  const runs = entries.filter((d) => d.isDirectory() && !d.name.startsWith('.')).map((d) => summarizeRun(path.join(runsRoot, d.name)));
  return runs.sort(compareRuns);
}
