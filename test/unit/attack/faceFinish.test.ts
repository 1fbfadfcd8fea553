/** The final faces' finish (daemon/attack/faceModel/detail.ts): detail and contrast from the attacker's nearest faces. */
import * as assert from 'node:assert/strict';
import { buildPcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { applySpread, nearestInModel, nearestRowsInModel, quiltResidual, spreadOf } from '../../../daemon/attack/faceModel/detail';
import { renderFaces } from '../../../daemon/attack/inversion';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { mulberry32 } from '../../../daemon/data/split';

const S = 16, D = S * S * 3;

/** n faces: a smooth rank-3 part (what a 3-component model keeps) plus per-face pixel noise (the detail it loses). */
function faces(n: number, seed: number, noise: number): Uint8Array {
  const r = mulberry32(seed);
  const patterns = [0, 1, 2].map((p) => Float64Array.from({ length: D }, (_, i) => Math.sin((i + 1) * (p + 1) * 0.05)));
  const out = new Uint8Array(n * D);
  for (let f = 0; f < n; f++) {
    const w = [0, 1, 2].map((p) => (r() * 2 - 1) * (40 / (p + 1)));
    for (let i = 0; i < D; i++) out[f * D + i] = Math.max(0, Math.min(255, Math.round(128 + w[0] * patterns[0][i] + w[1] * patterns[1][i] + w[2] * patterns[2][i] + noise * (r() * 2 - 1))));
  }
  return out;
}

const sd = (x: ArrayLike<number>, c: number): number => {
  const v: number[] = [];
  for (let i = c; i < x.length; i += 3) v.push(x[i]);
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
};

describe('attack/faceModel/detail: the final faces borrow from the nearest attacker faces', function () {
  this.timeout(60000);
  before(() => initEngine({ backend: 'wasm' }));

  it('quilting takes each patch\'s residual from the candidate whose rendering matches there', () => {
    const P = 4, size = 8, plane = size * size * 3;
    const base = new Float32Array(plane).fill(0.5);
    // candidate 0 renders like the base on the left half only, candidate 1 on the right half
    const renders = new Float32Array(2 * plane), residuals = new Float32Array(2 * plane);
    for (let p = 0; p < size * size; p++) {
      const left = p % size < size / 2;
      for (let c = 0; c < 3; c++) {
        renders[3 * p + c] = left ? 0.5 : 0.9;
        renders[plane + 3 * p + c] = left ? 0.1 : 0.5;
        residuals[3 * p + c] = 0.1;
        residuals[plane + 3 * p + c] = -0.1;
      }
    }
    const res = quiltResidual(base, renders, residuals, [0, 1], size, { patch: P, stride: P, overlapWeight: 0 });
    assert.ok(Math.abs(res[0] - 0.1) < 1e-6, 'left from candidate 0');
    assert.ok(Math.abs(res[3 * (size - 1)] + 0.1) < 1e-6, 'right from candidate 1');
    const only1 = quiltResidual(base, renders, residuals, [1], size, { patch: P, stride: P, overlapWeight: 0 });
    assert.ok(only1.every((v) => Math.abs(v + 0.1) < 1e-6), 'only the rows named are candidates');
  });

  it('a spread is matched per channel, about the face\'s own mean', () => {
    const face = Float32Array.from({ length: D }, (_, i) => 0.5 + 0.05 * Math.sin(i));
    applySpread(face, [0.2, 0.1, 0.3]);
    [0.2, 0.1, 0.3].forEach((want, c) => assert.ok(Math.abs(sd(face, c) - want) < 1e-4, `channel ${c}: ${sd(face, c)}`));
  });

  it('nearest faces in the model are the ones whose renderings are nearest', async () => {
    const n = 40;
    const bank = faces(n, 3, 0);
    const m = await buildPcaFaceModel(bank, n, { template: 'arcface-5pt', size: S }, { components: 3, clamp: 10 });
    try {
      const z = await m.project(bank, n);
      const near = nearestInModel(z.subarray(7 * 3, 8 * 3), { crops: bank, latents: z, n }, m.sigma, 3);
      assert.equal(near[0], 7, 'a face is its own nearest');
      // Many rows at once (more than one block of the product) rank as σ-weighted distances do, row by row.
      const rows = 70, zs = Float32Array.from({ length: rows * 3 }, (_, i) => z[i % (n * 3)] + 0.3 * Math.sin(i));
      const all = nearestRowsInModel(zs, rows, { crops: bank, latents: z, n }, m.sigma, 5);
      assert.equal(all.length, rows);
      for (let r = 0; r < rows; r++) {
        const d = (j: number) => [0, 1, 2].reduce((s, c) => s + (m.sigma[c] * (zs[r * 3 + c] - z[j * 3 + c])) ** 2, 0);
        const want = Array.from({ length: n }, (_, j) => j).sort((a, b) => d(a) - d(b)).slice(0, 5);
        assert.deepEqual(all[r].map(d), want.map(d), `row ${r}`);
      }
    } finally {
      m.dispose();
    }
  });

  it('renderFaces finishes faces only when told: contrast of the neighbours, detail that a low-rank model loses', async () => {
    const n = 60;
    const bank = faces(n, 5, 40);
    const m = await buildPcaFaceModel(bank, n, { template: 'arcface-5pt', size: S }, { components: 3, clamp: 10 });
    const before = tf.memory().numTensors;
    try {
      const z = await m.project(bank, n);
      const targets = z.slice(0, 4 * 3);
      // shrink toward the mean, as a search's answer is: low contrast
      for (let i = 0; i < targets.length; i++) targets[i] *= 0.3;
      const plain = await renderFaces(m, targets, 4);
      m.useFinish({ crops: bank, latents: z, n }, { contrast: false, detail: 0, neighbours: 8 });
      assert.deepEqual(await renderFaces(m, targets, 4), plain, 'a finish that changes nothing is no finish');
      m.useFinish({ crops: bank, latents: z, n }, { contrast: true, detail: 0, neighbours: 8 });
      const contrasted = await renderFaces(m, targets, 4);
      assert.match(m.describe(), /colour contrast of the 8 nearest attacker photos/);
      const near = nearestInModel(targets.subarray(0, 3), { crops: bank, latents: z, n }, m.sigma, 8);
      const want = spreadOf(near.map((j) => bank.subarray(j * D, (j + 1) * D)));
      for (let c = 0; c < 3; c++) {
        assert.ok(sd(plain.subarray(0, D), c) / 255 < want[c] * 0.8, 'the shrunken face had less contrast');
        assert.ok(Math.abs(sd(contrasted.subarray(0, D), c) / 255 - want[c]) < 0.01, `channel ${c}: ${sd(contrasted.subarray(0, D), c) / 255} vs ${want[c]}`);
      }
      m.useFinish({ crops: bank, latents: z, n }, { contrast: false, detail: 1, neighbours: 8 });
      const detailed = await renderFaces(m, targets, 4);
      // pixel noise is what a rank-3 model cannot hold: the detail puts high frequencies back
      const roughness = (x: Uint8Array) => { let s = 0; for (let i = 3; i < D; i++) s += Math.abs(x[i] - x[i - 3]); return s; };
      assert.ok(roughness(detailed.subarray(0, D)) > 2 * roughness(plain.subarray(0, D)), `${roughness(detailed.subarray(0, D))} vs ${roughness(plain.subarray(0, D))}`);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    } finally {
      m.dispose();
    }
  });
});
