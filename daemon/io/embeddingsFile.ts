/**
 * Embedding files users bring to `reconstruct` and `invert`: JSON (an array of vectors, an array of
 * `{ id, embedding }`, or `{ embeddings: … }`), NumPy `.npy` float32/float64 2-D (or 1-D) arrays, or raw
 * little-endian float32 with a given dimension. Every problem (wrong dimension, NaN/Inf, empty, truncated)
 * is an error naming the file and the row.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface EmbeddingRows {
  ids: string[];
  rows: Float32Array[];
  dim: number;
}

function fail(file: string, msg: string): never {
  throw new Error(`embeddings file ${file}: ${msg}`);
}

function checkRows(file: string, ids: string[], rows: Float32Array[], expectDim?: number): EmbeddingRows {
  if (rows.length === 0) fail(file, 'holds no embeddings');
  const dim = rows[0].length;
  if (dim === 0) fail(file, 'row 0 is empty');
  rows.forEach((r, i) => {
    if (r.length !== dim) fail(file, `row ${i} (${ids[i]}) has ${r.length} values, row 0 has ${dim}`);
    const bad = r.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) fail(file, `row ${i} (${ids[i]}) value ${bad} is ${r[bad]} (not finite)`);
  });
  if (expectDim !== undefined && dim !== expectDim) fail(file, `embeddings have dimension ${dim}, the model expects ${expectDim}`);
  return { ids, rows, dim };
}

function parseJson(file: string, text: string, expectDim?: number): EmbeddingRows {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    fail(file, `not valid JSON: ${(err as Error).message}`);
  }
  if (v && typeof v === 'object' && !Array.isArray(v) && 'embeddings' in v) v = (v as { embeddings: unknown }).embeddings;
  if (!Array.isArray(v)) fail(file, 'expected an array of vectors, an array of { id, embedding }, or { "embeddings": […] }');
  const ids: string[] = [];
  const rows: Float32Array[] = [];
  (v as unknown[]).forEach((item, i) => {
    let id = String(i);
    let vec: unknown = item;
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      const o = item as { id?: unknown; embedding?: unknown };
      if (o.id !== undefined) id = String(o.id);
      vec = o.embedding;
    }
    if (!Array.isArray(vec)) fail(file, `item ${i} is not a vector (expected an array of numbers or { id, embedding })`);
    const arr = vec as unknown[];
    const bad = arr.findIndex((x) => typeof x !== 'number');
    if (bad >= 0) fail(file, `item ${i} value ${bad} is ${JSON.stringify(arr[bad])}, not a number (NaN/Infinity are not allowed)`);
    ids.push(id);
    rows.push(Float32Array.from(arr as number[]));
  });
  return checkRows(file, ids, rows, expectDim);
}

/** The rows of a NumPy .npy v1/v2/v3 array: little-endian '<f4' or '<f8', C order, 1-D (one row) or 2-D. */
export interface NpyRows {
  /** Rows and their length. */
  n: number;
  dim: number;
  /** Row `i` in the file's own precision (float64 stays float64); the values as they are, NaN included. */
  row(i: number): Float32Array | Float64Array;
}

/** Reads and checks a .npy header; `fail` words the problem (and names the file). */
export function readNpy(buf: Buffer, fail: (msg: string) => never): NpyRows {
  if (buf.length < 10 || buf.readUInt8(0) !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') fail('not a .npy file (bad magic)');
  const major = buf.readUInt8(6);
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) fail(`unreadable .npy header: ${header.trim()}`);
  if (fortran === 'True') fail('Fortran-order arrays are not supported; save with np.ascontiguousarray');
  if (descr !== '<f4' && descr !== '<f8') fail(`dtype ${descr} is not supported (use float32 '<f4' or float64 '<f8')`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.length < 1 || shape.length > 2) fail(`expected a 1-D or 2-D array, got shape (${shapeText})`);
  const [n, dim] = shape.length === 1 ? [1, shape[0]] : shape;
  const bytes = descr === '<f4' ? 4 : 8;
  if (buf.length - start < n * dim * bytes) fail(`truncated: shape (${shapeText}) needs ${n * dim * bytes} bytes, the file has ${buf.length - start}`);
  return {
    n, dim,
    row: (i) => {
      const off = start + i * dim * bytes;
      const r = bytes === 4 ? new Float32Array(dim) : new Float64Array(dim);
      for (let k = 0; k < dim; k++) r[k] = bytes === 4 ? buf.readFloatLE(off + k * 4) : buf.readDoubleLE(off + k * 8);
      return r;
    },
  };
}

/** A .npy file of embeddings: every row finite, of the expected dimension. */
export function parseNpy(file: string, buf: Buffer, expectDim?: number): EmbeddingRows {
  const a = readNpy(buf, (msg) => fail(file, msg));
  const rows = Array.from({ length: a.n }, (_, i) => {
    const r = a.row(i);
    return r instanceof Float32Array ? r : Float32Array.from(r);
  });
  return checkRows(file, rows.map((_, i) => String(i)), rows, expectDim);
}

function parseRaw(file: string, buf: Buffer, dim: number | undefined): EmbeddingRows {
  if (!dim) fail(file, 'raw float32 files need the dimension (--dim N)');
  if (buf.length === 0) fail(file, 'is empty');
  if (buf.length % (4 * dim) !== 0) fail(file, `size ${buf.length} bytes is not a multiple of ${4 * dim} (dimension ${dim} × 4 bytes)`);
  const rows = float32Rows(buf, dim);
  return checkRows(file, rows.map((_, i) => String(i)), rows, dim);
}

/** Raw little-endian float32 rows of `dim` values (the caller has checked the size is a multiple of 4·dim). */
export function float32Rows(buf: Buffer, dim: number): Float32Array[] {
  return Array.from({ length: buf.length / (4 * dim) }, (_, i) => {
    const r = new Float32Array(dim);
    for (let k = 0; k < dim; k++) r[k] = buf.readFloatLE((i * dim + k) * 4);
    return r;
  });
}

/** A file's bytes; `fail` words why there are none (unreadable, empty) and names the file. */
export function readNonEmpty(file: string, fail: (msg: string) => never): Buffer {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    fail(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (buf.length === 0) fail('is empty');
  return buf;
}

/**
 * Reads an embeddings file. `dim` is the dimension the consumer expects (model input): required for raw
 * files, checked for the others.
 */
export function readEmbeddingsFile(file: string, dim?: number): EmbeddingRows {
  const buf = readNonEmpty(file, (msg) => fail(file, msg));
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return parseJson(file, buf.toString('utf8'), dim);
  if (ext === '.npy') return parseNpy(file, buf, dim);
  return parseRaw(file, buf, dim);
}

/** L2-normalises each row in place (decoders and searches take unit-norm embeddings). */
export function l2NormalizeRows(rows: Float32Array[]): Float32Array[] {
  for (const r of rows) {
    let s = 0;
    for (const v of r) s += v * v;
    const n = Math.sqrt(s);
    if (n === 0) throw new Error('an embedding is all zeros: it cannot be normalised');
    for (let i = 0; i < r.length; i++) r[i] /= n;
  }
  return rows;
}
