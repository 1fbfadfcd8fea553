/**
 * The seed decoder W1 (daemon/nets/decoder.ts): shapes and range, training reduces the loss on a fixed
 * batch, save/load gives identical outputs and identical continued training, no tensor leaks, FLOP count,
 * and clear errors for bad options and inputs. Small configurations keep this fast on 2 cores.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder, DecoderOptions, flopsPerImage } from '../../../daemon/nets/decoder';
import { BatchStats, BN_EPSILON, batchNormTrain } from '../../../daemon/nets/layers/batchNorm';
import { wasmEngine, useTmpDir } from '../tfjs/helpers';

const small: DecoderOptions = { inputDim: 16, outputSize: 64, residualLayers: 1, noiseVariance: 0.001, loss: 'l1', learningRate: 1e-2, seed: 7, baseChannels: 64 };

/** Random templates and face-like smooth targets (a vertical ramp per colour plus per-image noise). */
function batch(n: number, d: number, s: number, seed: number): { z: tf.Tensor2D; t: tf.Tensor4D } {
  return tf.tidy(() => {
    const ramp = tf.linspace(0.2, 0.8, s).reshape([1, s, 1, 1]);
    const colour = tf.tensor([1, 0.8, 0.6]).reshape([1, 1, 1, 3]);
    const noise = tf.randomUniform([n, s, s, 3], -0.1, 0.1, 'float32', seed + 1);
    return {
      z: tf.randomNormal([n, d], 0, 1, 'float32', seed) as tf.Tensor2D,
      t: tf.clipByValue(tf.add(tf.mul(ramp, colour), noise), 0, 1) as tf.Tensor4D,
    };
  });
}

describe('nets/decoder (W1)', function () {
  this.timeout(120000);
  const tmp = useTmpDir('faceinv-decoder-');

  it('maps [N, D] to [N, S, S, 3] in [0, 1] for both output sizes and residual settings', () => {
    for (const [outputSize, residualLayers] of [[64, 0], [64, 2], [128, 1]] as const) {
      const d = Decoder.create({ ...small, outputSize, residualLayers });
      const z = tf.randomNormal([2, 16], 0, 1, 'float32', 1) as tf.Tensor2D;
      for (const training of [false, true]) {
        const y = d.forward(z, training);
        assert.deepStrictEqual(y.shape, [2, outputSize, outputSize, 3]);
        const v = y.dataSync();
        assert.ok(v.every((x) => x >= 0 && x <= 1 && Number.isFinite(x)));
        y.dispose();
      }
      z.dispose();
      d.dispose();
    }
  });

  for (const loss of ['l1', 'l2', 'l1+l2'] as const) {
    it(`trainStep reduces the ${loss} loss on a fixed batch`, () => {
      const d = Decoder.create({ ...small, loss });
      const { z, t } = batch(4, 16, 64, 11);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) losses.push(d.trainStep(z, t));
      assert.strictEqual(d.step, 8);
      assert.ok(losses[7] < losses[0] * 0.8, `losses ${losses.map((l) => l.toFixed(4)).join(' ')}`);
      assert.ok(d.evalLoss(z, t) > 0);
      tf.dispose([z, t]);
      d.dispose();
    });
  }

  it('save/load round trip: identical outputs, and training continues identically', async () => {
    const a = Decoder.create({ ...small, residualLayers: 2 });
    const { z, t } = batch(4, 16, 64, 21);
    for (let i = 0; i < 3; i++) a.trainStep(z, t);
    const dir = path.join(tmp.dir, 'w1');
    await a.save(dir);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['decoder.json', 'weights.bin']);
    assert.deepStrictEqual(fs.readdirSync(tmp.dir).filter((f) => f.includes('.tmp.dir-')), []);
    const b = await Decoder.load(dir);
    assert.deepStrictEqual(b.options, a.options);
    assert.strictEqual(b.step, 3);
    const ya = a.forward(z, false), yb = b.forward(z, false);
    assert.deepStrictEqual(Array.from(yb.dataSync()), Array.from(ya.dataSync()));
    tf.dispose([ya, yb]);
    for (let i = 0; i < 2; i++) assert.strictEqual(b.trainStep(z, t), a.trainStep(z, t));
    const ya2 = a.forward(z, false), yb2 = b.forward(z, false);
    assert.deepStrictEqual(Array.from(yb2.dataSync()), Array.from(ya2.dataSync()));
    tf.dispose([ya2, yb2, z, t]);
    // Saving over an existing checkpoint replaces it.
    await b.save(dir);
    const c = await Decoder.load(dir);
    assert.strictEqual(c.step, 5);
    [a, b, c].forEach((d) => d.dispose());
  });

  it('load rejects a damaged checkpoint with the file named', async () => {
    const d = Decoder.create(small);
    const dir = path.join(tmp.dir, 'bad');
    await d.save(dir);
    d.dispose();
    fs.truncateSync(path.join(dir, 'weights.bin'), 100);
    await assert.rejects(Decoder.load(dir), /weights\.bin/);
    fs.writeFileSync(path.join(dir, 'decoder.json'), '{"format":"other"}');
    await assert.rejects(Decoder.load(dir), /decoder\.json is not a faceinv-decoder/);
  });

  it('leaves no tensors behind (forward, trainStep, evalLoss, save, dispose)', async () => {
    const base = tf.memory().numTensors;
    const d = Decoder.create(small);
    const afterCreate = tf.memory().numTensors;
    const { z, t } = batch(2, 16, 64, 31);
    d.trainStep(z, t);
    d.forward(z, true).dispose();
    d.forward(z, false).dispose();
    d.evalLoss(z, t);
    await d.save(path.join(tmp.dir, 'leak'));
    tf.dispose([z, t]);
    assert.strictEqual(tf.memory().numTensors, afterCreate);
    d.dispose();
    assert.strictEqual(tf.memory().numTensors, base);
  });

  for (const [shape, relu] of [[[4, 3, 5, 6], true], [[4, 3, 5, 6], false], [[8, 10], true]] as const) {
    it(`fused batch-norm gradients match autodiff of the textbook formula (x [${shape}], relu ${relu})`, () => {
      const c = shape[shape.length - 1];
      const axes = shape.slice(0, -1).map((_, i) => i);
      const x = tf.randomNormal([...shape], 1, 2, 'float32', 41);
      const gamma = tf.randomNormal([c], 1, 0.3, 'float32', 42) as tf.Tensor1D;
      const beta = tf.randomNormal([c], 0, 0.3, 'float32', 43) as tf.Tensor1D;
      const w = tf.randomNormal([...shape], 0, 1, 'float32', 44);
      const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, axes);
        const y = tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), g), b);
        return tf.sum(tf.mul(relu ? tf.relu(y) : y, w));
      };
      const stats: BatchStats[] = [];
      const before = tf.memory().numTensors;
      const ours = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, relu, stats), w)))([x, gamma, beta]);
      const ref = tf.grads(reference)([x, gamma, beta]);
      ours.forEach((g, i) => {
        const a = g.dataSync(), b = ref[i].dataSync();
        let d = 0, m = 0;
        for (let k = 0; k < a.length; k++) { d = Math.max(d, Math.abs(a[k] - b[k])); m = Math.max(m, Math.abs(b[k])); }
        assert.ok(d / m < 1e-4, `gradient ${['x', 'gamma', 'beta'][i]}: relative error ${d / m}`);
      });
      assert.strictEqual(stats.length, 1);
      const { mean, variance } = tf.moments(x, axes);
      assert.ok(Math.abs(stats[0].mean.dataSync()[0] - mean.dataSync()[0]) < 1e-5);
      tf.dispose([...ours, ...ref, mean, variance, stats[0].mean, stats[0].variance]);
      assert.strictEqual(tf.memory().numTensors, before);
      tf.dispose([x, gamma, beta, w]);
    });
  }

  it('counts forward FLOPs of W1 (D=512, 128², one residual layer) as 2 × 257,949,696 MACs', () => {
    // dense 512·8192 + 4 up-blocks of 33,554,432 MACs + 3 residual 3×3 convs of 37,748,736 + final 4096·16·32·3
    assert.strictEqual(flopsPerImage({ inputDim: 512, outputSize: 128, residualLayers: 1 }), 2 * 257949696);
    assert.strictEqual(flopsPerImage({ inputDim: 512, outputSize: 128, residualLayers: 0 }), 2 * (257949696 - 3 * 37748736));
    assert.strictEqual(flopsPerImage({ inputDim: 512, outputSize: 128, residualLayers: 1, baseChannels: 512 }), 2 * 257949696);
  });

  it('rejects bad options and inputs with the field named', () => {
    assert.throws(() => Decoder.create({ ...small, outputSize: 96 as 64 }), /outputSize must be 64, 112 or 128, got 96/);
    assert.throws(() => Decoder.create({ ...small, residualLayers: 3 as 1 }), /residualLayers/);
    assert.throws(() => Decoder.create({ ...small, loss: 'l3' as 'l1' }), /loss/);
    assert.throws(() => Decoder.create({ ...small, learningRate: 0 }), /learningRate must be a number > 0/);
    assert.throws(() => Decoder.create({ ...small, baseChannels: 40 }), /baseChannels must be a multiple of 16/);
    const d = Decoder.create(small);
    const z = tf.zeros([2, 15]) as tf.Tensor2D;
    assert.throws(() => d.forward(z, false), /z must be \[N, 16\], got \[2,15\]/);
    const z2 = tf.zeros([2, 16]) as tf.Tensor2D, t = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    assert.throws(() => d.trainStep(z2, t), /target must be \[2, 64, 64, 3\]/);
    tf.dispose([z, z2, t]);
    d.dispose();
    assert.throws(() => d.forward(z2, false), /disposed/);
  });
});
