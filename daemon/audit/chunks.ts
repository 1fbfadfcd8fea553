/**
 * The audit folder and its resumable chunks. A store of 10⁵ templates is audited a chunk of `chunkSize`
 * rows at a time; each finished chunk is one file written temp + rename (chunks/c000042.json), so a kill -9
 * loses at most the chunk in progress and a rerun continues with the first chunk that has no file. The
 * folder is bound to its config and to the store's SHA-256: a rerun with another config or a changed store
 * is refused (with --overwrite it starts afresh), never mixed.
 *
 *   audits/<name>/
 *     audit.json        AuditManifest: state, progress, what is audited (config hash, store hash)
 *     config.json       the audit config as resolved (defaults filled)
 *     facemodel/        the PCA face model of the reference faces (daemon/attack/faceModel/pca.ts)
 *     chunks/           one TemplateResult list per finished chunk
 *     images/           reconstructions kept as PNG (a seeded sample of `keepImages` templates)
 *     report.json       AuditReport (daemon/audit/reportSchema.ts), report.html (self-contained), templates.csv
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditConfig } from '../protocol/auditConfig';
import { mulberry32 } from '../data/split';
import { canonicalJson, readJson, writeJsonAtomic } from '../runs/runFolder';
import type { Budget } from '../protocol/budget';
import type { TemplateResult } from './reportSchema';
import type { EngineDecision } from '../ort/engineChoice';

export const AUDIT_FILES = {
  manifest: 'audit.json',
  config: 'config.json',
  chunks: 'chunks',
  images: 'images',
  report: 'report.json',
  html: 'report.html',
  md: 'report.md',
  csv: 'templates.csv',
} as const;

export interface AuditManifest {
  format: 'faceinv-audit';
  version: 1;
  name: string;
  state: 'running' | 'paused' | 'finished' | 'failed' | 'interrupted';
  configHash: string;
  templatesSha256: string;
  templates: number;
  chunkSize: number;
  chunks: number;
  chunksDone: number;
  createdAt: string;
  updatedAt: string;
  progress?: { templatesDone: number; budget?: Budget };
  stopReason?: string;
  error?: string;
  /** Seconds spent attacking and scoring, over every session. */
  workSeconds: number;
  /** The white box's engine (ONNX Runtime or TF.js) and why, as a run records it in run.json. */
  attackEngine?: EngineDecision;
}

export interface ChunkFile {
  version: 1;
  chunk: number;
  /** Rows [from, to) of the store. */
  from: number;
  to: number;
  seconds: number;
  /** Encoder queries of the search, over the chunk. */
  searchQueries: number;
  /** Faces sent to encoders to score the chunk (reconstructions and lookalikes, both protocols). */
  scoringQueries: number;
  /** Templates whose attack failed because of the encoder (recorded under onEncoderError "continue"). */
  encoderFailures: number;
  results: TemplateResult[];
  /** The queue worker that inverted it (queue.ts); absent when the audit's own process did. */
  worker?: string;
}

/** Settings a resumed audit may change without mixing results: words, where it lives, what to do on encoder errors. */
const FREE_TO_CHANGE = ['$schema', 'description', 'outDir', 'onEncoderError', 'margin'] as const;

export function configHash(config: AuditConfig): string {
  const c: Record<string, unknown> = { ...config };
  for (const k of FREE_TO_CHANGE) delete c[k];
  return crypto.createHash('sha256').update(canonicalJson(c)).digest('hex');
}

export function chunkFile(dir: string, k: number): string {
  return path.join(dir, AUDIT_FILES.chunks, `c${String(k).padStart(6, '0')}.json`);
}

/**
 * Claims `dir` for this audit: a new folder gets its manifest; an existing one must be the same audit (same
 * config, same store) unless `overwrite` (then its chunks, images and report are removed).
 */
export function claimAuditFolder(dir: string, config: AuditConfig, store: { sha256: string; rows: number }, overwrite: boolean): { manifest: AuditManifest; resumed: boolean } {
  const file = path.join(dir, AUDIT_FILES.manifest);
  const hash = configHash(config);
  const chunks = Math.ceil(store.rows / config.chunkSize);
  if (fs.existsSync(file) && !overwrite) {
    let m: AuditManifest;
    try {
      m = readJson<AuditManifest>(file);
    } catch (err) {
      throw new Error(`${file} is damaged (${(err as Error).message}); run with --overwrite to start this audit afresh`);
    }
    if (m.format !== 'faceinv-audit') throw new Error(`${dir} holds something other than an audit (${file} is not an audit manifest); choose another --out`);
    if (m.templatesSha256 !== store.sha256) {
      throw new Error(`${dir} audits another template store (SHA-256 ${m.templatesSha256.slice(0, 12)}…, the file now has ${store.sha256.slice(0, 12)}…): the store changed since this audit began; use --overwrite to start afresh or another --out`);
    }
    if (m.templates !== store.rows) {
      // The same config on the same store, another number of rows: a default sample (sample.ts) against a whole-store audit, or back.
      throw new Error(`${dir} audited ${m.templates.toLocaleString('en-US')} templates of this store, this run would audit ${store.rows.toLocaleString('en-US')} (a sample where it audited the whole store, or the other way round); chunks of one cannot continue the other — use --overwrite to start afresh, another --out, or --sample ${m.templates} / --all to match it`);
    }
    if (m.configHash !== hash) {
      const old = fs.existsSync(path.join(dir, AUDIT_FILES.config)) ? readJson<AuditConfig>(path.join(dir, AUDIT_FILES.config)) : undefined;
      const changed = old ? Object.keys({ ...old, ...config }).filter((k) => !(FREE_TO_CHANGE as readonly string[]).includes(k)).filter((k) => canonicalJson((old as Record<string, unknown>)[k]) !== canonicalJson((config as Record<string, unknown>)[k])) : [];
      throw new Error(`${dir} was audited with another config${changed.length ? ` (changed: ${changed.join(', ')})` : ''}; a resumed audit must keep its settings — use --overwrite to start afresh or another --out`);
    }
    writeJsonAtomic(path.join(dir, AUDIT_FILES.config), config);
    const manifest: AuditManifest = { ...m, state: 'running', updatedAt: new Date().toISOString() };
    delete manifest.stopReason;
    delete manifest.error;
    writeJsonAtomic(file, manifest);
    return { manifest, resumed: true };
  }
  if (overwrite) {
    for (const f of [AUDIT_FILES.chunks, AUDIT_FILES.images, AUDIT_FILES.report, AUDIT_FILES.html, AUDIT_FILES.csv, 'facemodel']) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  }
  fs.mkdirSync(path.join(dir, AUDIT_FILES.chunks), { recursive: true });
  const now = new Date().toISOString();
  const manifest: AuditManifest = {
    format: 'faceinv-audit', version: 1, name: config.name, state: 'running', configHash: hash, templatesSha256: store.sha256,
    templates: store.rows, chunkSize: config.chunkSize, chunks, chunksDone: 0, createdAt: now, updatedAt: now, workSeconds: 0,
  };
  writeJsonAtomic(path.join(dir, AUDIT_FILES.config), config);
  writeJsonAtomic(file, manifest);
  return { manifest, resumed: false };
}

export function updateAuditManifest(dir: string, patch: Partial<AuditManifest>): AuditManifest {
  const file = path.join(dir, AUDIT_FILES.manifest);
  const m = { ...readJson<AuditManifest>(file), ...patch, updatedAt: new Date().toISOString() };
  writeJsonAtomic(file, m);
  return m;
}

/** The finished chunk `k`, or null when it has no (readable) file yet. A file that does not fit is redone. */
export function readChunk(dir: string, k: number, from: number, to: number): ChunkFile | null {
  const file = chunkFile(dir, k);
  if (!fs.existsSync(file)) return null;
  try {
    const c = readJson<ChunkFile>(file);
    if (c.version !== 1 || c.chunk !== k || c.from !== from || c.to !== to || !Array.isArray(c.results) || c.results.length !== to - from) return null;
    return c;
  } catch {
    return null;
  }
}

export function writeChunk(dir: string, c: ChunkFile): void {
  writeJsonAtomic(chunkFile(dir, c.chunk), c);
}

/** Rows whose reconstruction is kept as a PNG: a seeded sample of `keep` of `rows` (all of them when keep ≥ rows). */
export function keptRows(rows: number, keep: number, seed: number): Set<number> {
  if (keep >= rows) return new Set(Array.from({ length: rows }, (_, i) => i));
  // Floyd's sampling: O(keep) memory for any store size.
  const rand = mulberry32(seed ^ 0x1ee7);
  const out = new Set<number>();
  for (let j = rows - keep; j < rows; j++) {
    const t = Math.floor(rand() * (j + 1));
    out.add(out.has(t) ? j : t);
  }
  return out;
}
