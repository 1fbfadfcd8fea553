/**
 * Reading a template store the user owns, tolerantly: a store exported from a real system has the odd bad
 * row, and one bad row must not stop the audit of a hundred thousand good ones. Formats as in
 * daemon/io/embeddingsFile.ts (JSON: an array of vectors, of `{ id, embedding }` items, or
 * `{ "embeddings": … }`; JSON Lines, one vector or item per line; NumPy .npy float32/float64 [N, dim];
 * raw little-endian float32 with the encoder's dimension), but every row gets a verdict instead of the file
 * one error:
 *   - not finite (NaN, ±Infinity, null, a string): skipped, flagged;
 *   - another length than the store's (JSON stores can mix): skipped, flagged;
 *   - all zeros: skipped, flagged (no direction to invert);
 *   - not unit length: normalised (cosine does not care about scale), flagged as a note.
 * A store whose dimension is not the encoder's is one clear error (a store of another system), and so are
 * an unreadable, empty or truncated file. The file's SHA-256 identifies the store (a resumed audit checks it).
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { float32Rows, readNonEmpty, readNpy } from '../io/embeddingsFile';

export type TemplateFlagKind = 'not-finite' | 'wrong-dimension' | 'zero' | 'unnormalised';

export interface TemplateFlag {
  kind: TemplateFlagKind;
  detail: string;
  /** False when the row cannot be audited (skipped). */
  usable: boolean;
}

export interface TemplateStore {
  file: string;
  sha256: string;
  format: 'json' | 'jsonl' | 'npy' | 'raw';
  /** The store's dimension (= the encoder's). */
  dim: number;
  /** Rows in the file, usable or not. */
  rows: number;
  ids: string[];
  /** [rows, dim] unit-norm rows; zeros for unusable rows. */
  vectors: Float32Array;
  flags: (TemplateFlag | undefined)[];
  usable: number;
  /** A sampled store (sample.ts): the row in the file of each of its rows. */
  sourceRows?: Int32Array;
}

/** How far from unit length a row may be before it is flagged as unnormalised. */
export const NORM_TOLERANCE = 1e-3;

function fail(file: string, msg: string): never {
  throw new Error(`template store ${file}: ${msg}`);
}

/** A store's row as read: its id and values, or null with why it is not a vector. */
export interface RawRow { id: string; values: ArrayLike<unknown> | null; why?: string }
type Parsed = { format: TemplateStore['format']; rows: RawRow[] };

function finish(file: string, buf: Buffer, format: TemplateStore['format'], rows: RawRow[], expectDim: number, encoderId: string): TemplateStore {
  if (rows.length === 0) fail(file, 'holds no templates');
  // The store's dimension: the commonest row length (JSON stores may mix lengths).
  const lengths = new Map<number, number>();
  for (const r of rows) if (r.values) lengths.set(r.values.length, (lengths.get(r.values.length) ?? 0) + 1);
  const dim = [...lengths.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
  if (dim === undefined) fail(file, 'no row is a vector of numbers');
  if (dim !== expectDim) {
    fail(file, `its templates have dimension ${dim}, but encoder "${encoderId}" makes ${expectDim}-d templates: a store of another system, or the wrong --encoder`);
  }
  const n = rows.length;
  const vectors = new Float32Array(n * dim);
  const flags: (TemplateFlag | undefined)[] = new Array(n).fill(undefined);
  let usable = 0;
  rows.forEach((r, i) => {
    if (!r.values) { flags[i] = { kind: 'not-finite', detail: r.why ?? 'not a vector of numbers', usable: false }; return; }
    if (r.values.length !== dim) { flags[i] = { kind: 'wrong-dimension', detail: `${r.values.length} values, the store's templates have ${dim}`, usable: false }; return; }
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = r.values[k];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        flags[i] = { kind: 'not-finite', detail: `value ${k} is ${v === null ? 'null' : typeof v === 'number' ? String(v) : JSON.stringify(v)}`, usable: false };
        return;
      }
      s += v * v;
    }
    const norm = Math.sqrt(s);
    if (!(norm > 0)) { flags[i] = { kind: 'zero', detail: 'all values are 0: no direction to invert', usable: false }; return; }
    for (let k = 0; k < dim; k++) vectors[i * dim + k] = (r.values[k] as number) / norm;
    if (Math.abs(norm - 1) > NORM_TOLERANCE) flags[i] = { kind: 'unnormalised', detail: `L2 norm ${norm.toPrecision(4)}: normalised before use`, usable: true };
    usable++;
  });
  const sha256 = storeSha256(buf);
  return { file, sha256, format, dim, rows: n, ids: rows.map((r) => r.id), vectors, flags, usable };
}

function jsonItem(item: unknown, i: number): RawRow {
  let id = String(i);
  let vec: unknown = item;
  if (item && typeof item === 'object' && !Array.isArray(item)) {
    const o = item as Record<string, unknown>;
    if (o.id !== undefined && o.id !== null) id = String(o.id);
    vec = o.embedding ?? o.template ?? o.vector;
  }
  if (!Array.isArray(vec)) return { id, values: null, why: 'not a vector (expected an array of numbers or { id, embedding })' };
  return { id, values: vec as unknown[] };
}

function parseJson(file: string, buf: Buffer): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    fail(file, `not valid JSON: ${(err as Error).message} (NaN and Infinity are not JSON: write null, or use .npy)`);
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    v = o.embeddings ?? o.templates;
  }
  if (!Array.isArray(v)) fail(file, 'expected an array of vectors, an array of { id, embedding }, or { "embeddings": […] }');
  return { format: 'json', rows: (v as unknown[]).map(jsonItem) };
}

function parseJsonl(buf: Buffer): Parsed {
  const rows: RawRow[] = [];
  buf.toString('utf8').split('\n').forEach((line, k) => {
    if (!line.trim()) return;
    try {
      rows.push(jsonItem(JSON.parse(line), rows.length));
    } catch (err) {
      rows.push({ id: String(rows.length), values: null, why: `line ${k + 1} is not JSON (${(err as Error).message})` });
    }
  });
  return { format: 'jsonl', rows };
}

function parseNpy(file: string, buf: Buffer): Parsed {
  const a = readNpy(buf, (msg) => fail(file, msg));
  const rows: RawRow[] = Array.from({ length: a.n }, (_, i) => ({ id: String(i), values: a.row(i) }));
  return { format: 'npy', rows };
}

function parseRaw(file: string, buf: Buffer, dim: number, encoderId: string): Parsed {
  if (buf.length % (4 * dim) !== 0) {
    fail(file, `raw float32: ${buf.length} bytes are not a multiple of ${4 * dim} (${dim} values × 4 bytes, ${encoderId}): another dimension, or not float32`);
  }
  const rows: RawRow[] = float32Rows(buf, dim).map((values, i) => ({ id: String(i), values }));
  return { format: 'raw', rows };
}

/**
 * A store's rows as read, before any check of their values (a protected store's rows are bits or indices,
 * daemon/audit/protectedStore.ts); `dim` and `what` are for raw float32 files, whose rows have no length of
 * their own.
 */
export function readStoreRows(file: string, dim: number, what: string): Parsed & { buf: Buffer } {
  const buf = readNonEmpty(file, (msg) => fail(file, msg));
  const ext = path.extname(file).toLowerCase();
  const parsed = ext === '.json' ? parseJson(file, buf) : ext === '.jsonl' || ext === '.ndjson' ? parseJsonl(buf) : ext === '.npy' ? parseNpy(file, buf) : parseRaw(file, buf, dim, what);
  if (parsed.rows.length === 0) fail(file, 'holds no templates');
  return { ...parsed, buf };
}

/** The SHA-256 of a store's bytes (a resumed audit checks it). */
export const storeSha256 = (buf: Buffer) => crypto.createHash('sha256').update(buf).digest('hex');

/** Reads a template store for an encoder of dimension `dim`; see the header for what happens to bad rows. */
export function readTemplateStore(file: string, dim: number, encoderId: string): TemplateStore {
  const { buf, format, rows } = readStoreRows(file, dim, `encoder "${encoderId}"`);
  return finish(file, buf, format, rows, dim, encoderId);
}

/** A store's rows as an .npy float32 file (tests, the LFW store script). */
export function npyBytes(rows: readonly ArrayLike<number>[], dim: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${dim}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${' '.repeat(pad % 64)}\n`;
  const out = Buffer.alloc(10 + header.length + rows.length * dim * 4);
  out.writeUInt8(0x93, 0);
  out.write('NUMPY', 1, 'latin1');
  out.writeUInt8(1, 6);
  out.writeUInt8(0, 7);
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  let o = 10 + header.length;
  for (const r of rows) {
    if (r.length !== dim) throw new Error(`npyBytes: a row has ${r.length} values, not ${dim}`);
    for (let k = 0; k < dim; k++) { out.writeFloatLE(r[k], o); o += 4; }
  }
  return out;
}
