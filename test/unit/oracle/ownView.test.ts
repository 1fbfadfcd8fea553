/**
 * The system as the attacker's encoder through its own enrolments (daemon/attack/oracle/ownView.ts): with enough
 * spread own identities and probes, the predicted template is the subject's own (the view loses nothing); with fewer
 * own identities than dimensions it cannot be; the score ŝ = f(x)ᵀc the attacker computes from its answers equals the
 * cosine-like score against the folded template; rounded answers keep a positive definite system through the noise
 * term; malformed input is refused by name.
 */
import * as assert from 'node:assert/strict';
import { fitOwnView, foldOwnView, ownViewWeights } from '../../../daemon/attack/oracle/ownView';
import { mulberry32 } from '../../../daemon/data/split';

const d = 6;

function unitRows(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let a = 0; a < d; a++) { const v = r() * 2 - 1; out[i * d + a] = v; s += v * v; }
    for (let a = 0; a < d; a++) out[i * d + a] /= Math.sqrt(s);
  }
  return out;
}
const dot = (a: Float32Array, i: number, b: Float32Array, j: number) => { let s = 0; for (let k = 0; k < d; k++) s += a[i * d + k] * b[j * d + k]; return s; };
const answers = (x: Float32Array, nx: number, y: Float32Array, ny: number) => Float32Array.from({ length: nx * ny }, (_, q) => dot(x, Math.floor(q / ny), y, q % ny));

describe('oracle: the system as the attacker\'s encoder through its own enrolments', () => {
  const P = 10, m = 300, n = 20;
  const probes = unitRows(P, 1), own = unitRows(m, 2), subjects = unitRows(n, 3);
  const view = (K: number) => {
    const E = unitRows(K, 4);
    const v = fitOwnView(answers(own, m, probes, P), answers(own, m, E, K), answers(E, K, E, K), m, P, K, { mapLambda: 1e-6, gramLambda: 1e-6 });
    const c = ownViewWeights(v, answers(subjects, n, probes, P), n);
    return { E, c, that: foldOwnView(c, E, n, K, d) };
  };

  it('K ≥ d spread own identities: each subject\'s predicted template is its own, and ŝ = f(x)ᵀc scores against it', () => {
    const K = 12;
    const { E, c, that } = view(K);
    for (let i = 0; i < n; i++) assert.ok(dot(that[i], 0, subjects, i) > 0.999, `subject ${i}: cosine ${dot(that[i], 0, subjects, i)}`);
    // A face x: its K answers against the own enrolments, weighted by c, rank faces as the folded template does.
    const faces = unitRows(5, 9), f = answers(faces, 5, E, K);
    for (let x = 0; x < 5; x++) {
      const sHat = Array.from({ length: K }, (_, k) => f[x * K + k] * c[k]).reduce((a, b) => a + b, 0);
      const norm = Math.hypot(...Array.from({ length: d }, (_, a) => Array.from({ length: K }, (_, k) => c[k] * E[k * d + a]).reduce((p, q) => p + q, 0)));
      assert.ok(Math.abs(sHat / norm - dot(faces, x, that[0], 0)) < 1e-5);
    }
  });

  it('fewer own identities than dimensions: the view cannot hold the template', () => {
    const { that } = view(3);
    const worst = Math.min(...Array.from({ length: n }, (_, i) => dot(that[i], 0, subjects, i)));
    assert.ok(worst < 0.95, `lowest cosine ${worst}`);
  });

  it('rounded answers: the enrolments\' answers against each other lose positive definiteness, and the rounding noise added to λ restores it', () => {
    const K = 30, q = 0.01, round = (a: Float32Array) => a.map((v) => Number(v.toFixed(2)));
    const E = unitRows(K, 4);
    const args = [round(answers(own, m, probes, P)), round(answers(own, m, E, K)), round(answers(E, K, E, K)), m, P, K] as const;
    assert.throws(() => fitOwnView(...args, { mapLambda: 0.1, gramLambda: 1e-6 }), /not positive definite/);
    const v = fitOwnView(...args, { mapLambda: 1e-3, gramLambda: 1e-6, answerNoise: q / Math.sqrt(12) });
    const that = foldOwnView(ownViewWeights(v, round(answers(subjects, n, probes, P)), n), E, n, K, d);
    for (let i = 0; i < n; i++) assert.ok(dot(that[i], 0, subjects, i) > 0.95, `subject ${i}: cosine ${dot(that[i], 0, subjects, i)}`);
  });

  it('refuses too few own photos, a gram matrix of the wrong size, a λ of 0 and non-finite answers, by name', () => {
    const E = unitRows(8, 4);
    const ok = () => ({ pa: answers(own, m, probes, P), oa: answers(own, m, E, 8), g: answers(E, 8, E, 8) });
    const { pa, oa, g } = ok();
    assert.throws(() => fitOwnView(pa.subarray(0, 5 * P), oa.subarray(0, 5 * 8), g, 5, P, 8, { mapLambda: 0.1, gramLambda: 0.1 }), /5 own photos cannot fit a map from 10 answers/);
    assert.throws(() => fitOwnView(pa, oa, g.subarray(1), m, P, 8, { mapLambda: 0.1, gramLambda: 0.1 }), /not 8×8/);
    assert.throws(() => fitOwnView(pa, oa, g, m, P, 8, { mapLambda: 0.1, gramLambda: 0 }), /λ must be > 0/);
    const bad = Float32Array.from(oa); bad[7] = NaN;
    assert.throws(() => fitOwnView(pa, bad, g, m, P, 8, { mapLambda: 0.1, gramLambda: 0.1 }), /own answer 7 is not a finite number/);
    const v = fitOwnView(pa, oa, g, m, P, 8, { mapLambda: 0.1, gramLambda: 0.1 });
    assert.throws(() => ownViewWeights(v, new Float32Array(7), 1), /7 answers are not 1 rows of 10/);
    assert.throws(() => foldOwnView(new Float64Array(3), E, 1, 8, d), /do not fit/);
  });
});
