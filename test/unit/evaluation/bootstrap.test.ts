/**
 * The identity bootstrap with thresholds recomputed per resample (daemon/evaluation/bootstrap.ts, issue 26
 * item 6): a resample with every identity once reproduces the full-sample thresholds exactly; resampled
 * thresholds equal those recomputed from scratch on the resampled gallery; and when the threshold itself is
 * uncertain, the interval that recomputes it is wider than the one that keeps it fixed.
 */
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../daemon/data/split';
import { thresholdAtFmr } from '../../../daemon/data/verify';
import { bootstrapRates, BootProbe, impostorScores, resampledThresholds, resampleIdentities, weightedThreshold, impostorWeight } from '../../../daemon/evaluation/bootstrap';
import { encoderThresholds } from '../../../daemon/evaluation/thresholds';
import type { Gallery } from '../../../daemon/evaluation/sar';

/** `ids` identities of `per` images each, random unit vectors in `dim` dimensions (seeded). */
function randomGallery(ids: number, per: (k: number) => number, dim: number, seed: number): Gallery {
  const rand = mulberry32(seed);
  const identities: string[] = [];
  const rows: number[][] = [];
  for (let k = 0; k < ids; k++) {
    const centre = Array.from({ length: dim }, () => rand() - 0.5);
    for (let j = 0; j < per(k); j++) {
      const v = centre.map((c) => c + 0.6 * (rand() - 0.5));
      const n = Math.hypot(...v);
      rows.push(v.map((x) => x / n));
      identities.push(`id${k}`);
    }
  }
  return { embeddings: Float32Array.from(rows.flat()), dim, identities, rels: identities.map((id, i) => `${id}/${i}.jpg`) };
}

describe('evaluation: identity bootstrap with thresholds recomputed', () => {
  const g = randomGallery(40, (k) => 1 + (k % 4), 6, 7);
  const ids = [...new Set(g.identities)];
  const fmrs = [1e-1, 1e-2, 1e-3];

  it('every identity once gives the full-sample thresholds (thresholdAtFmr)', () => {
    const res = resampleIdentities(ids, 2, 1);
    const imp = impostorScores(g, res, 0.5);
    const ones = new Int32Array(ids.length).fill(1);
    const W = impostorWeight(ones, imp.images);
    assert.equal(W, imp.total);
    const full = encoderThresholds('x', g, ids, fmrs);
    fmrs.forEach((f, p) => assert.equal(weightedThreshold(imp, ones, W, f), full.points[p].threshold, `FMR ${f}`));
  });

  it('a resampled threshold equals the one recomputed on the resampled gallery itself, with or without the top list', () => {
    const res = resampleIdentities(ids, 5, 3);
    const short = resampledThresholds(impostorScores(g, res, 1e-3), res, fmrs); // forces the full-list fallback
    const long = resampledThresholds(impostorScores(g, res, 1), res, fmrs);
    res.multiplicity.forEach((m, b) => {
      // Build the resampled gallery: identity k copied m[k] times under distinct names.
      const emb: number[] = [], idn: string[] = [];
      ids.forEach((id, k) => {
        for (let c = 0; c < m[k]; c++) g.identities.forEach((x, r) => { if (x === id) { idn.push(`${id}#${c}`); emb.push(...g.embeddings.subarray(r * g.dim, (r + 1) * g.dim)); } });
      });
      // Copies of one person are the same person: their cross pairs are not impostors.
      const scores: number[] = [];
      for (let i = 0; i < idn.length; i++) for (let j = i + 1; j < idn.length; j++) {
        if (idn[i].split('#')[0] === idn[j].split('#')[0]) continue;
        let s = 0;
        for (let k = 0; k < g.dim; k++) s += emb[i * g.dim + k] * emb[j * g.dim + k];
        scores.push(Math.fround(s));
      }
      const sorted = Float32Array.from(scores).sort().reverse();
      fmrs.forEach((f, p) => {
        assert.equal(long[b][p], thresholdAtFmr(sorted, f), `resample ${b}, FMR ${f}`);
        assert.equal(short[b][p], long[b][p]);
      });
    });
  });

  it('recomputing the threshold widens the interval when targets sit near it', () => {
    const big = randomGallery(120, (k) => 1 + (k % 3), 4, 11);
    const bigIds = [...new Set(big.identities)];
    const res = resampleIdentities(bigIds, 400, 5);
    const imp = impostorScores(big, res, 0.05);
    const points = [1e-2];
    const thrB = resampledThresholds(imp, res, points);
    const fixed = [encoderThresholds('x', big, bigIds, points).points[0].threshold];
    // One target per identity, its score spread evenly just around the threshold: the rate is as sensitive to it as it can be.
    const probes: BootProbe[] = bigIds.map((_, k) => ({ identity: k, typeI: fixed[0] + ((k % 41) - 20) * 0.002, pairScores: null, pairs: 0 }));
    const moving = bootstrapRates(probes, res, (b) => thrB[b], 1).typeI[0] as [number, number];
    const still = bootstrapRates(probes, res, () => fixed, 1).typeI[0] as [number, number];
    const width = (x: [number, number]) => x[1] - x[0];
    assert.ok(width(moving) > 1.3 * width(still), `recomputed ${moving} vs fixed ${still}`);
  });

  it('type II per identity weighs each resampled identity once per draw; a failed target fails all its pairs', () => {
    const res = { identities: ['A', 'B'], multiplicity: [Int32Array.from([2, 0]), Int32Array.from([0, 2]), Int32Array.from([1, 1])], seed: 0 };
    const probes: BootProbe[] = [
      { identity: 0, typeI: 0.9, pairScores: Float64Array.from([0.9, 0.1]), pairs: 2 },
      { identity: 1, typeI: null, pairScores: null, pairs: 3 },
    ];
    const r = bootstrapRates(probes, res, () => [0.5], 1);
    // Values per resample: A only → 0.5; B only → 0; both → 0.25. Percentiles of {0.5, 0, 0.25}.
    assert.deepEqual(r.typeIIPerIdentity[0], [0, 0.5]);
    assert.deepEqual(r.typeI[0], [0, 1]);
    assert.throws(() => resampleIdentities(['A'], 10, 1), /at least 2 identities/);
  });
});
