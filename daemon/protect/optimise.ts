/**
 * The stolen-key inversion's optimiser: Adam on the unit sphere (embeddings are L2-normalised), keeping the
 * point with the lowest loss. Float64 throughout; a scheme's `attack()` supplies the start and the loss.
 */
import type { AttackLoss } from './types';

export function normalise(e: Float64Array): Float64Array {
  let n = 0;
  for (let i = 0; i < e.length; i++) n += e[i] * e[i];
  n = Math.sqrt(n);
  if (n > 0) for (let i = 0; i < e.length; i++) e[i] /= n;
  else e.fill(1 / Math.sqrt(e.length)); // a zero start (no prior) becomes the all-equal direction
  return e;
}

export function minimiseOnSphere(start: Float64Array, loss: AttackLoss, steps: number, lr: number): { e: Float64Array; loss: number; startLoss: number } {
  const d = start.length;
  const e = normalise(Float64Array.from(start));
  const g = new Float64Array(d), m = new Float64Array(d), v = new Float64Array(d);
  const b1 = 0.9, b2 = 0.999, eps = 1e-12;
  let best = Float64Array.from(e);
  const startLoss = loss(e, g);
  let bestLoss = startLoss;
  for (let t = 1; t <= steps; t++) {
    if (t > 1) {
      const L = loss(e, g);
      if (!Number.isFinite(L)) break;
      if (L < bestLoss) { bestLoss = L; best = Float64Array.from(e); }
    }
    // Tangent component of the gradient only.
    let ge = 0;
    for (let i = 0; i < d; i++) ge += g[i] * e[i];
    for (let i = 0; i < d; i++) {
      const gi = g[i] - ge * e[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const mh = m[i] / (1 - b1 ** t), vh = v[i] / (1 - b2 ** t);
      e[i] -= (lr * mh) / (Math.sqrt(vh) + eps) / Math.sqrt(d);
    }
    normalise(e);
  }
  if (steps > 0) {
    const L = loss(e, g);
    if (Number.isFinite(L) && L < bestLoss) { bestLoss = L; best = Float64Array.from(e); }
  }
  return { e: best, loss: bestLoss, startLoss };
}
