/**
 * Synthetic ONNX graphs (built with onnx-proto, written to a temp file) for the ops fr_feature.onnx does not
 * use, each checked against onnxruntime-node; convolution input-gradients checked against TF.js's own
 * gradients on the `cpu` backend; error paths (unsupported op, external data); tensor hygiene.
 */
import * as assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { tf } from '../../../daemon/tfjs/tf';
import { loadOnnxAsTf } from '../../../daemon/onnx/model';
import { conv2dX, depthwiseX, backFilter, backDepthwiseFilter, ConvGeometry } from '../../../daemon/onnx/ops/convGrad';
import { matMulConstLeft, matMulConstRight } from '../../../daemon/onnx/ops/matmulGrad';
import { floatInit, int64Init, maxAbsDiff, node, ortRun, randomValues, wasmEngine, writeModel } from './helpers';

type Spec = Parameters<typeof writeModel>[0];
const r = (n: number, seed: number, scale = 1): number[] => Array.from(randomValues(n, seed), (v) => v * scale);

const CASES: Array<{ name: string; spec: Spec }> = [
  {
    name: 'grouped dilated Conv with asymmetric pads → BatchNormalization (folded) → Relu',
    spec: {
      input: ['x', [2, 4, 9, 9]], outputs: [['y', [2, 6, 'h', 'w']]],
      inits: [floatInit('W', [6, 2, 3, 3], r(108, 1)), floatInit('B', [6], r(6, 2)), floatInit('s', [6], r(6, 3, 0.5).map((v) => v + 1)),
        floatInit('b', [6], r(6, 4)), floatInit('m', [6], r(6, 5)), floatInit('v', [6], r(6, 6, 0.4).map((v) => v + 0.5))],
      nodes: [node('Conv', ['x', 'W', 'B'], ['c'], { group: 2, pads: [1, 0, 2, 1], dilations: [2, 2], kernel_shape: [3, 3] }),
        node('BatchNormalization', ['c', 's', 'b', 'm', 'v'], ['n'], { epsilon: { float: 1e-3 } }), node('Relu', ['n'], ['y'])],
    },
  },
  {
    name: 'depthwise Conv (multiplier 2, stride 2) → standalone BatchNormalization → LeakyRelu → MaxPool / AveragePool',
    spec: {
      input: ['x', [1, 3, 10, 11]], outputs: [['y', [1, 6, 'h', 'w']], ['z', [1, 6, 'h', 'w']]],
      inits: [floatInit('W', [6, 1, 3, 3], r(54, 7)), floatInit('s', [6], r(6, 8, 0.5).map((v) => v + 1)),
        floatInit('b', [6], r(6, 9)), floatInit('m', [6], r(6, 10)), floatInit('v', [6], r(6, 11, 0.4).map((v) => v + 0.5))],
      nodes: [node('Conv', ['x', 'W'], ['c'], { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }),
        node('Add', ['c', 'm'], ['c2']),
        node('BatchNormalization', ['c2', 's', 'b', 'm', 'v'], ['n']), node('LeakyRelu', ['n'], ['a'], { alpha: { float: 0.2 } }),
        node('MaxPool', ['a'], ['y'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }),
        node('AveragePool', ['a'], ['z'], { kernel_shape: [2, 2], strides: [1, 1] })],
    },
  },
  {
    name: 'Conv 1×1 → PRelu → GlobalAveragePool → Flatten → Gemm(transB) → Sigmoid, Softmax',
    spec: {
      input: ['x', [2, 3, 4, 4]], outputs: [['y', [2, 5]], ['p', [2, 5]]],
      inits: [floatInit('W', [8, 3, 1, 1], r(24, 12)), floatInit('B', [8], r(8, 13)), floatInit('a', [8, 1, 1], r(8, 14, 0.3)),
        floatInit('G', [5, 8], r(40, 15)), floatInit('C', [5], r(5, 16))],
      nodes: [node('Conv', ['x', 'W', 'B'], ['c']), node('PRelu', ['c', 'a'], ['pr']), node('GlobalAveragePool', ['pr'], ['g']),
        node('Flatten', ['g'], ['f']), node('Gemm', ['f', 'G', 'C'], ['lin'], { transB: 1, alpha: { float: 0.7 }, beta: { float: 1.3 } }),
        node('Sigmoid', ['lin'], ['y']), node('Softmax', ['lin'], ['p'], { axis: 1 })],
    },
  },
  {
    name: 'Shape/Gather/Unsqueeze/Concat → Reshape → MatMul → Add → Clip → Dropout → Identity',
    spec: {
      input: ['x', ['n', 3, 4, 4]], outputs: [['y', ['n', 7]]],
      inits: [int64Init('zero', [0]), int64Init('minus1', [-1]), floatInit('M', [48, 7], r(336, 17, 0.3)), floatInit('A', [7], r(7, 18)),
        floatInit('lo', [], [-0.5]), floatInit('hi', [], [0.8])],
      nodes: [node('Shape', ['x'], ['s']), node('Gather', ['s', 'zero'], ['n0'], { axis: 0 }),
        node('Concat', ['n0', 'minus1'], ['shape'], { axis: 0 }), node('Reshape', ['x', 'shape'], ['flat']),
        node('MatMul', ['flat', 'M'], ['mm']), node('Add', ['mm', 'A'], ['ad']), node('Clip', ['ad', 'lo', 'hi'], ['cl']),
        node('Dropout', ['cl'], ['dr']), node('Identity', ['dr'], ['y'])],
    },
  },
  {
    name: 'Conv → Pad (constant) → Transpose → ReduceMean → Sub/Div/Mul with a Constant, Unsqueeze, Concat',
    spec: {
      input: ['x', [1, 2, 5, 5]], outputs: [['y', [1, 'a', 'b', 'c']]],
      inits: [floatInit('W', [3, 2, 3, 3], r(54, 19)), int64Init('pads', [0, 0, 1, 2, 0, 0, 2, 1]), floatInit('pv', [], [0.5]),
        floatInit('d', [3], [1.5, -2, 3]), int64Init('ax', [1])],
      nodes: [node('Conv', ['x', 'W'], ['c'], { pads: [1, 1, 1, 1] }), node('Pad', ['c', 'pads', 'pv'], ['p']),
        node('Transpose', ['p'], ['t'], { perm: [0, 2, 3, 1] }), node('ReduceMean', ['t'], ['rm'], { axes: [1], keepdims: 0 }),
        node('Constant', [], ['k'], { value: { tensor: floatInit('kv', [1], [0.25]) } }),
        node('Sub', ['rm', 'k'], ['s1']), node('Div', ['s1', 'd'], ['s2']), node('Mul', ['s2', 's2'], ['s3']),
        node('Unsqueeze', ['s3', 'ax'], ['u']), node('Concat', ['u', 'u'], ['y'], { axis: 1 })],
    },
  },
  {
    name: 'two Conv branches → Concat (channels) → Sigmoid, Max, strided Conv with auto_pad SAME_UPPER',
    spec: {
      input: ['x', [2, 3, 8, 8]], outputs: [['y', [2, 5, 'h', 'w']]],
      inits: [floatInit('W1', [2, 3, 3, 3], r(54, 20)), floatInit('W2', [3, 3, 1, 1], r(9, 21)), floatInit('W3', [5, 5, 3, 3], r(225, 22, 0.4))],
      nodes: [node('Conv', ['x', 'W1'], ['a'], { pads: [1, 1, 1, 1] }), node('Conv', ['x', 'W2'], ['b']),
        node('Concat', ['a', 'b'], ['c'], { axis: 1 }), node('Sigmoid', ['c'], ['s']), node('Max', ['s', 'c'], ['mx']),
        node('Conv', ['mx', 'W3'], ['y'], { strides: [2, 2], auto_pad: 'SAME_UPPER' })],
    },
  },
  {
    name: 'pooling variants: MaxPool ceil_mode, AveragePool with padding counted / not counted, GlobalMaxPool, ReduceSum, Tanh',
    spec: {
      input: ['x', [2, 3, 10, 11]], outputs: [['a', [2, 3, 'h', 'w']], ['b', [2, 3, 'h', 'w']], ['c', [2, 3, 'h', 'w']], ['d', [2, 3, 1, 1]], ['e', [2, 1, 10, 11]]],
      nodes: [node('MaxPool', ['x'], ['a'], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
        node('AveragePool', ['x'], ['b'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }),
        node('AveragePool', ['x'], ['c'], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }),
        node('GlobalMaxPool', ['x'], ['d']), node('Tanh', ['x'], ['t']),
        node('ReduceSum', ['t', 'one'], ['e'], { keepdims: 1 })],
      inits: [int64Init('one', [1])],
    },
  },
];

function inputDims(spec: Spec): number[] {
  return spec.input[1].map((d) => (typeof d === 'number' ? d : 2));
}

describe('onnx: synthetic graphs vs onnxruntime-node', function () {
  this.timeout(60000);
  before(() => wasmEngine());

  for (const c of CASES) {
    it(c.name, async () => {
      const file = writeModel(c.spec);
      const dims = inputDims(c.spec);
      const x = randomValues(dims.reduce((a, b) => a * b, 1), 99);
      const ref = await ortRun(file, { [c.spec.input[0]]: { data: x, dims } });
      const atStart = tf.memory().numTensors;
      const model = await loadOnnxAsTf(file);
      const run = (): Record<string, { shape: number[]; data: Float32Array }> => tf.tidy(() => {
        const out = model.execute({ [c.spec.input[0]]: tf.tensor(x, dims) });
        const res: Record<string, { shape: number[]; data: Float32Array }> = {};
        for (const [k, t] of Object.entries(out)) res[k] = { shape: t.shape, data: t.dataSync() as Float32Array };
        return res as never;
      }) as unknown as Record<string, { shape: number[]; data: Float32Array }>;
      run(); // first run caches broadcast-ready constants (model-owned)
      const before = tf.memory().numTensors;
      const got = run();
      assert.equal(tf.memory().numTensors, before, 'execute leaked tensors');
      for (const [name] of c.spec.outputs) {
        assert.ok(got[name], `output ${name} missing`);
        const d = maxAbsDiff(got[name].data, ref[name]);
        assert.ok(d <= 1e-4, `${name}: max |tf − ort| = ${d}`);
      }
      model.dispose();
      assert.equal(tf.memory().numTensors, atStart, 'dispose() left model tensors behind');
    });
  }

  it('folds Conv → BatchNormalization', async () => {
    const model = await loadOnnxAsTf(writeModel(CASES[0].spec));
    assert.equal(model.foldedBatchNorms, 1);
    assert.equal(model.opCounts.BatchNormalization, undefined);
    model.dispose();
  });

  it('runs batches when the graph hard-codes batch 1 in a Reshape', async () => {
    const spec: Spec = {
      input: ['x', [1, 2, 3, 3]], outputs: [['y', [1, 18]]], inits: [int64Init('shape', [1, -1])],
      nodes: [node('Relu', ['x'], ['r']), node('Reshape', ['r', 'shape'], ['y'])],
    };
    const model = await loadOnnxAsTf(writeModel(spec));
    const y = tf.tidy(() => model.execute({ x: tf.ones([4, 2, 3, 3]) }).y);
    assert.deepEqual(y.shape, [4, 18]);
    y.dispose();
    model.dispose();
  });

  it('names the op type, node and file of unsupported ops', async () => {
    const file = writeModel({
      input: ['x', [1, 3, 4, 4]], outputs: [['y', [1, 3, 8, 8]]], inits: [floatInit('sc', [4], [1, 1, 2, 2])],
      nodes: [node('Relu', ['x'], ['a']), node('Resize', ['a', '', 'sc'], ['y'], {}, 'up_1')],
    });
    await assert.rejects(loadOnnxAsTf(file), (e: Error) => {
      assert.match(e.message, /unsupported op type 'Resize' \(node 'up_1'\)/);
      assert.ok(e.message.includes(file), e.message);
      return true;
    });
  });

  it('rejects external initializer data and non-constant conv weights clearly', async () => {
    const ext = floatInit('W', [2, 3, 1, 1], r(6, 1));
    ext.rawData = new Uint8Array(0);
    ext.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    ext.externalData = [{ key: 'location', value: 'weights.bin' }];
    const f1 = writeModel({ input: ['x', [1, 3, 2, 2]], outputs: [['y', [1, 2, 2, 2]]], inits: [ext], nodes: [node('Conv', ['x', 'W'], ['y'])] });
    await assert.rejects(loadOnnxAsTf(f1), /tensor 'W': stored as external data \('weights.bin'\)/);
    const f2 = writeModel({ input: ['x', [1, 3, 2, 2]], outputs: [['y', [1, 3, 2, 2]]], nodes: [node('Conv', ['x', 'x'], ['y'], {}, 'c0')] });
    await assert.rejects(loadOnnxAsTf(f2), /node 'c0' \(Conv\): the weight input must be a constant initializer/);
    await assert.rejects(loadOnnxAsTf('/nonexistent/m.onnx'), /ONNX file \/nonexistent\/m.onnx: cannot read/);
  });
});

/** [kh,kw,a,b] → [(kh−1)dh+1,(kw−1)dw+1,a,b] with zeros between taps. */
function dilateKernel(w: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  if (dh === 1 && dw === 1) return w;
  const [kh, kw, a, b] = w.shape;
  const src = w.arraySync();
  const out = tf.buffer([(kh - 1) * dh + 1, (kw - 1) * dw + 1, a, b]);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let p = 0; p < a; p++) for (let q = 0; q < b; q++) out.set(src[i][j][p][q], i * dh, j * dw, p, q);
  return out.toTensor() as tf.Tensor4D;
}

describe('onnx: convolution input-gradients vs TF.js autodiff (cpu)', function () {
  this.timeout(60000);
  const geoms: Array<{ name: string; x: number[]; k: number[]; g: ConvGeometry; depthwise: boolean }> = [
    { name: 'dense 3×3 stride 2, pads 1/0/2/1', x: [2, 9, 8, 3], k: [3, 3, 3, 4], g: { strides: [2, 2], dilations: [1, 1], pads: [1, 0, 2, 1] }, depthwise: false },
    { name: 'dense 3×2 dilation 2', x: [1, 9, 9, 2], k: [3, 2, 2, 3], g: { strides: [1, 1], dilations: [2, 2], pads: [2, 2, 1, 1] }, depthwise: false },
    { name: 'depthwise 3×3 stride 2, multiplier 2', x: [2, 10, 11, 3], k: [3, 3, 3, 2], g: { strides: [2, 2], dilations: [1, 1], pads: [1, 1, 1, 1] }, depthwise: true },
    { name: 'depthwise 7×7 valid (GDC head)', x: [2, 7, 7, 4], k: [7, 7, 4, 1], g: { strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] }, depthwise: true },
  ];
  for (const c of geoms) {
    it(c.name, async () => {
      await wasmEngine();
      const xv = randomValues(c.x.reduce((a, b) => a * b, 1), 3);
      const wv = randomValues(c.k.reduce((a, b) => a * b, 1), 4);
      const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [c.g.pads[0], c.g.pads[1]], [c.g.pads[2], c.g.pads[3]], [0, 0]];
      const grads: Record<string, Float32Array> = {};
      for (const backend of ['cpu', 'wasm'] as const) {
        const prev = tf.getBackend();
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          const x = tf.tensor4d(xv, c.x as [number, number, number, number]);
          const w = tf.tensor4d(wv, c.k as [number, number, number, number]);
          const back = c.depthwise ? backDepthwiseFilter(w) : backFilter(w);
          const ours = (t: tf.Tensor4D): tf.Tensor4D => (c.depthwise ? depthwiseX(t, w, back, c.g) : conv2dX(t, w, back, c.g));
          // TF.js has no gradient for dilated convs: the reference uses the kernel with zeros inserted instead.
          const wn = dilateKernel(w, c.g.dilations);
          const native = (t: tf.Tensor4D): tf.Tensor4D => (c.depthwise
            ? tf.depthwiseConv2d(t, wn, c.g.strides, pads, 'NHWC')
            : tf.conv2d(t, wn, c.g.strides, pads, 'NHWC'));
          const yShape = native(x).shape;
          const rw = tf.tensor(randomValues(yShape.reduce((a, b) => a * b, 1), 5), yShape);
          grads[`${backend}-ours`] = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(ours(t as tf.Tensor4D), rw)))(x).dataSync() as Float32Array;
          if (backend === 'cpu') grads.native = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(native(t as tf.Tensor4D), rw)))(x).dataSync() as Float32Array;
        });
        assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
        await tf.setBackend(prev);
      }
      const scale = Math.max(...Array.from(grads.native, Math.abs));
      assert.ok(scale > 0);
      assert.ok(maxAbsDiff(grads['cpu-ours'], grads.native) / scale < 1e-5, 'cpu: ours vs native');
      assert.ok(maxAbsDiff(grads['wasm-ours'], grads.native) / scale < 1e-4, 'wasm: ours vs native');
    });
  }
});

describe('onnx: constant-operand matrix products (pre-transposed gradients)', function () {
  this.timeout(30000);
  it('matMulConstRight / matMulConstLeft gradients equal TF.js autodiff on cpu and wasm', async () => {
    await wasmEngine();
    const xv = randomValues(6 * 5, 1); const wv = randomValues(5 * 4, 2); const rv = randomValues(3 * 6, 3);
    const res: Record<string, Float32Array> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      const prev = tf.getBackend();
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.tensor2d(xv, [6, 5]); const w = tf.tensor2d(wv, [5, 4]); const r = tf.tensor2d(rv, [3, 6]);
        const wT = tf.transpose(w) as tf.Tensor2D; const rT = tf.transpose(r) as tf.Tensor2D;
        const dyR = tf.tensor2d(randomValues(24, 4), [6, 4]); const dyL = tf.tensor2d(randomValues(15, 5), [3, 5]);
        res[`${backend}-right`] = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(matMulConstRight(t as tf.Tensor2D, w, wT), dyR)))(x).dataSync() as Float32Array;
        res[`${backend}-left`] = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(matMulConstLeft(r, rT, t as tf.Tensor2D), dyL)))(x).dataSync() as Float32Array;
        res[`${backend}-right-ref`] = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.matMul(t as tf.Tensor2D, w), dyR)))(x).dataSync() as Float32Array;
        res[`${backend}-left-ref`] = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.matMul(r, t as tf.Tensor2D), dyL)))(x).dataSync() as Float32Array;
      });
      assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
      await tf.setBackend(prev);
      for (const side of ['right', 'left']) {
        assert.ok(maxAbsDiff(res[`${backend}-${side}`], res[`${backend}-${side}-ref`]) < 1e-5, `${backend} ${side}`);
      }
    }
  });
});
