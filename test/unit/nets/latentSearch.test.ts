/**
 * Latent search (white-box inversion) with a tiny random generator and a tiny encoder: cosine rises,
 * a NaN target is frozen without touching the others, crop mapping is exact and validated, aborts stop early,
 * and no tensors leak. Runs on the wasm backend.
 */
import * as assert from 'node:assert/strict';
import { tf } from '../../../daemon/tfjs/tf';
import { cropResize, DiffEncoder, Generator, latentSearch, StepInfo } from '../../../daemon/nets/latentSearch';
import { randomValues, wasmEngine } from '../onnx/helpers';

const LATENT = 8;
const DIM = 16;

/** Tiny fixed-weight nets: G: [N,8] → [N,10,10,3] in (0,1); E: [N,8,8,3] → [N,16] L2-normalised. */
function tinyNets(): { G: Generator; E: DiffEncoder; dispose(): void } {
  const w1 = tf.tensor2d(randomValues(LATENT * 5 * 5 * 4, 1), [LATENT, 5 * 5 * 4]);
  const k1 = tf.tensor4d(randomValues(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]); // conv2dTranspose filter [h,w,out,in]
  const k2 = tf.tensor4d(randomValues(3 * 3 * 3 * 6, 3), [3, 3, 3, 6]);
  const w2 = tf.tensor2d(randomValues(4 * 4 * 6 * DIM, 4), [4 * 4 * 6, DIM]);
  const G: Generator = (z) => tf.tidy(() => {
    const h = tf.reshape(tf.relu(tf.matMul(z, w1)), [z.shape[0], 5, 5, 4]) as tf.Tensor4D;
    return tf.sigmoid(tf.conv2dTranspose(h, k1, [z.shape[0], 10, 10, 3], 2, 'same')) as tf.Tensor4D;
  });
  const E: DiffEncoder = (img) => tf.tidy(() => {
    const c = tf.relu(tf.conv2d(tf.sub(img, 0.5) as tf.Tensor4D, k2, 2, 'same'));
    const e = tf.matMul(tf.reshape(c, [img.shape[0], -1]), w2);
    return tf.div(e, tf.norm(e, 2, 1, true)) as tf.Tensor2D;
  });
  return { G, E, dispose: () => tf.dispose([w1, k1, k2, w2]) };
}

describe('nets/latentSearch', function () {
  this.timeout(60000);
  before(() => wasmEngine());

  it('crop+resize is exact for a pure 2× resize and a quarter crop, and differentiable', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const img = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
      const half = cropResize(img, { size: 2 }).dataSync();
      assert.deepEqual(Array.from(half), [2.5, 4.5, 10.5, 12.5]);
      const quarter = cropResize(img, { size: 2, box: [0, 0, 0.5, 0.5] }).dataSync();
      assert.deepEqual(Array.from(quarter), [0, 1, 4, 5]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(cropResize(x as tf.Tensor4D, { size: 2 })))(img).dataSync();
      assert.deepEqual(Array.from(g), new Array(16).fill(0.25));
    });
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects impossible crop mappings clearly', () => {
    tf.tidy(() => {
      const img = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
      assert.throws(() => cropResize(img, { size: 4, box: [-0.2, 0, 1, 1] }), /reaches outside the generator's 8×8 image/);
      assert.throws(() => cropResize(img, { size: 4, box: [0.5, 0, 0.5, 1] }), /has no area/);
      assert.throws(() => cropResize(img, { size: 0 }), /crop.size must be a positive integer/);
    });
  });

  it('raises the cosine to reachable targets, batch-optimised, without leaking tensors', async () => {
    const nets = tinyNets();
    const targets = (tf.tidy(() => nets.E(cropResize(nets.G(tf.randomNormal([4, LATENT], 0, 1, 'float32', 7)), { size: 8 })))
      .arraySync() as number[][]).map((r) => Float32Array.from(r));
    const before = tf.memory().numTensors;
    const seen: StepInfo[] = [];
    const res = await latentSearch(nets.G, nets.E, targets, LATENT, {
      steps: 100, learningRate: 0.1, init: 'normal', priorWeight: 0, seed: 3, crop: { size: 8 }, onStep: (s) => seen.push(s),
    });
    assert.equal(seen.length, 100);
    assert.deepEqual(res.images.shape, [4, 10, 10, 3]);
    res.images.dispose();
    assert.equal(tf.memory().numTensors, before, 'latentSearch leaked tensors');
    const first = seen[0].meanCosine;
    const last = res.cosine.reduce((a, b) => a + b, 0) / res.cosine.length;
    console.log(`    mean cosine: step 1 ${first.toFixed(3)} → best ${last.toFixed(3)}`);
    assert.ok(last > first + 0.05, `cosine did not rise: ${first} → ${last}`);
    assert.ok(last > 0.9, `final mean cosine ${last} too low`);
    assert.deepEqual(res.diverged, [false, false, false, false]);
    assert.equal(res.z.length, 4);
    assert.equal(res.z[0].length, LATENT);
    nets.dispose();
  });

  it('freezes a NaN target and a NaN start, leaving the other targets unaffected', async () => {
    const nets = tinyNets();
    const targets = [0, 1, 2].map((i) => randomValues(DIM, 20 + i));
    const est = [0, 1, 2].map((i) => randomValues(LATENT, 30 + i));
    const opts = { steps: 15, learningRate: 0.05, init: 'estimate' as const, priorWeight: 0.01, crop: { size: 8 } };
    const clean = await latentSearch(nets.G, nets.E, targets, LATENT, { ...opts, estimate: est });
    clean.images.dispose();
    const badTarget = targets.slice(); badTarget[1] = Float32Array.from(targets[1], (v, i) => (i === 3 ? NaN : v));
    const badStart = est.slice(); badStart[2] = Float32Array.from(est[2], (v, i) => (i === 0 ? NaN : v));
    const before = tf.memory().numTensors;
    const res = await latentSearch(nets.G, nets.E, badTarget, LATENT, { ...opts, estimate: badStart });
    res.images.dispose();
    assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    assert.deepEqual(res.diverged, [false, true, true]);
    assert.ok(Math.abs(res.cosine[0] - clean.cosine[0]) < 1e-5, `target 0 changed: ${res.cosine[0]} vs ${clean.cosine[0]}`);
    for (let k = 0; k < LATENT; k++) assert.ok(Math.abs(res.z[0][k] - clean.z[0][k]) < 1e-4, 'z of target 0 changed');
    assert.ok(Number.isFinite(clean.cosine[0]) && clean.cosine[0] >= -1 && clean.cosine[0] <= 1, `cosine ${clean.cosine[0]}`);
    nets.dispose();
  });

  it('stops when aborted and validates its options', async () => {
    const nets = tinyNets();
    const ac = new AbortController();
    const t = [randomValues(DIM, 1)];
    const res = await latentSearch(nets.G, nets.E, t, LATENT, {
      steps: 50, learningRate: 0.05, init: 'zeros', priorWeight: 0, crop: { size: 8 }, signal: ac.signal,
      onStep: (s) => { if (s.step === 3) ac.abort(); },
    });
    res.images.dispose();
    assert.equal(res.aborted, true);
    assert.equal(res.stepsRun, 3);
    await assert.rejects(latentSearch(nets.G, nets.E, t, LATENT, { steps: 5, learningRate: 0.1, init: 'estimate', priorWeight: 0 }),
      /init 'estimate' needs one estimate per target/);
    // Without the crop the 10×10 generator output does not fit the 8×8 encoder: the error names the shapes.
    await assert.rejects(latentSearch(nets.G, nets.E, t, LATENT, { steps: 5, learningRate: 0.1, init: 'zeros', priorWeight: 0 }),
      /the encoder cannot take the generator's \[1,10,10,3\] images/);
    nets.dispose();
  });
});
