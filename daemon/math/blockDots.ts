/**
 * Dot products between many rows of two row-major float32 sets, a block of rows at a time, on the tensor
 * engine (its matrix product: tens of GFLOP/s where a JavaScript loop does about one). The evaluation's all-pairs
 * scores (thresholds, the score distribution, the bootstrap's impostors) and its rank-1 scans are such
 * products: 2,555 photos give 3.3 million pairs per encoder, and JavaScript loops over them cost seconds each.
 * Blocks keep the memory at `block` × |B| scores whatever the set's size. Scores are float32, as the callers
 * keep them; the sums may differ from a float64 loop's in the last float32 place. Before the engine has a backend
 * (a module used outside a command, e.g. a unit test that never started one) the same blocks come from a loop.
 */
import { tf } from '../tfjs/tf';

/** Rows `rows` of the row-major [*, dim] array `src`, packed. */
export function packRows(src: Float32Array, rows: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(src.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

/**
 * For each block of rows of `a` ([m, dim]), their dot products with every row of `b` ([n, dim]):
 * `visit(first, count, scores)` with scores row-major [count, n] (row i of the block is a's row first + i).
 */
export function forEachDotBlock(a: Float32Array, m: number, b: Float32Array, n: number, dim: number,
  visit: (first: number, count: number, scores: Float32Array) => void, block = 256): void {
  if (a.length !== m * dim || b.length !== n * dim) throw new Error(`blockDots: [${m}, ${dim}] and [${n}, ${dim}] do not fit ${a.length} and ${b.length} values`);
  if (m === 0 || n === 0) return;
  if (!tf.getBackend()) {
    for (let first = 0; first < m; first += block) {
      const count = Math.min(block, m - first);
      visit(first, count, loopDots(a.subarray(first * dim, (first + count) * dim), count, b, n, dim));
    }
    return;
  }
  const B = tf.tensor2d(b, [n, dim]);
  try {
    for (let first = 0; first < m; first += block) {
      const count = Math.min(block, m - first);
      const scores = tf.tidy(() => tf.matMul(tf.tensor2d(a.subarray(first * dim, (first + count) * dim), [count, dim]), B, false, true));
      try {
        visit(first, count, scores.dataSync() as Float32Array);
      } finally {
        scores.dispose();
      }
    }
  } finally {
    B.dispose();
  }
}

function loopDots(a: Float32Array, m: number, b: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += a[i * dim + k] * b[j * dim + k];
      out[i * n + j] = s;
    }
  }
  return out;
}
