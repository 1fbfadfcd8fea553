/** Matrix-multiply throughput on the active backend: C = A·B with A, B [n, n] float32 (2n³ FLOPs). */
import { tf } from '../tfjs/tf';

export interface MatmulResult { n: number; msPerMatmul: number; gflops: number; reps: number }

export function benchMatmul(n = 1024, reps = 10, warmup = 2): MatmulResult {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2) as tf.Tensor2D;
  try {
    const once = (): void => { const c = tf.matMul(a, b); c.dataSync(); c.dispose(); };
    for (let i = 0; i < warmup; i++) once();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) once();
    const ms = (performance.now() - t0) / reps;
    return { n, msPerMatmul: ms, gflops: (2 * n ** 3) / ms / 1e6, reps };
  } finally {
    tf.dispose([a, b]);
  }
}
