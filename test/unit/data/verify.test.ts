import * as assert from 'node:assert';
import * as fs from 'node:fs';
import {
  bestThreshold, tenFold, thresholdAtFmr, tarAtFar, scorePairs, allPairScores, operatingPoints, saveThresholds, loadThresholds,
  thresholdAt, FAILED_PAIR_SCORE, ThresholdsFile,
} from '../../../daemon/data/verify';
import { mulberry32 } from '../../../daemon/data/split';
import { tempDir } from './helpers';

describe('data/verify: metrics', () => {
  it('bestThreshold separates separable scores perfectly and handles ties', () => {
    const r = bestThreshold([0.1, 0.2, 0.8, 0.9], [false, false, true, true]);
    assert.strictEqual(r.accuracy, 1);
    assert.ok(r.threshold > 0.2 && r.threshold < 0.8);
    const t = bestThreshold([0.5, 0.5, 0.5], [true, false, true]);
    assert.ok(Math.abs(t.accuracy - 2 / 3) < 1e-12);
  });

  it('tenFold: accuracy on synthetic overlapping Gaussians matches the analytic optimum', () => {
    // genuine ~ N(1, 1), impostor ~ N(-1, 1): the best accuracy is Φ(1) ≈ 0.841.
    const r = mulberry32(3);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const n = 6000;
    const scores = new Float64Array(n);
    const match: boolean[] = [];
    const fold: number[] = [];
    for (let i = 0; i < n; i++) {
      const m = i % 2 === 0;
      scores[i] = (m ? 1 : -1) + gauss();
      match.push(m);
      fold.push(Math.floor(i / 600));
    }
    const res = tenFold({ scores, match, fold });
    assert.strictEqual(res.foldAccuracies.length, 10);
    assert.ok(Math.abs(res.mean - 0.841) < 0.015, `mean ${res.mean}`);
    assert.ok(res.std > 0 && res.std < 0.05);
    for (const t of res.foldThresholds) assert.ok(Math.abs(t) < 0.25, `threshold ${t} near 0`);
  });

  it('thresholdAtFmr / tarAtFar count strictly-above scores', () => {
    const imp = Array.from({ length: 1000 }, (_, i) => i / 1000).reverse(); // 0.999 … 0
    const t = thresholdAtFmr(imp, 1e-2);
    assert.strictEqual(imp.filter((s) => s > t).length, 10);
    assert.throws(() => thresholdAtFmr([], 0.1), /no impostor/);
    const r = tarAtFar({ scores: [...imp, 0.995, 0.9, 0.2], match: [...imp.map(() => false), true, true, true] }, 1e-2);
    assert.ok(Math.abs(r.tar - 1 / 3) < 1e-12, `tar ${r.tar}`);
  });

  it('scorePairs scores cosine and counts images that failed as rejected pairs', () => {
    const emb = { rels: ['A/1', 'A/2', 'B/1'], dim: 2, embeddings: new Float32Array([1, 0, 0.6, 0.8, 0, 1]) };
    const ps = scorePairs({ folds: 1, perFold: 2, pairs: [
      { fold: 0, a: 'A/1', b: 'A/2', match: true },
      { fold: 0, a: 'A/1', b: 'C/1', match: true },
      { fold: 0, a: 'A/1', b: 'B/1', match: false },
      { fold: 0, a: 'C/1', b: 'B/1', match: false },
    ] }, emb);
    assert.deepStrictEqual(Array.from(ps.scores).map((x) => Math.round(x * 1e6) / 1e6), [0.6, FAILED_PAIR_SCORE, 0, FAILED_PAIR_SCORE]);
    assert.strictEqual(ps.pairsWithFailures, 2);
    assert.deepStrictEqual(ps.failedImages, ['C/1']);
  });

  it('all-pairs scores split genuine / impostor within the chosen identities', () => {
    const emb = { identities: ['a', 'a', 'b', 'c'], dim: 1, embeddings: new Float32Array([1, 1, -1, 0.5]) };
    const r = allPairScores(emb, ['a', 'b']);
    assert.deepStrictEqual([...r.genuine], [1]);
    assert.deepStrictEqual([...r.impostor].sort(), [-1, -1]);
    const ops = operatingPoints(new Float32Array([0.97, 0.1]), Float32Array.from({ length: 100 }, (_, i) => i / 100), [0.05]);
    assert.ok(Math.abs(ops[0].measuredFmr - 0.05) < 1e-12 && ops[0].fnmr === 0.5);
  });

  it('saves and loads thresholds, with clear errors', () => {
    const dir = tempDir('thr');
    try {
      assert.throws(() => loadThresholds('enc-x', { cacheDir: dir }), /not found: run "faceinv verify --encoder enc-x/);
      const t: ThresholdsFile = {
        version: 1, encoderId: 'enc-x', modelHash: 'ab', alignment: { template: 'arcface-5pt', size: 112 }, dataset: '/d',
        split: { seed: 0, testFraction: 0.2, identitiesHash: 'h', identities: 2, images: 4 }, impostorPairs: 4, genuinePairs: 2,
        points: [{ fmr: 1e-3, threshold: 0.33, measuredFmr: 0, fnmr: 0.1 }], failedImages: 0, createdAt: 'now',
      };
      const file = saveThresholds(dir, t);
      assert.deepStrictEqual(loadThresholds('enc-x', { cacheDir: dir }), t);
      assert.strictEqual(thresholdAt(t, 1e-3), 0.33);
      assert.throws(() => thresholdAt(t, 1e-2), /no point at FMR 0.01 \(have 0.001\)/);
      fs.writeFileSync(file, '{"version":1}');
      assert.throws(() => loadThresholds('enc-x', { cacheDir: dir }), /not a thresholds file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
