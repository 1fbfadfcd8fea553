import * as assert from 'node:assert/strict';
import { successAttackRates, Gallery } from '../../../daemon/evaluation/sar';
import { clusterBootstrap, wilson } from '../../../daemon/evaluation/stats';
import { psnr, ssim } from '../../../daemon/evaluation/imageQuality';

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
}

describe('success attack rates', () => {
  // A has a0, a1, a2 (similar directions); B has b0 alone (orthogonal).
  const rows = [unit([1, 0.1, 0]), unit([1, -0.1, 0]), unit([1, 0, 0.1]), unit([0, 0, 1])];
  const gallery: Gallery = { embeddings: Float32Array.from(rows.flatMap((r) => Array.from(r))), dim: 3, identities: ['A', 'A', 'A', 'B'], rels: ['A/0', 'A/1', 'A/2', 'B/0'] };
  const thr = [0.5, 0.9];

  it('counts type I against the source and type II against the other images of the person', () => {
    const probes = [
      { embedding: unit([1, 0.1, 0]), sourceRow: 0 },   // copy of a0: type I at both; vs a1, a2 cos ≈ 0.98, 0.99 → both pairs at both
      { embedding: unit([1, 0, 1.2]), sourceRow: 1 },   // weak: cos to a1 ≈ 0.64 → type I only at 0.5
      { embedding: unit([0, 0, 1]), sourceRow: 3 },     // B, single image: type I yes, no pairs
    ];
    const r = successAttackRates(probes, gallery, thr);
    assert.equal(r.count, 3);
    assert.deepEqual(r.typeI.map((x) => x.successes), [3, 2]);
    assert.equal(r.typeI[0].trials, 3);
    assert.equal(r.typeII.pairs, 4);
    assert.equal(r.typeII.probesWithPairs, 2);
    assert.equal(r.typeII.identitiesWithPairs, 1);
    // probe1 vs a0 (cos ≈ 0.64) and a2 (≈ 0.71): both at 0.5, none at 0.9.
    assert.deepEqual(r.typeII.perPair.map((x) => x.successes), [4, 2]);
    assert.deepEqual(r.typeII.perProbe, [1, 0.5], 'per threshold: mean over probes with pairs');
  });

  it('fails every type II pair of a probe with no face whose identity has other images', () => {
    const probes = [
      { embedding: unit([1, 0.1, 0]), sourceRow: 0 },
      { embedding: null, failure: 'no-face', sourceRow: 1 },   // a1: two other images of A, both pairs fail
    ];
    const r = successAttackRates(probes, gallery, thr);
    assert.equal(r.typeII.pairs, 4, 'the failed probe keeps its 2 pairs in the denominator');
    assert.equal(r.typeII.perPair[1].successes, 2);
    assert.equal(r.typeII.perPair[1].rate, 0.5);
    assert.deepEqual(r.typeII.perProbe, [0.5, 0.5], 'per threshold: the mean over the two probes of their accepted share');
    assert.deepEqual(r.failures, { 'no-face': 1 });
    assert.equal(r.cosines[1], null);
    assert.equal(r.typeI[0].successes, 1);
    assert.equal(r.rank1.trials, 2, 'the failed probe counts in rank-1 too');
    assert.equal(r.rank1.successes, 1);
  });

  it('leaves single-image identities out of rank-1 and says how many', () => {
    const probes = [
      { embedding: unit([0, 0, 1]), sourceRow: 3 },       // B: no other photo, cannot be identified
      { embedding: unit([1, 0.2, 0]), sourceRow: 0 },     // nearest other photo a1 is A's
    ];
    const r = successAttackRates(probes, gallery, thr);
    assert.equal(r.rank1Excluded, 1);
    assert.equal(r.rank1.trials, 1);
    assert.equal(r.rank1.rate, 1);
  });

  it('accepts only scores strictly above the threshold (as thresholds are defined)', () => {
    const g: Gallery = { embeddings: Float32Array.from([1, 0, 0, 1]), dim: 2, identities: ['A', 'B'], rels: ['A/0', 'B/0'] };
    const r = successAttackRates([{ embedding: Float32Array.from([1, 0]), sourceRow: 0 }], g, [1, 0.999]);
    assert.deepEqual(r.typeI.map((x) => x.successes), [0, 1]);
  });

  it('rejects probes of the wrong dimension or outside the gallery', () => {
    assert.throws(() => successAttackRates([{ embedding: new Float32Array(5), sourceRow: 0 }], gallery, thr), /dimension 5/);
    assert.throws(() => successAttackRates([{ embedding: null, sourceRow: 9 }], gallery, thr), /outside the gallery/);
  });
});

describe('intervals', () => {
  it('wilson matches the textbook values and stays inside [0,1]', () => {
    const [lo, hi] = wilson(13, 16) as [number, number];
    assert.ok(Math.abs(lo - 0.570) < 0.002 && Math.abs(hi - 0.934) < 0.002, `[${lo}, ${hi}]`);
    const [l0, h0] = wilson(0, 10) as [number, number];
    assert.equal(l0, 0);
    assert.ok(Math.abs(h0 - 0.278) < 0.002);
    assert.equal(wilson(0, 0), null);
    assert.throws(() => wilson(3, 2), /3 successes out of 2/);
  });

  it('the cluster bootstrap widens with unequal clusters and is reproducible', () => {
    const even = Array.from({ length: 20 }, () => ({ successes: 5, trials: 10 }));
    const [a, b] = clusterBootstrap(even) as [number, number];
    assert.ok(a === 0.5 && b === 0.5);
    const skewed = [{ successes: 90, trials: 100 }, ...Array.from({ length: 19 }, () => ({ successes: 1, trials: 10 }))];
    const ci = clusterBootstrap(skewed) as [number, number];
    assert.ok(ci[1] - ci[0] > 0.2, `interval [${ci}]`);
    assert.deepEqual(clusterBootstrap(skewed), ci);
    assert.equal(clusterBootstrap([]), null);
  });
});

describe('image quality', () => {
  const size = 16;
  const img = Uint8Array.from({ length: size * size * 3 }, (_, i) => (i * 37) % 256);
  it('gives SSIM 1 and infinite PSNR for identical images', () => {
    assert.ok(Math.abs(ssim(img, img, size) - 1) < 1e-9);
    assert.equal(psnr(img, img), Infinity);
  });
  it('drops for a distorted image', () => {
    const noisy = img.map((v, i) => Math.max(0, Math.min(255, v + ((i * 7919) % 61) - 30)));
    assert.ok(ssim(img, noisy, size) < 0.99);
    const p = psnr(img, noisy);
    assert.ok(p > 15 && p < 40, `psnr ${p}`);
  });
});
