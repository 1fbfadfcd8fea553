/**
 * The decoder's training options on the TF.js reference, on reduced widths: the 112-px output in
 * the ArcFace frame (7×7 start, fewer FLOPs than 128), the residual on a fixed linear base (starts exactly at
 * it, keeps the training noise out of it, saved and loaded with the checkpoint), the SSIM and identity terms
 * (the loss is the documented sum), the settable learning rate, option checks and tensor leaks.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder, DecoderOptions, decoderGeometry, flopsPerImage, identityLoss, linearBaseShapes, validateDecoderOptions } from '../../../daemon/nets/decoder';
import { ssimLuma } from '../../../daemon/nets/layers/ssim';
import { wasmEngine, useTmpDir } from '../tfjs/helpers';

const small: DecoderOptions = { inputDim: 8, outputSize: 112, residualLayers: 1, noiseVariance: 0, loss: 'l1', learningRate: 1e-2, seed: 3, baseChannels: 32 };

function linearInit(o: DecoderOptions, seed = 1): { kernel: Float32Array; bias: Float32Array } {
  const sh = linearBaseShapes(o);
  return tf.tidy(() => ({
    kernel: tf.randomUniform([sh.kernel[0] * sh.kernel[1]], -0.05, 0.05, 'float32', seed).dataSync() as Float32Array,
    bias: tf.randomUniform([sh.bias[0]], 0.3, 0.7, 'float32', seed + 1).dataSync() as Float32Array,
  }));
}

function batch(n: number, o: DecoderOptions, seed: number): { z: tf.Tensor2D; t: tf.Tensor4D } {
  return tf.tidy(() => ({
    z: tf.randomNormal([n, o.inputDim], 0, 0.3, 'float32', seed) as tf.Tensor2D,
    t: tf.randomUniform([n, o.outputSize, o.outputSize, 3], 0, 1, 'float32', seed + 1) as tf.Tensor4D,
  }));
}

/** A toy differentiable "surrogate": a fixed linear map of the 8×8-pooled image, L2-normalised. */
function toySurrogate(S: number, dim = 6): { embed: (y: tf.Tensor4D) => tf.Tensor2D; weights: tf.Tensor2D } {
  const p = S / 8;
  const weights = tf.randomNormal([8 * 8 * 3, dim], 0, 1, 'float32', 42) as tf.Tensor2D;
  return {
    weights,
    embed: (y) => {
      const pooled = tf.reshape(tf.avgPool(y, p, p, 'valid'), [y.shape[0], 8 * 8 * 3]);
      const e = tf.matMul(pooled, weights);
      return tf.div(e, tf.norm(e, 'euclidean', 1, true)) as tf.Tensor2D;
    },
  };
}

describe('nets/decoder: training options', function () {
  this.timeout(120000);
  const tmp = useTmpDir('faceinv-decopts-');

  it('renders 112² in four doublings from a 7×7 map, at fewer FLOPs than the seed\'s 128²', () => {
    assert.deepEqual(decoderGeometry({ outputSize: 112 }), { startSide: 7, base: 256, blocks: [128, 64, 32] });
    assert.deepEqual(decoderGeometry({ outputSize: 128 }), { startSide: 4, base: 512, blocks: [256, 128, 64, 32] });
    const w1 = flopsPerImage({ inputDim: 512, outputSize: 128, residualLayers: 1 });
    const f112 = flopsPerImage({ inputDim: 512, outputSize: 112, residualLayers: 1 });
    assert.ok(f112 < 0.6 * w1, `112²: ${f112} FLOPs vs 128²: ${w1}`);
    const d = Decoder.create(small);
    try {
      const { z } = batch(2, small, 1);
      const y = d.forward(z, false);
      assert.deepEqual(y.shape, [2, 112, 112, 3]);
      tf.dispose([z, y]);
    } finally {
      d.dispose();
    }
  });

  it('linearBase starts exactly at the linear inverse, keeps the input noise out of it, and round-trips through save/load', async () => {
    const o = { ...small, linearBase: true, noiseVariance: 0.01 };
    assert.throws(() => Decoder.create(o), /linearBase needs the fitted base/);
    const lin = linearInit(o);
    const d = Decoder.create(o, lin);
    const { z, t } = batch(3, o, 5);
    try {
      const want = tf.tidy(() => tf.clipByValue(tf.reshape(tf.add(tf.matMul(z, tf.tensor2d(lin.kernel, [8, 112 * 112 * 3])), tf.tensor1d(lin.bias)), [3, 112, 112, 3]), 0, 1));
      const y0 = d.forward(z, false);
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(y0, want))).dataSync()[0]) < 1e-6, 'a fresh decoder outputs the linear base');
      // Training mode adds noise to the network's input, not to the base: with the correction at zero the
      // training forward is still the clean base.
      const yTrain = d.forward(z, true);
      assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(tf.clipByValue(yTrain, 0, 1), want))).dataSync()[0]) < 1e-6, 'no noise through the fixed base');
      const losses = Array.from({ length: 8 }, () => d.trainStep(z, t));
      assert.ok(losses[7] < losses[0], `the correction learns (training loss ${losses[0]} → ${losses[7]})`);
      const dir = path.join(tmp.dir, 'lin');
      await d.save(dir);
      const back = await Decoder.load(dir);
      const a = d.forward(z, false); const b = back.forward(z, false);
      assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]), 0);
      const names = (await back.exportState()).tensors.map((x) => x.name);
      assert.ok(names.includes('base/kernel') && names.includes('base/bias') && !names.includes('base/kernel/adam_m'), 'the base is saved and never trained');
      tf.dispose([want, y0, yTrain, a, b]);
      back.dispose();
    } finally {
      tf.dispose([z, t]);
      d.dispose();
    }
  });

  it('the loss is pixel + w·(1 − SSIM) + w·mean(1 − cos(F(y), f_t))', () => {
    const o = { ...small, ssimWeight: 0.75, identityWeight: 0.3 };
    const d = Decoder.create(o);
    const sur = toySurrogate(112);
    const { z, t } = batch(2, o, 9);
    const idT = tf.tidy(() => sur.embed(t));
    try {
      assert.throws(() => d.trainStep(z, t, idT), /no surrogate encoder is set/);
      d.setIdentityTerm(sur.embed);
      assert.throws(() => d.trainStep(z, t), /needs the surrogate's embeddings of the targets/);
      const got = d.evalLoss(z, t, idT);
      const want = tf.tidy(() => {
        const y = d.forward(z, false);
        const l1 = tf.mean(tf.abs(tf.sub(y, t)));
        return tf.addN([l1, tf.mul(tf.sub(1, ssimLuma(y, t)), 0.75), tf.mul(identityLoss(sur.embed(y), idT), 0.3)]).dataSync()[0];
      });
      assert.ok(Math.abs(got - want) < 1e-5, `loss ${got}, expected ${want}`);
      const plain = Decoder.create({ ...small });
      assert.ok(Math.abs(plain.evalLoss(z, t) - tf.tidy(() => tf.mean(tf.abs(tf.sub(plain.forward(z, false), t))).dataSync()[0])) < 1e-6, 'no extra terms by default');
      plain.dispose();
      // Gradients reach the parameters through both extra terms.
      const before = d.evalLoss(z, t, idT);
      for (let i = 0; i < 5; i++) d.trainStep(z, t, idT);
      assert.ok(d.evalLoss(z, t, idT) < before);
    } finally {
      tf.dispose([z, t, idT, sur.weights]);
      d.dispose();
    }
  });

  it('SSIM is 1 for identical images and lower for different ones', () => {
    const { t } = batch(2, small, 2);
    const u = tf.randomUniform(t.shape, 0, 1, 'float32', 77) as tf.Tensor4D;
    assert.ok(Math.abs(tf.tidy(() => ssimLuma(t, t).dataSync()[0]) - 1) < 1e-5);
    assert.ok(tf.tidy(() => ssimLuma(t, u).dataSync()[0]) < 0.2);
    assert.throws(() => ssimLuma(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D, tf.zeros([1, 8, 8, 3]) as tf.Tensor4D), /at least 11×11/);
    tf.dispose([t, u]);
  });

  it('setLearningRate changes the step size (a schedule) and refuses non-finite values', () => {
    const { z, t } = batch(2, small, 4);
    const a = Decoder.create(small); const b = Decoder.create(small);
    try {
      b.setLearningRate(small.learningRate / 10);
      assert.equal(b.learningRate, small.learningRate / 10);
      const w0 = tf.tidy(() => a.forward(z, false));
      a.trainStep(z, t); b.trainStep(z, t);
      const da = tf.tidy(() => tf.mean(tf.abs(tf.sub(a.forward(z, false), w0))).dataSync()[0]);
      const db = tf.tidy(() => tf.mean(tf.abs(tf.sub(b.forward(z, false), w0))).dataSync()[0]);
      assert.ok(db < da / 3, `a tenth of the learning rate moves the output less (${db} vs ${da})`);
      for (const bad of [0, -1, NaN, Infinity]) assert.throws(() => a.setLearningRate(bad), /finite number > 0/);
      w0.dispose();
    } finally {
      tf.dispose([z, t]);
      a.dispose(); b.dispose();
    }
  });

  it('refuses bad option values with the field named', () => {
    assert.throws(() => validateDecoderOptions({ ...small, outputSize: 96 as never }), /outputSize must be 64, 112 or 128, got 96/);
    for (const bad of [-0.1, NaN, Infinity]) {
      assert.throws(() => validateDecoderOptions({ ...small, identityWeight: bad }), /identityWeight must be a finite number ≥ 0/);
      assert.throws(() => validateDecoderOptions({ ...small, ssimWeight: bad }), /ssimWeight must be a finite number ≥ 0/);
    }
    assert.throws(() => validateDecoderOptions({ ...small, linearBase: 'yes' as never }), /linearBase must be true or false/);
    assert.throws(() => Decoder.create({ ...small, linearBase: true }, { kernel: new Float32Array(3), bias: new Float32Array(3) }), /linear base must be \[8,37632\]/);
  });

  it('leaves no tensors behind with every option on', () => {
    const o = { ...small, linearBase: true, ssimWeight: 0.5, identityWeight: 0.2, noiseVariance: 0.001 };
    const sur = toySurrogate(112);
    const { z, t } = batch(2, o, 6);
    const idT = tf.tidy(() => sur.embed(t));
    const before = tf.memory().numTensors;
    const d = Decoder.create(o, linearInit(o));
    d.setIdentityTerm(sur.embed);
    d.trainStep(z, t, idT);
    d.evalLoss(z, t, idT);
    d.forward(z, false).dispose();
    d.dispose();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([z, t, idT, sur.weights]);
  });
});
