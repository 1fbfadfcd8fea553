import * as assert from 'node:assert/strict';
import { successAttackRates, Gallery } from '../../../daemon/evaluation/sar';
import { psnr, ssim } from '../../../daemon/evaluation/imageQuality';

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
}

describe('success attack rates', () => {
  // Two people: A has images a0, a1 (similar directions), B has b0 (orthogonal).
  const rows = [unit([1, 0.1, 0]), unit([1, -0.1, 0]), unit([0, 0, 1])];
  const gallery: Gallery = { embeddings: Float32Array.from(rows.flatMap((r) => Array.from(r))), dim: 3, identities: ['A', 'A', 'B'], rels: ['A/0', 'A/1', 'B/0'] };
  const thr = { fmr1e2: 0.5, fmr1e3: 0.9 };

  it('counts type I against the source and type II against the other images of the person', () => {
    const probes = [
      { embedding: unit([1, 0.1, 0]), sourceRow: 0 },   // perfect copy of a0: type I yes, vs a1 cos≈0.98 → type II yes
      { embedding: unit([1, 0, 1.2]), sourceRow: 1 },   // weak: cos to a1 ≈ 0.64 → only at 1e-2
      { embedding: null, sourceRow: 2 },                // no face found: a failure
    ];
    const r = successAttackRates(probes, gallery, thr);
    assert.equal(r.count, 3);
    assert.equal(r.notEmbedded, 1);
    assert.ok(Math.abs(r.typeI.fmr1e2 - 2 / 3) < 1e-9);
    assert.ok(Math.abs(r.typeI.fmr1e3 - 1 / 3) < 1e-9);
    // type II pairs: probe0 vs a1, probe1 vs a0 (B has no second image)
    assert.equal(r.typeIIPairs, 2);
    assert.equal(r.typeII.fmr1e3, 0.5);
    assert.equal(r.typeII.fmr1e2, 1);
    assert.ok(Number.isNaN(r.cosines[2]));
  });

  it('reports type II as undefined when no identity has a second image, and rank-1 by nearest other image', () => {
    const g: Gallery = { embeddings: Float32Array.from([1, 0, 0, 1]), dim: 2, identities: ['A', 'B'], rels: ['A/0', 'B/0'] };
    const r = successAttackRates([{ embedding: unit([1, 0]), sourceRow: 0 }], g, thr);
    assert.deepEqual(r.typeII, { fmr1e2: null, fmr1e3: null });
    assert.equal(r.rank1, 0); // the only other image is B's
    const r2 = successAttackRates([{ embedding: unit([1, 0.2, 0]), sourceRow: 0 }], gallery, thr);
    assert.equal(r2.rank1, 1); // nearest other image is a1
  });

  it('rejects probes of the wrong dimension', () => {
    assert.throws(() => successAttackRates([{ embedding: new Float32Array(5), sourceRow: 0 }], gallery, thr), /dimension 5/);
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
  it('refuses images of different sizes', () => {
    assert.throws(() => psnr(img, img.subarray(3)), /differ in size/);
  });
});
