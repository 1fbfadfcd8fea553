/** The PCA face model (daemon/attack/faceModel/pca.ts) on synthetic faces of known structure. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildPcaFaceModel, loadPcaFaceModel, PCA_FILES } from '../../../daemon/attack/faceModel/pca';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { mulberry32 } from '../../../daemon/data/split';

const S = 8, D = S * S * 3;

/** n faces = a grey mean plus 3 fixed patterns with random weights (rank 3 around the mean). */
function syntheticFaces(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const patterns = [0, 1, 2].map((p) => Float64Array.from({ length: D }, (_, i) => Math.sin((i + 1) * (p + 1) * 0.37)));
  const out = new Uint8Array(n * D);
  for (let f = 0; f < n; f++) {
    const w = [r() * 2 - 1, r() * 2 - 1, r() * 2 - 1].map((x, p) => x * (30 / (p + 1)));
    for (let i = 0; i < D; i++) out[f * D + i] = Math.round(128 + w[0] * patterns[0][i] + w[1] * patterns[1][i] + w[2] * patterns[2][i]);
  }
  return out;
}

describe('attack/faceModel/pca', function () {
  this.timeout(60000);
  before(() => initEngine({ backend: 'wasm' }));

  it('finds the structure of the faces, projects and renders them back, saves and loads exactly', async () => {
    const n = 60;
    const faces = syntheticFaces(n, 1);
    const before = tf.memory().numTensors;
    const m = await buildPcaFaceModel(faces, n, { template: 'arcface-5pt', size: S }, { components: 3, clamp: 10 });
    assert.ok(m.description.varianceKept > 0.995, `variance kept ${m.description.varianceKept}`);
    assert.ok(m.sigma[0] >= m.sigma[1] && m.sigma[1] >= m.sigma[2] && m.sigma[2] > 0);
    const u = await m.project(faces, n);
    const img = tf.tidy(() => m.render(tf.tensor2d(u, [n, 3])));
    assert.deepEqual(img.shape, [n, S, S, 3]);
    const px = await img.data();
    img.dispose();
    let err = 0;
    for (let i = 0; i < px.length; i++) err = Math.max(err, Math.abs(px[i] * 255 - faces[i]));
    assert.ok(err < 1.5, `largest pixel error of the rank-3 reconstruction: ${err}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-pca-'));
    try {
      await m.save(dir);
      const back = loadPcaFaceModel(dir);
      assert.ok(back);
      assert.deepEqual(Array.from(back.components), Array.from(m.components));
      assert.deepEqual(back.description.frame, { template: 'arcface-5pt', size: S });
      back.dispose();
      fs.writeFileSync(path.join(dir, PCA_FILES.weights), Buffer.alloc(12));
      assert.throws(() => loadPcaFaceModel(dir), /pca\.bin has 12 bytes.*delete the facemodel folder/);
      fs.writeFileSync(path.join(dir, PCA_FILES.description), '{oops');
      assert.throws(() => loadPcaFaceModel(dir), /pca\.json is not valid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    m.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left');
  });

  it('clamps latents to ±clamp, and asks for fewer components than faces', async () => {
    const faces = syntheticFaces(10, 2);
    const m = await buildPcaFaceModel(faces, 10, { template: 'arcface-5pt', size: S }, { components: 2, clamp: 3 });
    const z = Float32Array.from([5, -7]);
    m.clampLatents(z);
    assert.deepEqual(Array.from(z), [3, -3]);
    m.dispose();
    await assert.rejects(buildPcaFaceModel(faces, 10, { template: 'arcface-5pt', size: S }, { components: 10, clamp: 3 }),
      /10 components need more than 10 training faces, the attacker has 10; lower faceModel.components to at most 9/);
  });
});
