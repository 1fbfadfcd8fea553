/**
 * Helpers for the ONNX Runtime engine tests: deterministic inputs, running a builder graph once, and a
 * gradient check of one graph — reverse-mode gradients against central finite differences along a random
 * direction, and against TF.js's gradients of the same function when one is given.
 */
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { gradients } from '../../../daemon/ort/autodiff';
import { GraphBuilder, Shape } from '../../../daemon/ort/graph';
import { tf } from '../../../daemon/tfjs/tf';
import { wasmEngine } from '../tfjs/helpers';

/**
 * The wasm engine, made the active backend again (tests that run earlier in the suite may leave TF.js on the
 * pure-JS `cpu` backend, which is far too slow for the TF.js references here).
 */
export async function wasmBackend(): Promise<void> {
  await wasmEngine();
  if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
}

/** Deterministic values in [lo, hi) (xorshift32). */
export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = lo + (s / 4294967296) * (hi - lo);
  }
  return out;
}

/** Values of magnitude in [0.2, 1) with random sign: away from the kinks of relu, abs, max… */
export function awayFromZero(n: number, seed: number): Float32Array {
  const v = values(n, seed, 0.2, 1);
  const sgn = values(n, seed + 99);
  return v.map((x, i) => (sgn[i] < 0 ? -x : x));
}

export const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'relError: lengths differ');
  let d = 0; let m = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
  return m === 0 ? d : d / m;
}

export async function runGraph(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; shape: number[] }>, outputs: string[]): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.shape);
    const out = await s.run(f, outputs);
    return Object.fromEntries(outputs.map((o) => [o, out[o].data as Float32Array]));
  } finally {
    await s.release();
  }
}

export interface GradCase {
  name: string;
  inputs: Array<{ shape: number[]; data: Float32Array; diff?: boolean }>;
  build(b: GraphBuilder, xs: string[]): string;
  /** The same function in TF.js (tensors in the same layout as the ONNX inputs). */
  tf?: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Tolerances: finite differences (relative to the directional derivative) and TF.js (relative). */
  fdTol?: number;
  tfTol?: number;
  eps?: number;
  /** TF.js backend of the reference (default: the active one, wasm). */
  tfBackend?: 'cpu' | 'wasm';
}

/**
 * L = Σ y·w (w fixed random); checks ∂L/∂x_i from the emitted backward against (L(x+εv) − L(x−εv))/2ε and, when
 * `tf` is given, against TF.js's tf.grads of the same L. Returns the errors.
 */
export async function checkGradients(c: GradCase): Promise<{ fd: number; tf: number | null }> {
  const b = new GraphBuilder(c.name);
  const xs = c.inputs.map((inp, i) => b.input(`x${i}`, inp.shape as Shape));
  const y = c.build(b, xs);
  const ys = b.shape(y) as number[];
  assert.ok(ys.every((d) => typeof d === 'number'), `${c.name}: output shape [${ys}] must be static`);
  const w = values(size(ys), 4242, -1, 1);
  const L = b.op('ReduceSum', [b.op('Mul', [y, b.constant(w, ys, 'float32', 'w')])], { keepdims: 0 });
  const diffIdx = c.inputs.map((inp, i) => (inp.diff === false ? -1 : i)).filter((i) => i >= 0);
  const grads = gradients(b, [{ value: L, grad: b.scalar(1) }], diffIdx.map((i) => xs[i]));
  b.rename(L, 'L');
  b.output('L');
  const gNames = diffIdx.map((i) => {
    const g = grads.get(xs[i]);
    assert.ok(g, `${c.name}: no gradient for input ${i}`);
    return b.rename(g, `g${i}`);
  });
  b.output(...gNames);
  const bytes = b.toBytes();
  const feeds = (shift: number, v: Float32Array[] | null) => Object.fromEntries(c.inputs.map((inp, i) => [`x${i}`, {
    shape: inp.shape, data: v && inp.diff !== false ? inp.data.map((x, k) => x + shift * v[i][k]) : inp.data,
  }]));
  const base = await runGraph(bytes, feeds(0, null), ['L', ...gNames]);
  const dirs = c.inputs.map((inp, i) => values(inp.data.length, 7 + i));
  const eps = c.eps ?? 1e-2;
  const plus = (await runGraph(bytes, feeds(eps, dirs), ['L'])).L[0];
  const minus = (await runGraph(bytes, feeds(-eps, dirs), ['L'])).L[0];
  const fd = (plus - minus) / (2 * eps);
  let analytic = 0;
  diffIdx.forEach((i, k) => { const g = base[gNames[k]]; for (let j = 0; j < g.length; j++) analytic += g[j] * dirs[i][j]; });
  const fdErr = Math.abs(fd - analytic) / Math.max(Math.abs(analytic), 1e-3);
  let tfErr: number | null = null;
  if (c.tf) {
    const f = c.tf;
    const prev = tf.getBackend();
    if (c.tfBackend) tf.setBackend(c.tfBackend);
    const ref = tf.tidy(() => {
      const ts = c.inputs.map((inp) => tf.tensor(inp.data, inp.shape));
      const wt = tf.tensor(w, ys);
      const gfn = tf.grads((...args: tf.Tensor[]) => {
        const all = ts.slice();
        diffIdx.forEach((i, k) => { all[i] = args[k]; });
        return tf.sum(tf.mul(f(...all), wt));
      });
      return gfn(diffIdx.map((i) => ts[i])).map((g) => g.dataSync() as Float32Array);
    });
    tf.setBackend(prev);
    tfErr = Math.max(...diffIdx.map((_, k) => relError(base[gNames[k]], ref[k])));
  }
  return { fd: fdErr, tf: tfErr };
}
