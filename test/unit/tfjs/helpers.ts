/**
 * Test helpers for the engine: start the wasm engine once, run the same computation on `cpu` (the
 * reference) and on `wasm`, and compare with the relative error max|a − b| / max|b| (b = cpu).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';

let ready: Promise<unknown> | null = null;

/** The wasm engine with its custom kernels (FACEINV_THREADS / core count threads). */
export function wasmEngine(): Promise<unknown> {
  ready ??= initEngine({ backend: 'wasm' });
  return ready;
}

/**
 * Mocha hooks for a suite: `setup` (default: the wasm engine) and a fresh temporary folder before it, the
 * folder removed after it. Call inside `describe`; read the folder as `.dir` inside the tests.
 */
export function useTmpDir(prefix: string, setup: () => Promise<unknown> = wasmEngine): { readonly dir: string } {
  let dir = '';
  before(async () => {
    await setup();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });
  return { get dir() { return dir; } };
}

/** Deterministic pseudo-random values in [-1, 1) (xorshift32). */
export function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

/** Runs `fn` on `backend` with tensors built from `inputs`; returns the outputs' values. */
export function runOn(backend: 'cpu' | 'wasm', inputs: Array<{ shape: number[]; values: Float32Array }>,
  fn: (...ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Float32Array[] {
  const prev = tf.getBackend();
  tf.setBackend(backend);
  try {
    // Read values outside tidy: tidy walks whatever it returns, element by element for typed arrays.
    const outs = tf.tidy(() => {
      const ts = inputs.map((i) => tf.tensor(i.values, i.shape));
      const out = fn(...ts);
      return Array.isArray(out) ? out : [out];
    });
    const vals = outs.map((o) => o.dataSync() as Float32Array);
    tf.dispose(outs);
    return vals;
  } finally {
    tf.setBackend(prev);
  }
}

/** max|a − b| / max|b|, the relative error used by all kernel tests. */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`relError: length ${a.length} vs ${b.length}`);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

/** Live engine tensors plus wasm backend data ids (kernel intermediates would show up in the latter). */
export function liveCounts(): { tensors: number; dataIds: number } {
  const b = tf.findBackend('wasm') as unknown as { numDataIds(): number } | null;
  return { tensors: tf.memory().numTensors, dataIds: b ? b.numDataIds() : 0 };
}
