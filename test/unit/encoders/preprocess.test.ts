/** The config → model-input mapping: (255·x − mean)/std per channel, RGB→BGR, NHWC→NCHW, and L2 rows. */
import * as assert from 'node:assert';
import { tf } from '../../../daemon/tfjs/tf';
import { checkAlignedBatch, l2NormalizeInPlace, l2NormalizeRows, splitRows, toModelInput } from '../../../daemon/encoders/preprocess';
import { initTestEngine } from './helpers';

describe('encoder preprocessing', () => {
  before(initTestEngine);

  // One 1×2×2 image; pixel (r, g, b) values in [0,1].
  const pixels = [[0.0, 0.5, 1.0], [0.2, 0.4, 0.6], [1.0, 0.0, 0.5], [0.1, 0.9, 0.3]];
  const img = () => tf.tensor4d(pixels.flat(), [1, 2, 2, 3]);
  const norm = { mean: [10, 20, 30] as [number, number, number], std: [2, 4, 5] as [number, number, number] };

  it('applies (255·x − mean) / std per channel, NHWC, RGB', () => {
    const x = img();
    const y = toModelInput(x, { inputSize: 2, layout: 'NHWC', channelOrder: 'RGB', normalization: norm });
    const got = Array.from(y.dataSync());
    const want = pixels.flatMap((p) => p.map((v, c) => (255 * v - norm.mean[c]) / norm.std[c]));
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-3, `${i}: ${v} vs ${want[i]}`));
    tf.dispose([x, y]);
  });

  it('swaps to BGR before normalising with BGR-ordered mean/std, and transposes to NCHW', () => {
    const x = img();
    const y = toModelInput(x, { inputSize: 2, layout: 'NCHW', channelOrder: 'BGR', normalization: norm });
    assert.deepStrictEqual(y.shape, [1, 3, 2, 2]);
    const got = y.arraySync()[0];
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 4; p++) {
        const want = (255 * pixels[p][2 - c] - norm.mean[c]) / norm.std[c];
        const v = got[c][Math.floor(p / 2)][p % 2];
        assert.ok(Math.abs(v - want) < 1e-3, `c${c} p${p}: ${v} vs ${want}`);
      }
    }
    tf.dispose([x, y]);
  });

  it('rejects a wrong-sized, wrong-rank or non-float batch with the encoder named', () => {
    const x = tf.zeros([1, 100, 100, 3]);
    assert.throws(() => checkAlignedBatch(x, 112, 'encoder "e" (m.onnx)'), /encoder "e" \(m\.onnx\): input must be aligned crops \[N, 112, 112, 3\].*got \[1, 100, 100, 3\]/);
    const y = tf.zeros([112, 112, 3]);
    assert.throws(() => checkAlignedBatch(y, 112, 'E'), /got \[112, 112, 3\]/);
    const z = tf.zeros([1, 112, 112, 3], 'int32');
    assert.throws(() => checkAlignedBatch(z, 112, 'E'), /float32/);
    tf.dispose([x, y, z]);
  });

  it('L2-normalises rows (tensor and in place) and splits rows', () => {
    const x = tf.tensor2d([[3, 4], [0, 0]]);
    const y = l2NormalizeRows(x);
    const v = y.arraySync();
    assert.ok(Math.abs(v[0][0] - 0.6) < 1e-6 && Math.abs(v[0][1] - 0.8) < 1e-6);
    assert.deepStrictEqual(v[1], [0, 0]);
    tf.dispose([x, y]);
    assert.deepStrictEqual(Array.from(l2NormalizeInPlace(Float32Array.from([0, 5]))), [0, 1]);
    assert.deepStrictEqual(splitRows(Float32Array.from([1, 2, 3, 4]), 2, 2).map((r) => Array.from(r)), [[1, 2], [3, 4]]);
    assert.throws(() => splitRows(Float32Array.from([1, 2, 3]), 2, 2), /3 values is not 2 rows of 2/);
  });

  it('leaves no tensors behind', () => {
    const base = tf.memory().numTensors;
    const x = img();
    tf.dispose([toModelInput(x, { inputSize: 2, layout: 'NCHW', channelOrder: 'BGR', normalization: norm }), x]);
    assert.strictEqual(tf.memory().numTensors, base);
  });
});
