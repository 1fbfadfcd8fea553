/**
 * Model equivalence of the imported faceplugin fr_feature.onnx (ArcFace-style, [1,3,112,112] → 512) against
 * onnxruntime-node on 20 LFW faces, its input gradient (finite, and matching central differences), and
 * tensor hygiene. Runs on the wasm backend.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tf } from '../../../daemon/tfjs/tf';
import { loadOnnxAsTf, TfOnnxModel } from '../../../daemon/onnx/model';
import { cosine, facepluginNchw, FR_FEATURE, lfwCrops, LFW_IMAGES, maxAbsDiff, ortRun, wasmEngine } from './helpers';

const N = 20;

describe('onnx: fr_feature.onnx imported into TF.js', function () {
  this.timeout(180000);
  let model: TfOnnxModel;
  let crops: Float32Array;

  before(async function () {
    if (!fs.existsSync(FR_FEATURE)) {
      console.log(`    skipped: ${FR_FEATURE} missing (run scripts/fetch-model-packages.js)`);
      this.skip();
    }
    if (!fs.existsSync(LFW_IMAGES)) {
      console.log(`    skipped: LFW not found at ${LFW_IMAGES}`);
      this.skip();
    }
    await wasmEngine();
    model = await loadOnnxAsTf(FR_FEATURE);
    crops = await lfwCrops(N);
  });
  after(() => model?.dispose());

  it('describes its input and output', () => {
    assert.equal(model.inputName, 'input');
    assert.deepEqual(model.inputShape, [1, 3, 112, 112]);
    assert.deepEqual(model.outputNames, ['output']);
    assert.equal(model.opCounts.Conv, 50);
  });

  it('matches onnxruntime-node on 20 LFW faces (batched, NCHW and NHWC inputs)', async () => {
    const nchw = facepluginNchw(crops, N);
    const ref: Float32Array[] = [];
    for (let i = 0; i < N; i++) {
      const one = nchw.subarray(i * 3 * 112 * 112, (i + 1) * 3 * 112 * 112);
      ref.push((await ortRun(FR_FEATURE, { input: { data: one, dims: [1, 3, 112, 112] } })).output);
    }
    const before = tf.memory().numTensors;
    const [a, b] = tf.tidy(() => {
      const x = tf.tensor4d(nchw, [N, 3, 112, 112]);
      const ya = model.execute({ input: x }).output;
      const xh = tf.sub(tf.div(tf.mul(tf.tensor4d(crops, [N, 112, 112, 3]), 255), 128), 127 / 128);
      const yb = model.execute({ input: xh }, { layout: 'nhwc' }).output;
      return [ya.arraySync() as number[][], yb.arraySync() as number[][]];
    });
    assert.equal(tf.memory().numTensors, before, 'execute leaked tensors');
    let worst = 0; let worstCos = 1;
    for (let i = 0; i < N; i++) {
      for (const got of [a[i], b[i]]) {
        assert.equal(got.length, 512);
        worst = Math.max(worst, maxAbsDiff(got, ref[i]));
        worstCos = Math.min(worstCos, cosine(got, ref[i]));
      }
    }
    console.log(`    max |tf − ort| = ${worst.toExponential(2)}, min cosine = ${worstCos.toFixed(8)}`);
    assert.ok(worst <= 1e-4, `max abs diff ${worst} > 1e-4`);
    assert.ok(worstCos >= 0.99999, `cosine ${worstCos} < 0.99999`);
  });

  it('has a finite input gradient that matches central differences', () => {
    const before = tf.memory().numTensors;
    const w = tf.tensor1d(Array.from({ length: 512 }, (_, i) => Math.sin(i)));
    const x0 = tf.tidy(() => tf.sub(tf.div(tf.mul(tf.tensor4d(crops.subarray(0, 2 * 112 * 112 * 3), [2, 112, 112, 3]), 255), 128), 127 / 128));
    const f = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(model.execute({ input: x }, { layout: 'nhwc' }).output, w));
    const g = tf.grad(f)(x0);
    const gd = g.dataSync();
    assert.ok(gd.every(Number.isFinite), 'gradient has non-finite entries');
    // The two coordinates with the largest |gradient| (robust against float32 noise).
    const order = Array.from(gd.keys()).sort((i, j) => Math.abs(gd[j]) - Math.abs(gd[i])).slice(0, 2);
    const eps = 2e-3;
    const base = x0.dataSync();
    for (const k of order) {
      const fd = tf.tidy(() => {
        const plus = base.slice(); plus[k] += eps;
        const minus = base.slice(); minus[k] -= eps;
        const fp = f(tf.tensor4d(plus, x0.shape as [number, number, number, number])).dataSync()[0];
        const fm = f(tf.tensor4d(minus, x0.shape as [number, number, number, number])).dataSync()[0];
        return (fp - fm) / (2 * eps);
      });
      const rel = Math.abs(fd - gd[k]) / Math.abs(gd[k]);
      console.log(`    coord ${k}: autodiff ${gd[k].toExponential(4)}, central difference ${fd.toExponential(4)} (rel ${rel.toExponential(1)})`);
      assert.ok(rel < 0.03, `gradient mismatch at ${k}: ${gd[k]} vs ${fd}`);
    }
    tf.dispose([g, w, x0]);
    assert.equal(tf.memory().numTensors, before, 'gradient computation leaked tensors');
  });

  it('counts multiply-accumulates per image', () => {
    const x = tf.zeros([1, 3, 112, 112]);
    const m = model.countMacs({ input: x });
    x.dispose();
    console.log(`    fr_feature: ${(m.total / 1e6).toFixed(1)} M MACs = ${(2 * m.total / 1e9).toFixed(3)} GFLOP per image`);
    assert.ok(m.total > 1e8 && m.total < 1e9, `implausible MAC count ${m.total}`);
  });

  it('rejects a wrong input shape with a clear error', () => {
    assert.throws(() => tf.tidy(() => model.execute({ input: tf.zeros([1, 3, 96, 96]) })), /fr_feature\.onnx: input 'input' has shape \[1,3,96,96\]/);
    assert.throws(() => tf.tidy(() => model.execute({ image: tf.zeros([1, 3, 112, 112]) })), /input 'input' not given/);
  });
});
