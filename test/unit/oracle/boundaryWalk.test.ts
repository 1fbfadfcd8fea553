/**
 * The boundary walk after the first accept (daemon/attack/oracle/boundaryWalk.ts), on a synthetic "encoder"
 * (template = unit(A·z + b), A and b fixed and random; latents clamped to ±3 as the PCA model's) and a simulated accept / reject system that counts its
 * queries: from a face just inside the acceptance region the walk raises the true cosine to the enrolled
 * template while every face it returns is accepted; it spends exactly what the system counted, within the
 * budget; a walk that steps against its estimate (a broken sign) does not raise the cosine; bad options are
 * refused with a clear error.
 */
import * as assert from 'node:assert/strict';
import { boundaryWalk, signGradient, type WalkOptions } from '../../../daemon/attack/oracle/boundaryWalk';
import { mulberry32 } from '../../../daemon/data/split';

const K = 48, D = 24;

function system(seed: number) {
  const r = mulberry32(seed);
  const A = Float64Array.from({ length: D * K }, () => r() * 2 - 1);
  const b = Float64Array.from({ length: D }, () => 4 * (r() * 2 - 1));
  const enc = (z: Float32Array, i = 0) => {
    const e = Float64Array.from(b);
    for (let d = 0; d < D; d++) for (let c = 0; c < K; c++) e[d] += A[d * K + c] * z[i * K + c];
    const n = Math.hypot(...e);
    return e.map((v) => v / n);
  };
  const target = enc(Float32Array.from({ length: K }, () => r() * 2 - 1));
  const cos = (z: Float32Array, i = 0) => enc(z, i).reduce((s, v, d) => s + v * target[d], 0);
  return { cos, target };
}

/** A start on the segment from a random latent to the template's preimage direction, just above `thr`. */
function startNear(cos: (z: Float32Array) => number, thr: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const far = Float32Array.from({ length: K }, () => r() * 2 - 1);
  // (moves stay inside the clamp box, as the walk's do)
  // Climb cos by coordinate moves until just past the threshold: a face "barely accepted", as a hub photo is.
  const z = Float32Array.from(far);
  for (let it = 0; it < 20000 && cos(z) <= thr; it++) {
    const j = it % K, before = cos(z);
    z[j] = Math.min(3, z[j] + 0.05);
    if (cos(z) < before) z[j] = Math.max(-3, z[j] - 0.1);
  }
  assert.ok(cos(z) > thr && cos(z) < thr + 0.05, `start cosine ${cos(z)}`);
  return z;
}

const clamp = (z: Float32Array) => { for (let i = 0; i < z.length; i++) z[i] = Math.max(-3, Math.min(3, z[i])); };
const opts = (budgets: number[]): WalkOptions => ({ budgets, directions: 16, subspace: K, radius: 0.5, maxRadius: 8, stepScale: 0.5, halvings: 2, seed: 3, clamp });

describe('boundary walk (decision oracle, after the first accept)', function () {
  this.timeout(30000);
  const thr = 0.5;

  it('raises the true cosine, every returned face accepted, queries counted within the budget', async () => {
    const { cos } = system(1);
    const start = startNear(cos, thr, 2);
    let asked = 0;
    const decide = async (zs: Float32Array, n: number) => { asked += n; return Array.from({ length: n }, (_, i) => cos(zs, i) > thr); };
    const budgets = [0, 100, 300, 1000];
    const res = await boundaryWalk(start, K, decide, opts(budgets));
    assert.equal(res.snapshots.length, budgets.length);
    assert.equal(res.queries, asked);
    assert.ok(asked <= 1000, `${asked} queries`);
    assert.deepEqual(Array.from(res.snapshots[0]), Array.from(start));
    const c = res.snapshots.map((z) => cos(z));
    c.forEach((v) => assert.ok(v > thr, `a returned face is rejected (${v})`));
    assert.ok(c[3] > thr + 0.2, `cosine ${c.map((v) => v.toFixed(3)).join(' → ')}`);
    assert.ok(c[2] >= c[1] - 1e-6 && c[3] >= c[2] - 1e-6, `cosine fell: ${c.join(', ')}`);
    assert.ok(res.moved >= 5, `moved ${res.moved}, given up ${res.givenUp}, cosine ${c.map((v) => v.toFixed(3)).join(" → ")}`);
  });

  it('does not gain with the estimate reversed (the test can fail)', async () => {
    const { cos } = system(1);
    const start = startNear(cos, thr, 2);
    // Answers flipped to the walk: it then estimates the gradient pointing outward.
    const flipped = async (zs: Float32Array, n: number) => Array.from({ length: n }, (_, i) => !(cos(zs, i) > thr));
    const res = await boundaryWalk(start, K, flipped, opts([0, 1000]));
    assert.ok(cos(res.snapshots[1]) < thr + 0.2, `reversed walk reached ${cos(res.snapshots[1])}`);
  });

  it('snapshots at a budget smaller than one step keep the start', async () => {
    const { cos } = system(1);
    const start = startNear(cos, thr, 2);
    const decide = async (zs: Float32Array, n: number) => Array.from({ length: n }, (_, i) => cos(zs, i) > thr);
    const res = await boundaryWalk(start, K, decide, opts([5, 10]));
    assert.equal(res.queries, 0);
    res.snapshots.forEach((z) => assert.deepEqual(Array.from(z), Array.from(start)));
  });

  it('refuses bad options and a start of the wrong size', async () => {
    const decide = async (_: Float32Array, n: number) => Array.from({ length: n }, () => true);
    const z = new Float32Array(K);
    await assert.rejects(boundaryWalk(new Float32Array(3), K, decide, opts([10])), /start has 3 values/);
    await assert.rejects(boundaryWalk(z, K, decide, { ...opts([10]), directions: 3 }), /even number/);
    await assert.rejects(boundaryWalk(z, K, decide, opts([100, 10])), /ascending/);
    await assert.rejects(boundaryWalk(z, K, decide, { ...opts([10]), subspace: K + 1 }), /subspace/);
  });

  it('the sign average points along a half-space normal', () => {
    const r = mulberry32(9);
    const w = [1, 2, -1, 0.5];
    const d = w.length, n = 400;
    const u = new Float32Array(n * d);
    for (let i = 0; i < n * d; i++) u[i] = r() * 2 - 1;
    const phi = Array.from({ length: n }, (_, i) => (w.reduce((s, v, j) => s + v * u[i * d + j], 0.3) > 0 ? 1 : -1));
    const g = signGradient(phi, u, d)!;
    const cosW = g.reduce((s, v, j) => s + v * w[j], 0) / Math.hypot(...w);
    assert.ok(cosW > 0.9, `cos ${cosW}`);
    assert.equal(signGradient([1, 1, 1], new Float32Array(3 * d), d), null);
  });
});
