/**
 * daemon/onnx/preluRewrite.ts: PRelu nodes with slopes ≤ 1, ≥ 1 and straddling 1 become Max, Min and Where
 * forms whose outputs are bit-identical to onnxruntime's PRelu; models without constant-slope PRelu are left.
 */
import * as assert from 'node:assert/strict';
import { GraphBuilder } from '../../../daemon/ort/graph';
import { rewritePrelu } from '../../../daemon/onnx/preluRewrite';
import { onnx } from 'onnx-proto';
import { relError, runGraph, values } from '../ort/helpers';

function model(slopes: Float32Array[]): Uint8Array {
  const b = new GraphBuilder('prelus');
  let x = b.input('x', [2, 4, 5, 5]);
  slopes.forEach((s, i) => { x = b.op('PRelu', [b.op('Mul', [x, b.scalar(1.5)]), b.constant(s, [4, 1, 1], 'float32', `s${i}`)], {}, { name: `prelu_${i}` }); });
  b.rename(x, 'y');
  b.output('y');
  return b.toBytes();
}

describe('onnx/preluRewrite', () => {
  it('rewrites each PRelu to the exact Max/Min/Where form', async () => {
    const bytes = model([Float32Array.of(0.1, -0.5, 1, 0.9), Float32Array.of(1, 1.3, 2, 1.01), Float32Array.of(0.2, 1.5, -1.2, 0.7)]);
    const r = rewritePrelu(bytes, 'test');
    assert.ok(r);
    assert.deepEqual([r.max, r.min, r.where], [1, 1, 1]);
    const x = { data: values(2 * 4 * 5 * 5, 3, -2, 2), shape: [2, 4, 5, 5] };
    const a = (await runGraph(bytes, { x }, ['y'])).y;
    const b = (await runGraph(r.bytes, { x }, ['y'])).y;
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `value ${i}: ${a[i]} vs ${b[i]}`);
  });

  it('blocked form: s·x + (1 − s)·relu(x) for every slope, within a rounding of PRelu, with no Max/Min/Where', async () => {
    const bytes = model([Float32Array.of(0.1, -0.5, 1, 0.9), Float32Array.of(1, 1.3, 2, 1.01), Float32Array.of(0.2, 1.5, -1.2, 0.7)]);
    const r = rewritePrelu(bytes, 'test', 'blocked');
    assert.ok(r);
    assert.deepEqual([r.max, r.min, r.where, r.blocked, r.folded], [0, 0, 0, 3, 0]);
    const x = { data: values(2 * 4 * 5 * 5, 3, -2, 2), shape: [2, 4, 5, 5] };
    const a = (await runGraph(bytes, { x }, ['y'])).y;
    const b = (await runGraph(r.bytes, { x }, ['y'])).y;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), 1e-3));
    assert.ok(worst < 1e-6, `relative difference ${worst}`);
  });

  it('blocked form folds the slopes into a depthwise Conv that alone reads the PRelu', async () => {
    const b = new GraphBuilder('prelu-dw');
    const x = b.input('x', [2, 4, 6, 6]);
    const p = b.op('PRelu', [x, b.constant(Float32Array.of(0.1, -0.5, 1.3, 0.9), [4, 1, 1], 'float32', 'slope')], {}, { name: 'prelu' });
    const w = b.constant(values(4 * 9, 5), [4, 1, 3, 3], 'float32', 'dw_w');
    const y = b.op('Conv', [p, w, b.constant(values(4, 6), [4], 'float32', 'dw_b')], { group: 4, kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, { name: 'dw' });
    b.rename(y, 'y');
    b.output('y');
    const bytes = b.toBytes();
    const r = rewritePrelu(bytes, 'test', 'blocked');
    assert.ok(r);
    assert.deepEqual([r.blocked, r.folded], [1, 1]);
    const ops = (onnx.ModelProto.decode(r.bytes).graph?.node ?? []).map((n) => n.opType);
    assert.deepEqual(ops, ['Relu', 'Conv', 'Conv', 'Add']);
    const g = onnx.ModelProto.decode(r.bytes).graph;
    const read = new Set((g?.node ?? []).flatMap((n) => n.input ?? []));
    const unread = (g?.initializer ?? []).map((t) => t.name ?? '').filter((nm) => !read.has(nm));
    assert.deepEqual(unread, [], 'the slope and the folded Conv\'s weights are dropped');
    const feeds = { x: { data: values(2 * 4 * 36, 7, -2, 2), shape: [2, 4, 6, 6] } };
    const want = (await runGraph(bytes, feeds, ['y'])).y;
    const got = (await runGraph(r.bytes, feeds, ['y'])).y;
    assert.ok(relError(got, want) < 1e-6, `relative error ${relError(got, want)}`);
  });

  it('leaves models without constant-slope PRelu alone', () => {
    const b = new GraphBuilder('none');
    b.rename(b.op('Relu', [b.input('x', [2])]), 'y');
    b.output('y');
    assert.equal(rewritePrelu(b.toBytes(), 'test'), null);
    const c = new GraphBuilder('dynamic slope');
    c.rename(c.op('PRelu', [c.input('x', [2]), c.input('s', [2])]), 'y');
    c.output('y');
    assert.equal(rewritePrelu(c.toBytes(), 'test'), null);
  });
});
