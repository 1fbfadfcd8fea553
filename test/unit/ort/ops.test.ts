/**
 * Every backward rule of the ONNX Runtime engine (daemon/ort/rules, the composites in daemon/ort/layers.ts),
 * one small graph per op: reverse-mode gradients against central finite differences along a random
 * direction, and against TF.js's gradients of the same function (NCHW ↔ NHWC handled in the TF function).
 * Tolerances: FD 2e-2 of the directional derivative (float32, ε = 1e-2; kinks avoided by the inputs); TF.js
 * 1e-4 relative (float32 reassociation only).
 */
import * as assert from 'node:assert/strict';
import { tf } from '../../../daemon/tfjs/tf';
import { f, GraphBuilder } from '../../../daemon/ort/graph';
import { batchNormTrain, conv3x3, convTransposeK4S2, oneMinusCos, pixelLoss } from '../../../daemon/ort/layers';
import { batchNormTrain as tfBatchNormTrain } from '../../../daemon/nets/layers/batchNorm';
import { toGraphLayout } from '../../../daemon/ort/paramLayout';
import { awayFromZero, checkGradients, GradCase, size, values, wasmBackend } from './helpers';

const inp = (shape: number[], seed: number, kind: 'any' | 'away' | 'pos' = 'any', diff = true) => ({
  shape, diff,
  data: kind === 'away' ? awayFromZero(size(shape), seed) : kind === 'pos' ? values(size(shape), seed, 0.5, 2) : values(size(shape), seed),
});
const toNhwc = (x: tf.Tensor) => tf.transpose(x, [0, 2, 3, 1]);
const toNchw = (x: tf.Tensor) => tf.transpose(x, [0, 3, 1, 2]);
/** ONNX Conv weight [M, C, kh, kw] → TF [kh, kw, C, M]. */
const convW = (w: tf.Tensor) => tf.transpose(w, [2, 3, 1, 0]);

const unary = (op: string, tfFn: ((x: tf.Tensor) => tf.Tensor) | undefined, kind: 'any' | 'away' | 'pos' = 'any', attrs = {}): GradCase => ({
  name: op, inputs: [inp([2, 3, 4], 1, kind)], build: (b, [x]) => b.op(op, [x], attrs), tf: tfFn ? (x) => tfFn(x) : undefined,
});

const CASES: GradCase[] = [
  // elementwise
  { name: 'Add (broadcast)', inputs: [inp([2, 3, 4], 1), inp([3, 1], 2)], build: (b, [x, y]) => b.op('Add', [x, y]), tf: (x, y) => tf.add(x, y) },
  { name: 'Sub (broadcast)', inputs: [inp([2, 3, 4], 1), inp([4], 2)], build: (b, [x, y]) => b.op('Sub', [x, y]), tf: (x, y) => tf.sub(x, y) },
  { name: 'Mul (broadcast)', inputs: [inp([2, 3, 4], 1), inp([2, 1, 4], 2)], build: (b, [x, y]) => b.op('Mul', [x, y]), tf: (x, y) => tf.mul(x, y) },
  { name: 'Div', inputs: [inp([2, 3, 4], 1), inp([2, 3, 4], 2, 'pos')], build: (b, [x, y]) => b.op('Div', [x, y]), tf: (x, y) => tf.div(x, y) },
  { name: 'Pow (constant exponent)', inputs: [inp([2, 3], 1, 'pos')], build: (b, [x]) => b.op('Pow', [x, b.constant(Float32Array.of(3), [], 'float32', 'p')]), tf: (x) => tf.pow(x, 3) },
  { name: 'Pow (input exponent)', inputs: [inp([2, 3], 1, 'pos'), inp([2, 3], 2)], build: (b, [x, p]) => b.op('Pow', [x, p]), tf: (x, p) => tf.pow(x, p) },
  { name: 'Sum (3 inputs)', inputs: [inp([2, 3], 1), inp([2, 3], 2), inp([3], 3)], build: (b, xs) => b.op('Sum', xs), tf: (x, y, z) => tf.addN([x, y, tf.broadcastTo(z, [2, 3])]) },
  unary('Relu', (x) => tf.relu(x), 'away'),
  unary('Sigmoid', (x) => tf.sigmoid(x)),
  unary('Tanh', (x) => tf.tanh(x)),
  unary('Exp', (x) => tf.exp(x)),
  unary('Log', (x) => tf.log(x), 'pos'),
  unary('Sqrt', (x) => tf.sqrt(x), 'pos'),
  unary('Reciprocal', (x) => tf.reciprocal(x), 'pos'),
  unary('Neg', (x) => tf.neg(x)),
  unary('Abs', (x) => tf.abs(x), 'away'),
  unary('Identity', (x) => x),
  unary('Erf', (x) => tf.erf(x)),
  unary('Softplus', (x) => tf.softplus(x)),
  unary('LeakyRelu', (x) => tf.leakyRelu(x, 0.1), 'away', { alpha: f(0.1) }),
  unary('Elu', (x) => tf.elu(x), 'away'),
  unary('HardSigmoid', undefined, 'away', { alpha: f(0.3), beta: f(0.4) }),
  { name: 'Clip', inputs: [inp([2, 3, 4], 1, 'away')], build: (b, [x]) => b.op('Clip', [x, b.scalar(-0.5), b.scalar(0.6)]), tf: (x) => tf.clipByValue(x, -0.5, 0.6) },
  { name: 'PRelu (per channel)', inputs: [inp([2, 3, 2, 2], 1, 'away'), inp([3, 1, 1], 2)], build: (b, [x, a]) => b.op('PRelu', [x, a]), tf: (x, a) => tf.prelu(x, a) },
  { name: 'Max', inputs: [inp([2, 3], 1), inp([2, 3], 2)], build: (b, xs) => b.op('Max', xs), tf: (x, y) => tf.maximum(x, y) },
  { name: 'Min', inputs: [inp([2, 3], 1), inp([2, 3], 2)], build: (b, xs) => b.op('Min', xs), tf: (x, y) => tf.minimum(x, y) },
  { name: 'Where', inputs: [inp([2, 3], 1, 'away', false), inp([2, 3], 2), inp([2, 3], 3)], build: (b, [c, x, y]) => b.op('Where', [b.op('Greater', [c, b.scalar(0)]), x, y]) },
  // linear
  { name: 'MatMul', inputs: [inp([3, 4], 1), inp([4, 5], 2)], build: (b, xs) => b.op('MatMul', xs), tf: (x, y) => tf.matMul(x, y) },
  { name: 'MatMul (batched, broadcast)', inputs: [inp([2, 3, 4], 1), inp([4, 5], 2)], build: (b, xs) => b.op('MatMul', xs), tf: (x, y) => tf.matMul(x, tf.broadcastTo(y, [2, 4, 5])) },
  {
    name: 'Gemm (transA, transB, α, β, C)', inputs: [inp([4, 3], 1), inp([5, 4], 2), inp([5], 3)],
    build: (b, xs) => b.op('Gemm', xs, { transA: 1, transB: 1, alpha: f(0.7), beta: f(1.3) }),
    tf: (a, w, c) => tf.add(tf.mul(tf.matMul(a, w, true, true), 0.7), tf.mul(c, 1.3)),
  },
  { name: 'Gemm (plain)', inputs: [inp([3, 4], 1), inp([4, 2], 2)], build: (b, xs) => b.op('Gemm', xs), tf: (a, w) => tf.matMul(a, w) },
  // convolutions
  {
    name: 'Conv 3×3 pad 1 (shift dW)', inputs: [inp([2, 3, 6, 6], 1), inp([4, 3, 3, 3], 2)],
    build: (b, xs) => b.op('Conv', xs, { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }),
    tf: (x, w) => toNchw(tf.conv2d(toNhwc(x) as tf.Tensor4D, convW(w) as tf.Tensor4D, 1, 'same')),
  },
  {
    name: 'Conv 3×3 stride 2 + bias', inputs: [inp([2, 3, 7, 7], 1), inp([4, 3, 3, 3], 2), inp([4], 3)],
    build: (b, xs) => b.op('Conv', xs, { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] }),
    tf: (x, w, c) => tf.add(toNchw(tf.conv2d(tf.pad(toNhwc(x), [[0, 0], [1, 1], [1, 1], [0, 0]]) as tf.Tensor4D, convW(w) as tf.Tensor4D, 2, 'valid')), tf.reshape(c, [1, 4, 1, 1])),
  },
  {
    name: 'Conv 2×2 asymmetric pads, dilation 2', inputs: [inp([1, 2, 6, 5], 1), inp([3, 2, 2, 2], 2)],
    build: (b, xs) => b.op('Conv', xs, { pads: [1, 0, 0, 1], dilations: [2, 2], kernel_shape: [2, 2] }),
  },
  {
    name: 'Conv depthwise 3×3 stride 1 (dx)', inputs: [inp([2, 4, 5, 5], 1), inp([4, 1, 3, 3], 2, 'any', false)],
    build: (b, xs) => b.op('Conv', xs, { pads: [1, 1, 1, 1], group: 4, kernel_shape: [3, 3] }),
    tf: (x, w) => toNchw(tf.depthwiseConv2d(toNhwc(x) as tf.Tensor4D, tf.transpose(w, [2, 3, 0, 1]) as tf.Tensor4D, 1, 'same')),
  },
  {
    name: 'Conv depthwise 3×3 stride 2 (dx)', inputs: [inp([2, 4, 6, 6], 1), inp([4, 1, 3, 3], 2, 'any', false)],
    build: (b, xs) => b.op('Conv', xs, { pads: [1, 1, 1, 1], strides: [2, 2], group: 4, kernel_shape: [3, 3] }),
  },
  {
    name: 'Conv grouped (2 groups, dx)', inputs: [inp([1, 4, 5, 5], 1), inp([6, 2, 3, 3], 2, 'any', false)],
    build: (b, xs) => b.op('Conv', xs, { pads: [1, 1, 1, 1], group: 2, kernel_shape: [3, 3] }),
  },
  {
    name: 'ConvTranspose k4 s2 p1 (generic rule)', inputs: [inp([2, 3, 4, 4], 1), inp([3, 2, 4, 4], 2)],
    build: (b, xs) => b.op('ConvTranspose', xs, { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [4, 4] }),
    tf: (x, w) => toNchw(tf.conv2dTranspose(toNhwc(x) as tf.Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, [2, 8, 8, 2], 2, 'same')),
  },
  {
    name: 'ConvTranspose k3 s1 p1 + bias', inputs: [inp([1, 2, 5, 5], 1), inp([2, 3, 3, 3], 2), inp([3], 3)],
    build: (b, xs) => b.op('ConvTranspose', xs, { pads: [1, 1, 1, 1], kernel_shape: [3, 3] }),
  },
  {
    name: 'convTransposeK4S2 native (phase/shift dW) + bias', inputs: [inp([2, 3, 4, 4], 1), inp([3, 2, 4, 4], 2), inp([2], 3)],
    build: (b, [x, w, c]) => convTransposeK4S2(b, x, w, c, 'native'),
    tf: (x, w, c) => tf.add(toNchw(tf.conv2dTranspose(toNhwc(x) as tf.Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, [2, 8, 8, 2], 2, 'same')), tf.reshape(c, [1, 2, 1, 1])),
  },
  {
    name: 'conv3x3 layer', inputs: [inp([2, 4, 5, 5], 1), inp([3, 4, 3, 3], 2)], build: (b, [x, w]) => conv3x3(b, x, w),
    tf: (x, w) => toNchw(tf.conv2d(toNhwc(x) as tf.Tensor4D, convW(w) as tf.Tensor4D, 1, 'same')),
  },
  { name: 'GlobalAveragePool', inputs: [inp([2, 3, 4, 5], 1)], build: (b, [x]) => b.op('GlobalAveragePool', [x]), tf: (x) => tf.mean(x, [2, 3], true) },
  {
    name: 'AveragePool 2×2 s2', inputs: [inp([2, 3, 4, 4], 1)], build: (b, [x]) => b.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] }),
    tf: (x) => toNchw(tf.avgPool(toNhwc(x) as tf.Tensor4D, 2, 2, 'valid')),
  },
  {
    name: 'MaxPool 2×2 s2', inputs: [inp([2, 3, 4, 4], 1)], build: (b, [x]) => b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }),
    // TF.js wasm's max-pool gradient is wrong for more than one channel (differs from its cpu backend): cpu here.
    tf: (x) => toNchw(tf.maxPool(toNhwc(x) as tf.Tensor4D, 2, 2, 'valid')), tfBackend: 'cpu',
  },
  {
    name: 'BatchNormalization (inference)', inputs: [inp([2, 3, 2, 2], 1), inp([3], 2), inp([3], 3), inp([3], 4, 'any', false), inp([3], 5, 'pos', false)],
    build: (b, xs) => b.op('BatchNormalization', xs, { epsilon: f(1e-5) }),
    tf: (x, g, be, m, v) => tf.add(tf.mul(tf.div(tf.sub(x, tf.reshape(m, [1, 3, 1, 1])), tf.sqrt(tf.add(tf.reshape(v, [1, 3, 1, 1]), 1e-5))), tf.reshape(g, [1, 3, 1, 1])), tf.reshape(be, [1, 3, 1, 1])),
  },
  // layout
  { name: 'Reshape', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('Reshape', [x, b.ints([4, -1])]), tf: (x) => tf.reshape(x, [4, 6]) },
  { name: 'Flatten', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('Flatten', [x], { axis: 1 }), tf: (x) => tf.reshape(x, [2, 12]) },
  { name: 'Transpose', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('Transpose', [x], { perm: [2, 0, 1] }), tf: (x) => tf.transpose(x, [2, 0, 1]) },
  { name: 'Slice (step 1)', inputs: [inp([4, 6], 1)], build: (b, [x]) => b.op('Slice', [x, b.ints([1, 2]), b.ints([3, -1]), b.ints([0, 1])]), tf: (x) => tf.slice(x, [1, 2], [2, 3]) },
  { name: 'Slice (step 2)', inputs: [inp([4, 7], 1)], build: (b, [x]) => b.op('Slice', [x, b.ints([1]), b.ints([7]), b.ints([1]), b.ints([2])]) },
  { name: 'Slice (step −1)', inputs: [inp([3, 5], 1)], build: (b, [x]) => b.op('Slice', [x, b.ints([3]), b.ints([0]), b.ints([1]), b.ints([-1])]), tf: (x) => tf.reverse(tf.slice(x, [0, 1], [3, 3]), 1) },
  { name: 'Pad', inputs: [inp([2, 3], 1)], build: (b, [x]) => b.op('Pad', [x, b.ints([1, 0, 2, 3])]), tf: (x) => tf.pad(x, [[1, 2], [0, 3]]) },
  { name: 'Concat', inputs: [inp([2, 3], 1), inp([2, 2], 2)], build: (b, xs) => b.op('Concat', xs, { axis: 1 }), tf: (x, y) => tf.concat([x, y], 1) },
  { name: 'Split', inputs: [inp([2, 5], 1)], build: (b, [x]) => { const [p, q] = b.opN('Split', [x, b.ints([2, 3])], 2, { axis: 1 }); return b.op('Mul', [b.op('ReduceSum', [p, b.ints([1])], { keepdims: 0 }), b.op('ReduceSum', [q, b.ints([1])], { keepdims: 0 })]); } },
  { name: 'Unsqueeze + Squeeze', inputs: [inp([2, 3], 1)], build: (b, [x]) => b.op('Squeeze', [b.op('Mul', [b.op('Unsqueeze', [x, b.ints([1])]), b.scalar(2)]), b.ints([1])]), tf: (x) => tf.mul(x, 2) },
  { name: 'DepthToSpace (DCR)', inputs: [inp([1, 8, 2, 3], 1)], build: (b, [x]) => b.op('DepthToSpace', [x], { blocksize: 2, mode: 'DCR' }) },
  { name: 'DepthToSpace (CRD)', inputs: [inp([1, 8, 2, 3], 1)], build: (b, [x]) => b.op('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' }) },
  { name: 'SpaceToDepth', inputs: [inp([1, 2, 4, 6], 1)], build: (b, [x]) => b.op('SpaceToDepth', [x], { blocksize: 2 }) },
  { name: 'Expand', inputs: [inp([3, 1], 1)], build: (b, [x]) => b.op('Expand', [x, b.ints([2, 3, 4])]), tf: (x) => tf.broadcastTo(x, [2, 3, 4]) },
  // reductions
  { name: 'ReduceSum (keepdims 0)', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('ReduceSum', [x, b.ints([0, 2])], { keepdims: 0 }), tf: (x) => tf.sum(x, [0, 2]) },
  { name: 'ReduceMean', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('ReduceMean', [x], { axes: [1], keepdims: 1 }), tf: (x) => tf.mean(x, 1, true) },
  { name: 'ReduceSumSquare', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('ReduceSumSquare', [x], { axes: [2], keepdims: 0 }), tf: (x) => tf.sum(tf.square(x), 2) },
  { name: 'ReduceL2', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('ReduceL2', [x], { axes: [2], keepdims: 0 }), tf: (x) => tf.norm(x, 2, 2) },
  { name: 'ReduceMax', inputs: [inp([2, 3, 4], 1)], build: (b, [x]) => b.op('ReduceMax', [x], { axes: [2], keepdims: 0 }), tf: (x) => tf.max(x, 2) },
  { name: 'Softmax', inputs: [inp([2, 5], 1)], build: (b, [x]) => b.op('Softmax', [x], { axis: -1 }), tf: (x) => tf.softmax(x) },
  { name: 'LogSoftmax', inputs: [inp([2, 5], 1)], build: (b, [x]) => b.op('LogSoftmax', [x], { axis: -1 }), tf: (x) => tf.logSoftmax(x) },
  // composites and losses
  {
    name: 'batch norm (training) + ReLU, [N, C, H, W]', inputs: [inp([4, 3, 3, 3], 1), inp([3], 2, 'pos'), inp([3], 3)],
    build: (b, [x, g, be]) => batchNormTrain(b, x, g, be, true).y,
    tf: (x, g, be) => toNchw(tfBatchNormTrain(toNhwc(x), g as tf.Tensor1D, be as tf.Tensor1D, true)),
  },
  {
    name: 'batch norm (training), [N, F]', inputs: [inp([5, 6], 1), inp([6], 2, 'pos'), inp([6], 3)],
    build: (b, [x, g, be]) => batchNormTrain(b, x, g, be, false).y, tf: (x, g, be) => tfBatchNormTrain(x, g as tf.Tensor1D, be as tf.Tensor1D, false),
  },
  { name: 'L1 loss', inputs: [inp([2, 3, 4, 4], 1, 'away'), inp([2, 3, 4, 4], 2, 'any', false)], build: (b, [y, t]) => pixelLoss(b, y, b.op('Mul', [t, b.scalar(0.01)]), 'l1'), tf: (y, t) => tf.mean(tf.abs(tf.sub(y, tf.mul(t, 0.01)))) },
  { name: 'L2 loss', inputs: [inp([2, 3, 4, 4], 1), inp([2, 3, 4, 4], 2, 'any', false)], build: (b, [y, t]) => pixelLoss(b, y, t, 'l2'), tf: (y, t) => tf.mean(tf.square(tf.sub(y, t))) },
  { name: '1 − SSIM loss', inputs: [inp([1, 3, 14, 14], 1), inp([1, 3, 14, 14], 2, 'any', false)], build: (b, [y, t]) => pixelLoss(b, b.op('Sigmoid', [y]), b.op('Sigmoid', [t]), 'ssim') },
  { name: '1 − cos', inputs: [inp([3, 6], 1), inp([3, 6], 2, 'any', false)], build: (b, [e, t]) => oneMinusCos(b, e, t).loss },
];

describe('ort/ops: backward rules vs finite differences and TF.js', function () {
  this.timeout(120000);
  before(() => wasmBackend());
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await checkGradients(c);
      assert.ok(r.fd <= (c.fdTol ?? 2e-2), `${c.name}: finite-difference error ${r.fd.toExponential(2)}`);
      if (r.tf !== null) assert.ok(r.tf <= (c.tfTol ?? 1e-4), `${c.name}: TF.js gradient error ${r.tf.toExponential(2)}`);
    });
  }

  it('the phase layout of an up-sampling kernel is the same transposed convolution (forward and gradients vs TF.js)', async () => {
    const wTf = values(4 * 4 * 2 * 3, 5); // [4, 4, out 2, in 3]
    const spec = { name: 'up/kernel', shape: [4, 4, 2, 3], role: 'param' as const };
    const phase = toGraphLayout(wTf, spec, 'convT-phase');
    const r = await checkGradients({
      name: 'convTransposeK4S2 phase', inputs: [inp([2, 3, 4, 4], 1), { shape: [8, 3, 2, 2], data: phase, diff: false }],
      build: (b, [x, w]) => convTransposeK4S2(b, x, w, null, 'phase'),
      tf: (x) => toNchw(tf.conv2dTranspose(toNhwc(x) as tf.Tensor4D, tf.tensor4d(wTf, [4, 4, 2, 3]), [2, 8, 8, 2], 2, 'same')),
    });
    assert.ok(r.fd <= 2e-2 && (r.tf ?? 1) <= 1e-4, `phase layout: fd ${r.fd}, tf ${r.tf}`);
  });

  it('a graph built by hand with the builder rejects undefined values and bad shapes by name', () => {
    const b = new GraphBuilder('bad');
    const x = b.input('x', [2, 3]);
    assert.throws(() => b.op('Add', [x, 'nope']), /reads 'nope', which is not defined/);
    assert.throws(() => b.op('MatMul', [x, b.input('y', [4, 5])]), /MatMul inner dims 3 and 4 differ/);
    assert.throws(() => b.op('Frobnicate', [x]), /no shape rule for op 'Frobnicate'/);
  });
});
