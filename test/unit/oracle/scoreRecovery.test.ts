/**
 * Score oracle with an encoder copy (daemon/attack/oracle/scoreRecovery.ts): on synthetic face embeddings that
 * live in a 21-dimensional subspace of 64 dimensions, about 21 designed probe scores pin the template down
 * (far fewer than the 64 plain least squares needs); rounded scores need more; a bad answer is an error.
 */
import * as assert from 'node:assert/strict';
import { cosine, designProbes, fitTemplatePrior, recoverTemplate, scoreNoiseVariance, unit } from '../../../daemon/attack/oracle/scoreRecovery';
import { mulberry32 } from '../../../daemon/data/split';

const D = 64, R = 20;

function faces(n: number, seed: number, basis: Float64Array, mean: Float64Array): Float32Array {
  const rand = mulberry32(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const x = Float64Array.from(mean);
    for (let r = 0; r < R; r++) { const z = g() / (1 + r * 0.2); for (let a = 0; a < D; a++) x[a] += z * basis[r * D + a]; }
    out.set(unit(x), i * D);
  }
  return out;
}

describe('oracle: score recovery with an encoder copy', () => {
  const rand = mulberry32(3);
  const basis = Float64Array.from({ length: R * D }, () => rand() - 0.5);
  const mean = Float64Array.from({ length: D }, () => (rand() - 0.5) * 2);
  const ref = faces(2000, 1, basis, mean);
  const enrolled = faces(20, 2, basis, mean);
  const prior = fitTemplatePrior(ref, 2000, D, 1e-6);
  const answers = (probes: Float64Array, t: Float32Array, n: number, decimals?: number) =>
    Array.from({ length: n }, (_, k) => { const s = cosine(probes.subarray(k * D, (k + 1) * D), t); return decimals === undefined ? s : Number(s.toFixed(decimals)); });

  it('recovers the template from about as many scores as the faces\' dimensions, far below the embedding\'s', () => {
    const design = designProbes(prior, ref, 2000, 30, scoreNoiseVariance({}));
    assert.equal(new Set(design.indices).size, 30, 'distinct probes');
    for (let k = 1; k < 30; k++) assert.ok(design.residual[k] <= design.residual[k - 1] + 1e-12, 'the posterior only narrows');
    const few: number[] = [], enough: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = enrolled.subarray(i * D, (i + 1) * D);
      const s = answers(design.probes, t, 30);
      few.push(cosine(recoverTemplate(design, s, 8), t));
      enough.push(cosine(recoverTemplate(design, s, 30), t));
    }
    assert.ok(Math.min(...enough) > 0.999, `30 scores: min cosine ${Math.min(...enough)}`);
    assert.ok(Math.max(...few) < 0.99, `8 scores cannot pin 21 dimensions down: max cosine ${Math.max(...few)}`);
  });

  it('scores rounded to 1 decimal recover less from the same probes than exact ones', () => {
    const exact = designProbes(prior, ref, 2000, 30, scoreNoiseVariance({}));
    const rounded = designProbes(prior, ref, 2000, 30, scoreNoiseVariance({ decimals: 1 }));
    let a = 0, b = 0;
    for (let i = 0; i < 20; i++) {
      const t = enrolled.subarray(i * D, (i + 1) * D);
      a += cosine(recoverTemplate(exact, answers(exact.probes, t, 30)), t) / 20;
      b += cosine(recoverTemplate(rounded, answers(rounded.probes, t, 30, 1)), t) / 20;
    }
    assert.ok(b < a - 1e-3 && b > 0.9, `exact ${a}, rounded ${b}`);
    assert.equal(scoreNoiseVariance({ decimals: 2 }), 1e-4 / 12);
  });

  it('a non-numeric answer, a pool of the wrong shape and too many probes are errors that say so', () => {
    const design = designProbes(prior, ref, 2000, 5, 1e-6);
    assert.throws(() => recoverTemplate(design, [0.1, Number.NaN, 0.2, 0.3, 0.1]), /answer 1 is not a finite score/);
    assert.throws(() => designProbes(prior, ref.subarray(0, 100), 2000, 5, 1e-6), /is not 2000 × 64/);
    assert.throws(() => designProbes(prior, ref, 2000, 2001, 1e-6), /2001 probes from a pool of 2000/);
    assert.throws(() => fitTemplatePrior(ref.subarray(0, D), 1, D), /at least 2/);
  });
});
