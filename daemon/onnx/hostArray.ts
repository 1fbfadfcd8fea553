/**
 * Small arrays held in JS memory (not TF.js tensors): initializers before they are turned into weights, and
 * the values of static shape chains (Shape → Gather → Unsqueeze → Concat → Reshape), which are evaluated here
 * at run time from the concrete input shapes ("constant folding" that also follows the batch size).
 */
export type HostDtype = 'float32' | 'int' | 'bool';

export interface HostArray {
  dtype: HostDtype;
  /** ONNX (logical) dims; [] for a scalar. */
  dims: number[];
  /** Row-major values; int64 values as JS numbers. */
  data: Float32Array | number[];
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function host(dtype: HostDtype, dims: number[], data: ArrayLike<number>): HostArray {
  if (data.length !== sizeOf(dims)) throw new Error(`host array: ${data.length} values for dims [${dims}]`);
  return { dtype, dims, data: dtype === 'float32' ? Float32Array.from(data) : Array.from(data) };
}

export function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
  return s;
}

/** Numpy-style broadcast of two shapes; throws on mismatch. */
export function broadcastShapes(a: readonly number[], b: readonly number[], where: string): number[] {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${where}: shapes [${a}] and [${b}] do not broadcast`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element-wise binary op with numpy broadcasting, computed on the host. */
export function hostBinary(a: HostArray, b: HostArray, f: (x: number, y: number) => number, dtype: HostDtype,
  where: string): HostArray {
  const dims = broadcastShapes(a.dims, b.dims, where);
  const n = sizeOf(dims);
  const out = new Array<number>(n);
  const sa = stridesFor(a.dims, dims);
  const sb = stridesFor(b.dims, dims);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let ia = 0; let ib = 0;
    for (let k = 0; k < dims.length; k++) { ia += idx[k] * sa[k]; ib += idx[k] * sb[k]; }
    out[i] = f(a.data[ia], b.data[ib]);
    for (let k = dims.length - 1; k >= 0; k--) { if (++idx[k] < dims[k]) break; idx[k] = 0; }
  }
  return host(dtype, dims, out);
}

/** Strides of `dims` aligned to the broadcast shape `to` (0 where broadcast). */
function stridesFor(dims: readonly number[], to: readonly number[]): number[] {
  const s = strides(dims);
  const off = to.length - dims.length;
  return to.map((_, k) => (k < off || dims[k - off] === 1 ? 0 : s[k - off]));
}

/** Normalises a possibly negative axis for rank `rank`; throws naming `where`. */
export function normAxis(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${where}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Gather along `axis` with host indices (negative indices count from the end). */
export function hostGather(a: HostArray, indices: HostArray, axis: number, where: string): HostArray {
  const ax = normAxis(axis, a.dims.length, where);
  const outer = sizeOf(a.dims.slice(0, ax));
  const inner = sizeOf(a.dims.slice(ax + 1));
  const n = a.dims[ax];
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of Array.from(indices.data)) {
      const j = raw < 0 ? raw + n : raw;
      if (j < 0 || j >= n) throw new Error(`${where}: index ${raw} out of range for dim ${n}`);
      for (let i = 0; i < inner; i++) out.push(a.data[(o * n + j) * inner + i]);
    }
  }
  return host(a.dtype, [...a.dims.slice(0, ax), ...indices.dims, ...a.dims.slice(ax + 1)], out);
}

export function hostConcat(parts: HostArray[], axis: number, where: string): HostArray {
  const rank = parts[0].dims.length;
  const ax = normAxis(axis, rank, where);
  const outer = sizeOf(parts[0].dims.slice(0, ax));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = sizeOf(p.dims.slice(ax));
      for (let i = 0; i < chunk; i++) out.push(p.data[o * chunk + i]);
    }
  }
  const dims = parts[0].dims.slice();
  dims[ax] = parts.reduce((s, p) => s + p.dims[ax], 0);
  return host(parts[0].dtype, dims, out);
}

/** Slice with per-axis start/end/step already clamped to valid ranges. */
export function hostSlice(a: HostArray, begin: number[], end: number[], step: number[]): HostArray {
  const dims = a.dims.map((_, k) => Math.max(0, Math.ceil((end[k] - begin[k]) / step[k])));
  const n = sizeOf(dims);
  const st = strides(a.dims);
  const out = new Array<number>(n);
  const idx = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += (begin[k] + idx[k] * step[k]) * st[k];
    out[i] = a.data[src];
    for (let k = dims.length - 1; k >= 0; k--) { if (++idx[k] < dims[k]) break; idx[k] = 0; }
  }
  return host(a.dtype, dims, out);
}

/** Values of a host array as a plain number list (for shapes, axes, pads). */
export function hostInts(a: HostArray): number[] {
  return Array.from(a.data, (v) => Math.trunc(v));
}
