/**
 * The boundary walk on faces (daemon/attack/oracle/walkFaces.ts), with a toy PCA face model and a random linear
 * "encoder" of the pixels as the system: the face at walk budget 0 is the accepted photo itself, byte for byte
 * (its residual kept); every face it returns is accepted by the system; the last one is closer to the enrolled
 * template than the photo; the system counted exactly the walk's queries, within the budget; no tensor is left
 * behind; a photo of the wrong size is refused.
 */
import * as assert from 'node:assert/strict';
import { buildPcaFaceModel, type PcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { walkFromPhoto } from '../../../daemon/attack/oracle/walkFaces';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';

const S = 8, D = S * S * 3, DIM = 16;

function faces(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n * D }, (_, i) => Math.round(128 + 60 * Math.sin(i * 0.1 + r() * 2) * r()));
}

/** A random linear "encoder" of the pixels (unit templates), counting the faces it is asked about. */
function toySystem() {
  const r = mulberry32(9);
  const W = Float32Array.from({ length: D * DIM }, () => r() * 2 - 1);
  let asked = 0;
  const embed = (px: Float32Array, i: number) => {
    const e = new Float64Array(DIM);
    for (let d = 0; d < D; d++) for (let k = 0; k < DIM; k++) e[k] += (px[i * D + d] - 0.5) * W[d * DIM + k];
    const n = Math.hypot(...e);
    return e.map((v) => v / n);
  };
  const templateOf = (crop: Uint8Array) => embed(Float32Array.from(crop, (v) => v / 255), 0);
  return { templateOf, embed, asked: () => asked, count: (n: number) => { asked += n; } };
}

const cos = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('boundary walk on faces (PCA latent + the photo\'s residual)', function () {
  this.timeout(120000);
  let model: PcaFaceModel;
  before(async () => {
    await initEngine({ backend: 'wasm' });
    model = await buildPcaFaceModel(faces(80, 1), 80, { template: 'arcface-5pt', size: S }, { components: 12, clamp: 3 });
  });
  after(() => model?.dispose());

  it('starts at the photo, keeps every face accepted, raises the cosine, counts every query, leaks no tensor', async () => {
    const sys = toySystem();
    const photo = faces(1, 5);
    const enrolled = sys.templateOf(faces(1, 6));
    // The system accepts the photo, barely: its threshold just below the photo's score.
    const thr = cos(sys.templateOf(photo), enrolled) - 0.02;
    const accepts = async (x: tf.Tensor4D) => {
      const px = (await x.data()) as Float32Array;
      sys.count(x.shape[0]);
      return Array.from({ length: x.shape[0] }, (_, i) => cos(sys.embed(px, i), enrolled) >= thr);
    };
    const before = tf.memory().numTensors;
    const res = await walkFromPhoto(model, photo, accepts, { budgets: [0, 100, 400], directions: 10, subspace: 12, radius: 1, maxRadius: 8, stepScale: 0.5, halvings: 2, seed: 1 });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
    assert.deepEqual(Array.from(res.faces[0]), Array.from(photo));
    assert.equal(res.queries, sys.asked());
    assert.ok(res.queries <= 400);
    const c = res.faces.map((f) => cos(sys.templateOf(f), enrolled));
    c.forEach((v) => assert.ok(v >= thr, `a returned face is rejected: ${v} < ${thr}`));
    assert.ok(c[2] > c[0] + 0.05, `cosine ${c.map((v) => v.toFixed(3)).join(' → ')}`);
  });

  it('refuses a photo that is not in the model\'s frame', async () => {
    await assert.rejects(walkFromPhoto(model, new Uint8Array(10), async () => [], { budgets: [10], directions: 2, subspace: 4, radius: 1, maxRadius: 2, stepScale: 0.5, halvings: 0, seed: 0 }), /photo has 10 values/);
  });
});
