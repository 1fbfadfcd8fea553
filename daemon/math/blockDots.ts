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

/**
 * `visit(q, dot)` for every row q of `rows` ([n, dim]) against the row of `x` that starts at `a`, each sum in double
 * in the order i = 0…dim − 1 — bit for bit what a plain one-row loop gives, where `forEachDotBlock`'s float32 sums may
 * differ in the last place (enough to move a pair across a threshold) — with four rows sharing each load of x, which
 * V8 runs about 4× faster than one row at a time.
 */
export function exactRowDots(x: Float32Array, a: number, rows: Float32Array, n: number, dim: number, visit: (q: number, dot: number) => void): void {
  if (a < 0 || a + dim > x.length || rows.length < n * dim) throw new Error(`exactRowDots: a row of ${dim} at ${a} of ${x.length} values, or ${n} rows of ${dim} in ${rows.length} values, does not fit`);
  let q = 0;
  for (; q + 3 < n; q += 4) {
    const b0 = q * dim, b1 = b0 + dim, b2 = b1 + dim, b3 = b2 + dim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < dim; i++) {
      const v = x[a + i];
      s0 += v * rows[b0 + i];
      s1 += v * rows[b1 + i];
      s2 += v * rows[b2 + i];
      s3 += v * rows[b3 + i];
    }
    visit(q, s0);
    visit(q + 1, s1);
    visit(q + 2, s2);
    visit(q + 3, s3);
  }
  for (; q < n; q++) {
    let s = 0;
    const b = q * dim;
    for (let i = 0; i < dim; i++) s += x[a + i] * rows[b + i];
    visit(q, s);
  }
}
