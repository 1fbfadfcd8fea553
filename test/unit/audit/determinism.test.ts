/**
 * An audit must reproduce from its config and seed: the PCA face model built twice from the same faces with
 * the same seed is the same model — seed 0 (the default) included, which TF.js takes for "no seed".
 */
import * as assert from 'node:assert/strict';
import { buildPcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';

describe('audit: reproducible face model', function () {
  this.timeout(60_000);
  // The engine every unit test shares (no backend switch: later tests expect the one initEngine chose).
  before(async () => { await initEngine({ backend: 'wasm' }); });
  it('the same faces and seed build the same PCA face model, for seed 0 too', async () => {
    const S = 16, n = 30, rand = mulberry32(5);
    const faces = Uint8Array.from({ length: n * S * S * 3 }, () => Math.floor(rand() * 256));
    const frame = { template: 'arcface-5pt' as const, size: S };
    for (const seed of [0, 3]) {
      const a = await buildPcaFaceModel(faces, n, frame, { components: 8, clamp: 3, seed });
      const b = await buildPcaFaceModel(faces, n, frame, { components: 8, clamp: 3, seed });
      assert.deepEqual(Array.from(a.components), Array.from(b.components), `seed ${seed}`);
      assert.deepEqual(Array.from(a.sigma), Array.from(b.sigma));
      a.dispose(); b.dispose();
    }
  });
});
