/**
 * Which kernels do the gradients of common ops need on wasm, and are they all there? Runs tf.grad of each
 * op (decoder training, face-encoder graphs: MobileFaceNet/ResNet/ArcFace-style layers) on the wasm backend
 * and fails naming the missing kernel. Also lists tfjs kernels present on `cpu` but absent on `wasm`
 * (printed, for information: most are ops we do not use).
 */
import * as assert from 'node:assert';
import { tf } from '../../../daemon/tfjs/tf';
import { wasmEngine } from './helpers';

type Case = [string, number[], (x: tf.Tensor) => tf.Tensor];
const x4 = [2, 6, 6, 4];
const CASES: Case[] = [
  ['relu', x4, (x) => tf.relu(x)],
  ['relu6', x4, (x) => tf.relu6(x)],
  ['leakyRelu', x4, (x) => tf.leakyRelu(x, 0.1)],
  ['prelu', x4, (x) => tf.prelu(x, tf.fill([4], 0.25))],
  ['elu', x4, (x) => tf.elu(x)],
  ['selu', x4, (x) => tf.selu(x)],
  ['sigmoid', x4, (x) => tf.sigmoid(x)],
  ['tanh', x4, (x) => tf.tanh(x)],
  ['softmax', [3, 7], (x) => tf.softmax(x)],
  ['logSoftmax', [3, 7], (x) => tf.logSoftmax(x)],
  ['maxPool', x4, (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'same')],
  ['avgPool', x4, (x) => tf.avgPool(x as tf.Tensor4D, 3, 1, 'same')],
  ['batchNorm', x4, (x) => tf.batchNorm(x, tf.zeros([4]), tf.ones([4]), tf.zeros([4]), tf.ones([4]))],
  ['conv2d s2', x4, (x) => tf.conv2d(x as tf.Tensor4D, tf.ones([3, 3, 4, 5]), 2, 'same')],
  ['fused conv2d+bias+relu', x4, (x) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: tf.ones([3, 3, 4, 5]), strides: 1, pad: 'same', bias: tf.ones([5]), activation: 'relu' })],
  ['depthwiseConv2d', x4, (x) => tf.depthwiseConv2d(x as tf.Tensor4D, tf.ones([3, 3, 4, 1]), 2, 'same')],
  ['fused depthwise+prelu', x4, (x) => tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: tf.ones([3, 3, 4, 2]), strides: 1, pad: 'same', bias: tf.ones([8]), activation: 'prelu', preluActivationWeights: tf.fill([8], 0.2) })],
  ['separableConv2d', x4, (x) => tf.separableConv2d(x as tf.Tensor4D, tf.ones([3, 3, 4, 1]), tf.ones([1, 1, 4, 6]), 1, 'same')],
  ['conv2dTranspose', x4, (x) => tf.conv2dTranspose(x as tf.Tensor4D, tf.ones([4, 4, 3, 4]), [2, 12, 12, 3], 2, 'same')],
  ['matMul (all transposes)', [5, 5], (x) => tf.add(tf.matMul(x, x, true, false), tf.matMul(x, x, false, true))],
  ['fused matMul+bias+relu', [5, 5], (x) => tf.fused.matMul({ a: x, b: x, bias: tf.ones([5]), activation: 'relu' })],
  ['resizeBilinear', x4, (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [9, 9])],
  ['resizeNearestNeighbor', x4, (x) => tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [12, 12])],
  ['l2 normalise (embeddings)', [3, 7], (x) => tf.div(x, tf.norm(x, 'euclidean', 1, true))],
  ['mean/sum/max/min', x4, (x) => tf.addN([tf.mean(x, [1, 2]), tf.sum(x, [1, 2]), tf.max(x, [1, 2]), tf.min(x, [1, 2])])],
  ['pad/mirrorPad/slice/concat', x4, (x) => tf.concat([tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]).slice([0, 1, 1, 0], [2, 6, 6, 4]), tf.mirrorPad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect').slice([0, 0, 0, 0], [2, 6, 6, 4])], 3)],
  // (tf.stridedSlice has no gradient in tfjs-core on any backend; not listed.)
  ['transpose/reshape/tile', x4, (x) => tf.tile(tf.transpose(x, [0, 3, 1, 2]).reshape([2, 4, 36]), [1, 1, 2])],
  ['gather', [6, 5], (x) => tf.gather(x, [0, 2, 2, 5])],
  // (the condition of tf.where must not depend on x: comparisons have no gradient in tfjs-core.)
  ['where/maximum/minimum/clip', x4, (x) => tf.where(tf.tensor(Array.from({ length: 288 }, (_, i) => i % 3 === 0), x4, 'bool'),
    tf.maximum(x, 0.1), tf.minimum(tf.clipByValue(x, -0.5, 0.5), 0))],
  ['unsortedSegmentSum (direct)', [6, 5], (x) => tf.unsortedSegmentSum(x, tf.tensor1d([0, 2, -1, 2, 3, 0], 'int32'), 4)],
  ['exp/log/sqrt/pow/abs', x4, (x) => tf.addN([tf.exp(x), tf.log(tf.add(tf.abs(x), 1)), tf.sqrt(tf.add(tf.square(x), 1)), tf.pow(tf.add(tf.abs(x), 1), 1.5)])],
  ['cumsum/prod', [4, 5], (x) => tf.add(tf.cumsum(x, 1), tf.prod(tf.add(x, 2), 1, true))],
];

describe('engine: gradient coverage on wasm', function () {
  this.timeout(60000);
  before(async () => { await wasmEngine(); });

  it('lists kernels registered for cpu but not for wasm (information)', () => {
    const wasm = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
    const missing = tf.getKernelsForBackend('cpu').map((k) => k.kernelName).filter((n) => !wasm.has(n)).sort();
    console.log(`      cpu-only kernels (${missing.length}): ${missing.join(', ')}`);
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter']) {
      assert.ok(wasm.has(k), `${k} must be registered on wasm`);
    }
  });

  for (const [name, shape, f] of CASES) {
    it(`gradient of ${name} runs on wasm and matches cpu`, () => {
      const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 1.7) * 0.9);
      const run = (backend: string): Float32Array => {
        const prev = tf.getBackend();
        tf.setBackend(backend);
        try {
          const g = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), 0.5)))(tf.tensor(values, shape)));
          const v = g.dataSync() as Float32Array;
          g.dispose();
          return v;
        } finally { tf.setBackend(prev); }
      };
      const before = tf.memory().numTensors;
      let got: Float32Array;
      try {
        got = run('wasm');
      } catch (e) {
        assert.fail(`gradient of ${name} failed on wasm: ${(e as Error).message}`);
      }
      assert.strictEqual(tf.memory().numTensors, before);
      const ref = run('cpu');
      let d = 0, m = 0;
      for (let i = 0; i < ref.length; i++) { d = Math.max(d, Math.abs(got[i] - ref[i])); m = Math.max(m, Math.abs(ref[i])); }
      assert.ok(d <= 1e-4 * Math.max(m, 1), `${name}: max |wasm − cpu| = ${d} (max |cpu| ${m})`);
    });
  }
});
