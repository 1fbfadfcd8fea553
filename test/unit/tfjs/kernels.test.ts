/**
 * Our wasm kernels (daemon/tfjs/kernels) against tfjs's pure-JS `cpu` backend on random inputs:
 * strides 1–3, same/valid/explicit padding, odd sizes, channel multipliers, dilations where the op has them.
 * Pass: relative error max|wasm − cpu| / max|cpu| ≤ 1e-5, and no tensor or wasm buffer left behind.
 */
import * as assert from 'node:assert';
import { tf } from '../../../daemon/tfjs/tf';
import { liveCounts, randomValues, relError, runOn, wasmEngine } from './helpers';

const TOL = 1e-5;
type Pad = 'same' | 'valid' | Array<[number, number]>;

function check(name: string, inputs: Array<{ shape: number[]; values: Float32Array }>,
  fn: (...ts: tf.Tensor[]) => tf.Tensor): void {
  const ref = runOn('cpu', inputs, fn)[0];
  const before = liveCounts();
  const got = runOn('wasm', inputs, fn)[0];
  const after = liveCounts();
  const err = relError(got, ref);
  assert.ok(err <= TOL, `${name}: relative error ${err.toExponential(2)} > ${TOL}`);
  assert.deepStrictEqual(after, before, `${name}: leaked tensors or wasm buffers`);
}

/** Output shape of a conv without touching any backend (describe-time code must not start wasm early). */
function convOut(x: number[], f: number[], s: [number, number], d: number, pad: unknown, depthwise: boolean): number[] {
  return tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number],
    s, d, pad as 'same', undefined, depthwise).outShape;
}

/** [f, f, K] filter → [(f−1)d+1, (f−1)d+1, K] with zeros between taps. */
function expandFilter(w: Float32Array, f: number, d: number, k: number): Float32Array {
  const fe = (f - 1) * d + 1;
  const out = new Float32Array(fe * fe * k);
  for (let i = 0; i < f; i++) for (let j = 0; j < f; j++) for (let c = 0; c < k; c++) out[((i * d) * fe + j * d) * k + c] = w[(i * f + j) * k + c];
  return out;
}

/** Inverse selection of expandFilter: the taps at multiples of d. */
function subsampleFilter(we: Float32Array, f: number, d: number, k: number): Float32Array {
  const fe = (f - 1) * d + 1;
  const out = new Float32Array(f * f * k);
  for (let i = 0; i < f; i++) for (let j = 0; j < f; j++) for (let c = 0; c < k; c++) out[(i * f + j) * k + c] = we[((i * d) * fe + j * d) * k + c];
  return out;
}

const inp = (shape: number[], seed: number) => ({ shape, values: randomValues(shape.reduce((a, b) => a * b, 1), seed) });

describe('tfjs/kernels (wasm vs cpu)', function () {
  this.timeout(120000);
  before(async () => { await wasmEngine(); });

  const convCases: Array<{ n: number; h: number; w: number; ci: number; co: number; f: [number, number]; s: [number, number]; pad: Pad }> = [];
  for (const s of [1, 2, 3]) {
    for (const pad of ['same', 'valid'] as const) {
      convCases.push({ n: 2, h: 9, w: 7, ci: 3, co: 5, f: [3, 3], s: [s, s], pad });
      convCases.push({ n: 1, h: 8, w: 8, ci: 4, co: 6, f: [4, 4], s: [s, s], pad });
    }
  }
  convCases.push({ n: 2, h: 11, w: 10, ci: 3, co: 2, f: [5, 2], s: [2, 3], pad: 'same' });
  convCases.push({ n: 1, h: 7, w: 9, ci: 2, co: 3, f: [3, 3], s: [2, 2], pad: [[1, 2], [0, 1]] });
  convCases.push({ n: 1, h: 6, w: 6, ci: 2, co: 3, f: [1, 1], s: [3, 3], pad: 'valid' });

  for (const c of convCases) {
    const label = `n${c.n} ${c.h}x${c.w}x${c.ci}->${c.co} f${c.f} s${c.s} ${JSON.stringify(c.pad)}`;
    const tfPad = Array.isArray(c.pad) ? [[0, 0], ...c.pad, [0, 0]] as Array<[number, number]> : c.pad;
    const xShape = [c.n, c.h, c.w, c.ci];
    const fShape = [c.f[0], c.f[1], c.ci, c.co];
    const outShape = convOut(xShape, fShape, c.s, 1, tfPad, false);

    it(`Conv2DBackpropFilter ${label}`, () => {
      check('Conv2DBackpropFilter', [inp(xShape, 1), inp(outShape, 2)], (x, dy) =>
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
          { strides: c.s, pad: tfPad, dataFormat: 'NHWC', filterShape: fShape } as unknown as tf.NamedAttrMap) as tf.Tensor);
    });
    it(`Conv2DBackpropInput ${label}`, () => {
      check('Conv2DBackpropInput', [inp(outShape, 3), inp(fShape, 4)], (dy, f) =>
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f },
          { strides: c.s, pad: tfPad, dataFormat: 'NHWC', inputShape: xShape } as unknown as tf.NamedAttrMap) as tf.Tensor);
    });
  }

  const dwCases: Array<{ n: number; h: number; w: number; c: number; m: number; f: number; s: number; d: number; pad: 'same' | 'valid' }> = [];
  for (const s of [1, 2, 3]) for (const pad of ['same', 'valid'] as const) dwCases.push({ n: 2, h: 9, w: 8, c: 3, m: 1, f: 3, s, d: 1, pad });
  dwCases.push({ n: 1, h: 10, w: 7, c: 2, m: 3, f: 3, s: 2, d: 1, pad: 'same' });
  dwCases.push({ n: 2, h: 9, w: 9, c: 3, m: 2, f: 3, s: 1, d: 2, pad: 'same' });
  dwCases.push({ n: 1, h: 11, w: 9, c: 2, m: 1, f: 3, s: 1, d: 3, pad: 'valid' });

  for (const c of dwCases) {
    const label = `n${c.n} ${c.h}x${c.w}x${c.c} m${c.m} f${c.f} s${c.s} d${c.d} ${c.pad}`;
    const xShape = [c.n, c.h, c.w, c.c];
    const fShape = [c.f, c.f, c.c, c.m];
    const outShape = convOut(xShape, fShape, [c.s, c.s], c.d, c.pad, true);
    // tfjs's cpu kernels ignore dilations in these two ops, so for d > 1 the reference is the undilated op
    // with the zero-expanded filter ((f−1)·d+1 taps), which is the definition of dilation.
    const fe = (c.f - 1) * c.d + 1;
    const feShape = [fe, fe, c.c, c.m];
    const bpInput = (dy: tf.Tensor, f: tf.Tensor, d: number, inShape: number[]) => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput',
      { dy, filter: f }, { strides: [c.s, c.s], pad: c.pad, dilations: [d, d], inputShape: inShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const bpFilter = (x: tf.Tensor, dy: tf.Tensor, d: number, fShape2: number[]) => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter',
      { x, dy }, { strides: [c.s, c.s], pad: c.pad, dilations: [d, d], filterShape: fShape2 } as unknown as tf.NamedAttrMap) as tf.Tensor;
    it(`DepthwiseConv2dNativeBackpropInput ${label}`, () => {
      const dyIn = inp(outShape, 5), fIn = inp(fShape, 6);
      if (c.d === 1) { check('DepthwiseConv2dNativeBackpropInput', [dyIn, fIn], (dy, f) => bpInput(dy, f, 1, xShape)); return; }
      const expanded = { shape: feShape, values: expandFilter(fIn.values, c.f, c.d, c.c * c.m) };
      const ref = runOn('cpu', [dyIn, expanded], (dy, f) => bpInput(dy, f, 1, xShape))[0];
      const before = liveCounts();
      const got = runOn('wasm', [dyIn, fIn], (dy, f) => bpInput(dy, f, c.d, xShape))[0];
      assert.deepStrictEqual(liveCounts(), before);
      assert.ok(relError(got, ref) <= TOL, `relative error ${relError(got, ref)}`);
    });
    it(`DepthwiseConv2dNativeBackpropFilter ${label}`, () => {
      const xIn = inp(xShape, 7), dyIn = inp(outShape, 8);
      if (c.d === 1) { check('DepthwiseConv2dNativeBackpropFilter', [xIn, dyIn], (x, dy) => bpFilter(x, dy, 1, fShape)); return; }
      const refE = runOn('cpu', [xIn, dyIn], (x, dy) => bpFilter(x, dy, 1, feShape))[0];
      const ref = subsampleFilter(refE, c.f, c.d, c.c * c.m);
      const before = liveCounts();
      const got = runOn('wasm', [xIn, dyIn], (x, dy) => bpFilter(x, dy, c.d, fShape))[0];
      assert.deepStrictEqual(liveCounts(), before);
      assert.ok(relError(got, ref) <= TOL, `relative error ${relError(got, ref)}`);
    });
  }

  it('gradients through conv2d, conv2dTranspose and depthwiseConv2d (tf.grads) match cpu', () => {
    const f = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor) => tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
      const y1 = tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'));
      const y2 = tf.depthwiseConv2d(y1 as tf.Tensor4D, c as tf.Tensor4D, 1, 'same');
      const y3 = tf.conv2dTranspose(y2 as tf.Tensor4D, d as tf.Tensor4D, [2, 10, 10, 3], 2, 'same');
      return tf.sigmoid(y3).square().mean();
    })([x, w1, w2, w3]);
    const ins = [inp([2, 10, 10, 3], 11), inp([3, 3, 3, 4], 12), inp([3, 3, 4, 1], 13), inp([4, 4, 3, 4], 14)];
    const ref = runOn('cpu', ins, f as (...t: tf.Tensor[]) => tf.Tensor[]);
    const before = liveCounts();
    const got = runOn('wasm', ins, f as (...t: tf.Tensor[]) => tf.Tensor[]);
    assert.deepStrictEqual(liveCounts(), before);
    got.forEach((g, i) => assert.ok(relError(g, ref[i]) <= 1e-4, `grad ${i}: ${relError(g, ref[i])}`));
  });

  for (const [ta, tb] of [[true, false], [false, true], [true, true]]) {
    it(`BatchMatMul transposeA=${ta} transposeB=${tb} (rank 2 and batched rank 3)`, () => {
      check('BatchMatMul', [inp(ta ? [7, 5] : [5, 7], 21), inp(tb ? [9, 7] : [7, 9], 22)], (a, b) => tf.matMul(a, b, ta, tb));
      check('BatchMatMul', [inp(ta ? [3, 7, 5] : [3, 5, 7], 23), inp(tb ? [3, 9, 7] : [3, 7, 9], 24)], (a, b) => tf.matMul(a, b, ta, tb));
    });
  }

  it('UnsortedSegmentSum (ids out of range dropped, rank-3 x)', () => {
    check('UnsortedSegmentSum', [inp([6, 5], 31)], (x) => tf.unsortedSegmentSum(x, tf.tensor1d([0, 2, -1, 2, 3, 7], 'int32'), 4));
    check('UnsortedSegmentSum', [inp([5, 3, 4], 32)], (x) => tf.unsortedSegmentSum(x, tf.tensor1d([4, 0, 0, 2, 4], 'int32'), 5));
  });

  it('rejects NCHW with an error naming the kernel', () => {
    const prev = tf.getBackend();
    tf.setBackend('wasm');
    try {
      assert.throws(() => tf.tidy(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.zeros([1, 4, 4, 2]), dy: tf.zeros([1, 4, 4, 2]) },
        { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] } as unknown as tf.NamedAttrMap)), /Conv2DBackpropFilter.*NCHW/);
    } finally { tf.setBackend(prev); }
  });
});
