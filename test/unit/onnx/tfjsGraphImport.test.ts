/**
 * TF.js graph models on ONNX Runtime (daemon/onnx/tfjsGraphImport.ts, daemon/encoders/tfjsOrtEmbedding.ts):
 * a small graph with the awkward cases (TF's SAME padding on odd and even sizes with stride 2, depthwise
 * with a channel multiplier, per-channel constants, relu6 as Minimum/Maximum, Mean, a fused MatMul) gives
 * TF.js's outputs; an op outside the import is an error naming the node; the shipped human-faceres embeds on
 * ONNX Runtime with TF.js's embeddings on a real LFW face, and stays on TF.js when asked to.
 */
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { tf } from '../../../daemon/tfjs/tf';
import { tfjsGraphToOnnx, type TfNode, type TfWeight } from '../../../daemon/onnx/tfjsGraphImport';
import { loadEncoderById } from '../../../daemon/encoders/load';
import type { TfjsModelEncoder } from '../../../daemon/encoders/tfjsModelEncoder';
import { values, wasmBackend } from '../ort/helpers';
import { CROP_BOX, lfwAvailable, lfwFile, loadCrops } from '../encoders/helpers';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const list = (v: number[]) => ({ list: { i: v.map(String) } });
const conv = (name: string, input: string, kernel: string, stride: number, op = 'Conv2D'): TfNode => ({
  name, op, input: [input, kernel],
  attr: { strides: list([1, stride, stride, 1]), dilations: list([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') } },
});

function weights(): Map<string, TfWeight> {
  const w = new Map<string, TfWeight>();
  w.set('k1', { data: values(3 * 3 * 3 * 4, 1), shape: [3, 3, 3, 4] });
  w.set('dw', { data: values(3 * 3 * 4 * 2, 2), shape: [3, 3, 4, 2] });
  w.set('scale', { data: values(8, 3, 0.5, 1.5), shape: [8] });
  w.set('shift', { data: values(8, 4), shape: [8] });
  w.set('six', { data: Float32Array.of(6), shape: [] });
  w.set('zero', { data: Float32Array.of(0), shape: [] });
  w.set('axes', { data: Float32Array.of(1, 2), shape: [2] });
  w.set('fc', { data: values(8 * 5, 5), shape: [8, 5] });
  w.set('fcb', { data: values(5, 6), shape: [5] });
  return w;
}

const nodes: TfNode[] = [
  { name: 'in', op: 'Placeholder' },
  ...['k1', 'dw', 'scale', 'shift', 'six', 'zero', 'axes', 'fc', 'fcb'].map((name) => ({ name, op: 'Const' })),
  conv('c1', 'in', 'k1', 2),
  conv('d1', 'c1', 'dw', 2, 'DepthwiseConv2dNative'),
  { name: 'm', op: 'Mul', input: ['d1', 'scale'] },
  { name: 'a', op: 'Add', input: ['m', 'shift'] },
  { name: 'r', op: 'Relu', input: ['a'] },
  { name: 'r6', op: 'Minimum', input: ['r', 'six'] },
  { name: 'r6b', op: 'Maximum', input: ['r6', 'zero'] },
  { name: 'pool', op: 'Mean', input: ['r6b', 'axes'], attr: { keep_dims: { b: false } } },
  { name: 'out', op: '_FusedMatMul', input: ['pool', 'fc', 'fcb'], attr: { fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } } } },
];

/** The same network in TF.js ops. */
function reference(x: tf.Tensor4D, w: Map<string, TfWeight>): tf.Tensor2D {
  const t = (k: string) => tf.tensor(w.get(k)!.data, w.get(k)!.shape);
  return tf.tidy(() => {
    let y = tf.conv2d(x, t('k1') as tf.Tensor4D, 2, 'same');
    y = tf.depthwiseConv2d(y, t('dw') as tf.Tensor4D, 2, 'same');
    y = tf.maximum(tf.minimum(tf.relu(tf.add(tf.mul(y, t('scale')), t('shift'))), 6), 0);
    const pooled = tf.mean(y, [1, 2]) as tf.Tensor2D;
    return tf.relu(tf.add(tf.matMul(pooled, t('fc') as tf.Tensor2D), t('fcb'))) as tf.Tensor2D;
  });
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({ x: new ort.Tensor('float32', x, dims) });
    return Float32Array.from(out.y.data as Float32Array);
  } finally {
    await s.release();
  }
}

describe('TF.js graph models on ONNX Runtime', function () {
  this.timeout(120000);
  before(wasmBackend);

  for (const size of [9, 10]) {
    it(`a graph with SAME stride-2 convs (${size}×${size}), depthwise ×2, relu6 and a fused MatMul gives TF.js's output`, async () => {
      const w = weights();
      const data = values(2 * size * size * 3, 11 + size);
      const x = tf.tensor4d(data, [2, size, size, 3]);
      const want = reference(x, w);
      const expected = (await want.data()) as Float32Array;
      want.dispose(); x.dispose();
      const got = await runOnnx(tfjsGraphToOnnx({ nodes, weights: w, output: 'out', inputSize: size }), data, [2, size, size, 3]);
      assert.equal(got.length, expected.length);
      expected.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-4 * (1 + Math.abs(v)), `output ${i}: ${got[i]} vs ${v}`));
    });
  }

  it('an op outside the import is an error naming the node and the op', () => {
    const odd = [...nodes.slice(0, -1), { name: 'out', op: 'Erf', input: ['pool'] }];
    assert.throws(() => tfjsGraphToOnnx({ nodes: odd, weights: weights(), output: 'out', inputSize: 9 }), /node "out" \(Erf\).*not supported/);
  });

  it('only the nodes the output needs are translated (an unsupported head elsewhere does not matter)', async () => {
    const extra = [...nodes, { name: 'head', op: 'Erf', input: ['out'] }];
    const bytes = tfjsGraphToOnnx({ nodes: extra, weights: weights(), output: 'out:0', inputSize: 9 });
    const got = await runOnnx(bytes, values(9 * 9 * 3, 1), [1, 9, 9, 3]);
    assert.equal(got.length, 5);
  });

  it('human-faceres embeds on ONNX Runtime with TF.js\'s embeddings on real faces, and on TF.js when asked to', async function () {
    if (!lfwAvailable()) { console.log('    (skipped: ../shared/data/lfw not found)'); this.skip(); }
    const img = await loadCrops([lfwFile('Aaron_Peirsol', 1), lfwFile('Angelina_Jolie', 1)], CROP_BOX['human-crop'], 224);
    const enc = (await loadEncoderById('human-faceres')) as TfjsModelEncoder;
    const ref = (await loadEncoderById('human-faceres', { tfjsEmbedding: true })) as TfjsModelEncoder;
    try {
      assert.match(enc.runtimeNote, /^ONNX Runtime/);
      assert.match(ref.runtimeNote, /^TF\.js \(requested\)/);
      const a = await enc.embed(img);
      const b = await ref.embed(img);
      a.forEach((row, k) => {
        let dot = 0;
        row.forEach((v, i) => { dot += v * b[k][i]; });
        assert.ok(dot > 0.99999, `face ${k}: cosine ${dot}`);
      });
    } finally {
      enc.dispose(); ref.dispose(); img.dispose();
    }
  });
});
