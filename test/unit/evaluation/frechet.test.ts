/**
 * The Fréchet distance (daemon/evaluation/frechet.ts; Heusel et al. 2017): on Gaussians it matches the closed
 * forms, and from samples with Ledoit–Wolf shrinkage it converges to the true distance.
 */
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../daemon/data/split';
import { frechetDistance, shrunkGaussian, sqrtPsd } from '../../../daemon/evaluation/frechet';
import { symmetricEigen } from '../../../daemon/math/linalg';
import { normalInterval, realismOf, REALISM_MAX_DIM } from '../../../daemon/evaluation/realism';

function gauss(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

/** A rotation of R^d from `d` random reflections (seeded), row-major. */
function rotation(d: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  let q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) q[i * d + i] = 1;
  for (let r = 0; r < d; r++) {
    const v = Array.from({ length: d }, () => gauss(rand));
    const n = Math.hypot(...v);
    const h = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) h[i * d + j] = (i === j ? 1 : 0) - (2 * v[i] * v[j]) / (n * n);
    const out = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) out[i * d + j] += q[i * d + k] * h[k * d + j];
    q = out;
  }
  return q;
}

/** Q diag(λ) Qᵀ. */
function withEigen(q: Float64Array, lambda: number[]): Float64Array {
  const d = lambda.length, out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) out[i * d + j] += q[i * d + k] * lambda[k] * q[j * d + k];
  return out;
}

describe('evaluation: Fréchet distance', () => {
  it('commuting covariances: ‖Δμ‖² + Σ (√a − √b)²', () => {
    const d = 12, q = rotation(d, 3);
    const a = Array.from({ length: d }, (_, i) => 0.5 + i), b = Array.from({ length: d }, (_, i) => 2 + 0.3 * i);
    const m1 = Float64Array.from({ length: d }, (_, i) => i / 10), m2 = Float64Array.from({ length: d }, (_, i) => -i / 20);
    const got = frechetDistance({ mean: m1, cov: withEigen(q, a), dim: d }, { mean: m2, cov: withEigen(q, b), dim: d });
    let want = 0;
    for (let i = 0; i < d; i++) want += (m1[i] - m2[i]) ** 2 + (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
    assert.ok(Math.abs(got - want) < 1e-8 * want, `${got} vs ${want}`);
  });

  it('non-commuting 2×2: tr √(Σ₁^½Σ₂Σ₁^½) = √(tr Σ₁Σ₂ + 2√(det Σ₁ det Σ₂))', () => {
    const s1 = Float64Array.from([2, 0.7, 0.7, 1]), s2 = Float64Array.from([0.5, -0.2, -0.2, 3]);
    const mu = Float64Array.from([0, 0]);
    const tr12 = s1[0] * s2[0] + s1[1] * s2[2] + s1[2] * s2[1] + s1[3] * s2[3];
    const det = (m: Float64Array) => m[0] * m[3] - m[1] * m[2];
    const want = s1[0] + s1[3] + s2[0] + s2[3] - 2 * Math.sqrt(tr12 + 2 * Math.sqrt(det(s1) * det(s2)));
    const got = frechetDistance({ mean: mu, cov: s1, dim: 2 }, { mean: mu, cov: s2, dim: 2 });
    assert.ok(Math.abs(got - want) < 1e-10, `${got} vs ${want}`);
  });

  it('eigen-decomposition and square root are exact on a known spectrum', () => {
    const d = 20, q = rotation(d, 9);
    const lambda = Array.from({ length: d }, (_, i) => (i + 1) ** 2 / 7);
    const { values } = symmetricEigen(withEigen(q, lambda), d);
    assert.deepEqual(Array.from(values).sort((x, y) => x - y).map((v) => v.toFixed(8)), lambda.map((v) => v.toFixed(8)));
    const r = sqrtPsd(withEigen(q, lambda), d), want = withEigen(q, lambda.map(Math.sqrt));
    for (let i = 0; i < d * d; i++) assert.ok(Math.abs(r[i] - want[i]) < 1e-9);
  });

  it('from samples of two Gaussians, with shrinkage, it approaches the closed form; identical sets give 0', () => {
    const d = 8, n = 6000, rand = mulberry32(4);
    const draw = (scale: number[], shift: number) => {
      const x = new Float64Array(n * d);
      for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) x[i * d + k] = shift + Math.sqrt(scale[k]) * gauss(rand);
      return x;
    };
    const a = Array.from({ length: d }, (_, i) => 1 + i / 4), b = Array.from({ length: d }, () => 2);
    const ga = shrunkGaussian(draw(a, 0), n, d), gb = shrunkGaussian(draw(b, 0.5), n, d);
    let want = d * 0.25;
    for (let k = 0; k < d; k++) want += (Math.sqrt(a[k]) - Math.sqrt(b[k])) ** 2;
    const got = frechetDistance(ga, gb);
    assert.ok(Math.abs(got - want) < 0.05 * want, `${got} vs ${want}`);
    assert.ok(ga.shrinkage < 0.05, `n ≫ d needs little shrinkage (got ${ga.shrinkage})`);
    assert.ok(frechetDistance(ga, ga) < 1e-9);
    assert.throws(() => shrunkGaussian(new Float64Array(3), 1, 3), /at least 2 samples/);
    assert.throws(() => frechetDistance(ga, { ...gb, dim: 3 }), /dimensions differ/);
  });

  it('few samples in many dimensions: shrinkage is strong and the covariance stays positive definite', () => {
    const d = 40, n = 20, rand = mulberry32(8);
    const x = Float64Array.from({ length: n * d }, () => gauss(rand));
    const g = shrunkGaussian(x, n, d);
    assert.ok(g.shrinkage > 0.3, `shrinkage ${g.shrinkage}`);
    assert.ok(Math.min(...symmetricEigen(g.cov, d).values) > 0);
  });

  it('the Ledoit–Wolf intensity equals its definition, Σₖ‖xₖxₖᵀ − S‖² summed sample by sample', () => {
    for (const [n, d, seed] of [[20, 40, 3], [60, 6, 4], [9, 9, 5]]) {
      const rand = mulberry32(seed);
      const x = Float64Array.from({ length: n * d }, (_, i) => gauss(rand) * (1 + (i % d) / 3));
      const mean = Array.from({ length: d }, (_, k) => { let s = 0; for (let i = 0; i < n; i++) s += x[i * d + k]; return s / n; });
      const c = (i: number, k: number) => x[i * d + k] - mean[k];
      const S = Array.from({ length: d * d }, (_, pq) => { let s = 0; for (let i = 0; i < n; i++) s += c(i, Math.floor(pq / d)) * c(i, pq % d); return s / n; });
      const nu = S.filter((_, pq) => pq % (d + 1) === 0).reduce((a, b) => a + b, 0) / d;
      const d2 = S.reduce((a, v, pq) => a + (v - (pq % (d + 1) === 0 ? nu : 0)) ** 2, 0) / d;
      let b2 = 0;
      for (let i = 0; i < n; i++) for (let pq = 0; pq < d * d; pq++) b2 += (c(i, Math.floor(pq / d)) * c(i, pq % d) - S[pq]) ** 2;
      const want = Math.min(1, Math.max(0, Math.min(b2 / (n * n * d), d2) / d2));
      const got = shrunkGaussian(x, n, d).shrinkage;
      assert.ok(Math.abs(got - want) < 1e-9, `n ${n}, d ${d}: shrinkage ${got}, by definition ${want}`);
    }
  });

  it('identical rows (the mean face) get full shrinkage to a zero covariance; the interval is centred on the estimate', () => {
    const row = [0.3, -0.2, 0.5, 0.1];
    const g = shrunkGaussian(Float64Array.from({ length: 40 }, (_, i) => row[i % 4]), 10, 4);
    assert.equal(g.shrinkage, 1);
    for (const v of g.cov) assert.ok(Math.abs(v) < 1e-12);
    // Resampled values all above the estimate (the upward bias of a repeated-sample distance) still give an interval around it.
    const ci = normalInterval(0.025, Float64Array.from([0.031, 0.033, 0.035, 0.030, 0.036]));
    assert.ok(ci && ci[0] < 0.025 && ci[1] > 0.025, String(ci));
    assert.equal(normalInterval(1, Float64Array.from([NaN, 2])), null);
  });
});

describe('evaluation/realism: high-dimensional feature spaces', () => {
  it('a 1024-d transfer space is projected to REALISM_MAX_DIM by one map: finite, and near sets stay nearer than far ones', () => {
    const rand = mulberry32(3);
    const n = 60, dim = 1024;
    const row = (shift: number) => Float32Array.from({ length: dim }, (_, j) => rand() - 0.5 + (j < 8 ? shift : 0));
    const real = Array.from({ length: n }, () => row(0));
    const embedded = new Map<'real-crop' | 'attack' | 'mean-face', (Float32Array | null)[]>([
      ['real-crop', real],
      ['attack', Array.from({ length: n }, () => row(0.1))],
      ['mean-face', Array.from({ length: n }, () => row(2))],
    ]);
    const r = realismOf('wide', embedded as never, real.map((_, i) => `id${i}`), null, 0);
    const by = (s: string) => r.rows.find((x) => x.subject === s)!.frechet;
    assert.ok(Number.isFinite(by('attack')) && by('attack') < by('mean-face'), `${by('attack')} vs ${by('mean-face')}`);
    assert.equal(REALISM_MAX_DIM, 128);
  });
});
