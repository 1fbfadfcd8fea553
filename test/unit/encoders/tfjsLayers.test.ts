/**
 * The `tfjs-layers` format: a small Keras-style model saved to disk as model.json + weights.bin, loaded
 * through our file IO handler, checked against the config, and equal to the in-memory model's output.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import type { EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { loadEncoder } from '../../../daemon/encoders/load';
import { initTestEngine } from './helpers';

describe('tfjs-layers encoder', () => {
  let dir: string;
  let model: tf.Sequential;

  before(async () => {
    await initTestEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-layers-'));
    model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 6, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      const data = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(data));
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
        format: 'layers-model', modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
  });

  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const config = (patch: Partial<EncoderConfig> = {}): EncoderConfig => ({
    id: 'tiny-layers', format: 'tfjs-layers', model: { path: path.join(dir, 'model.json') }, inputSize: 16, layout: 'NHWC',
    channelOrder: 'RGB', normalization: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
    alignment: { template: 'arcface-5pt', size: 16 }, embeddingDim: 6, l2Normalized: false,
    known: { architecture: true, weights: true, differentiable: true }, description: 'test', license: 'MIT', source: 'test',
    ...patch,
  });

  it('loads from disk and embeds like the in-memory model (after the config normalisation)', async () => {
    const base = tf.memory().numTensors;
    const enc = await loadEncoder(config());
    const x = tf.randomUniform([3, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const want = tf.tidy(() => {
      const y = model.predict(tf.sub(tf.mul(x, 2), 1)) as tf.Tensor2D;
      return tf.div(y, tf.norm(y, 'euclidean', 1, true));
    });
    const wantRows = (await want.array()) as number[][];
    const rows = await enc.embed(x);
    rows.forEach((r, i) => r.forEach((v, k) => assert.ok(Math.abs(v - wantRows[i][k]) < 1e-5, `face ${i} [${k}]`)));
    const viaForward = enc.forward!(x);
    assert.deepStrictEqual(viaForward.shape, [3, 6]);
    tf.dispose([x, want, viaForward]);
    enc.dispose();
    assert.strictEqual(tf.memory().numTensors, base);
  });

  it('checks the output size and input size against the config', async () => {
    await assert.rejects(loadEncoder(config({ embeddingDim: 7 })), /model\.json.*outputs 6 values per face, config embeddingDim is 7/);
    await assert.rejects(loadEncoder(config({ inputSize: 32 })), /model\.json.*model input is \[-1, 16, 16, 3\]/);
  });
});
