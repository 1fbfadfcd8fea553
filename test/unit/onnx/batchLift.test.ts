/**
 * Lifting a fixed batch of 1 (daemon/onnx/batchLift.ts): fr_feature.onnx answers many faces per call with
 * the same outputs as one at a time, the encoder uses the lifted graph, and graphs the rewrite cannot
 * resolve are refused by name.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { liftFixedBatch } from '../../../daemon/onnx/batchLift';
import { FR_FEATURE } from './helpers';

function tinyReshapeModel(outDims: (number | null)[], shape: number[]): Uint8Array {
  const T = onnx.TensorProto.DataType;
  const vi = (name: string, dims: (number | null)[]) => ({
    name, type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims.map((d) => (d === null ? { dimParam: 'x' } : { dimValue: d })) } } },
  });
  const buf = Buffer.alloc(shape.length * 8);
  shape.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ opType: 'Reshape', name: 'flat', input: ['x', 'shape'], output: ['y'] }],
      initializer: [{ name: 'shape', dataType: T.INT64, dims: [shape.length], rawData: buf }],
      input: [vi('x', [1, 2, 3])], output: [vi('y', outDims)],
    },
  }).finish();
}

describe('onnx: lifting a fixed batch of 1', function () {
  this.timeout(60000);

  it('rewrites a [1,-1] Reshape from the known output shape and runs batches', async () => {
    const lifted = liftFixedBatch(tinyReshapeModel([1, 6], [1, -1]), 'tiny');
    assert.ok(lifted);
    assert.deepEqual(lifted.reshapes, ['flat']);
    const s = await ort.InferenceSession.create(lifted.bytes);
    const x = Float32Array.from({ length: 4 * 6 }, (_, i) => i);
    const y = (await s.run({ x: new ort.Tensor('float32', x, [4, 2, 3]) })).y;
    assert.deepEqual(y.dims, [4, 6]);
    assert.deepEqual(Array.from(y.data as Float32Array), Array.from(x));
    await s.release();
  });

  it('refuses a [1,-1] Reshape whose output shape is unknown, naming the node', () => {
    assert.throws(() => liftFixedBatch(tinyReshapeModel([1, null], [1, -1]), 'tiny.onnx'), /tiny\.onnx: Reshape flat has target shape \[1,-1\]/);
  });

  it('leaves a model whose batch is already dynamic alone', () => {
    const dynamic = onnx.ModelProto.decode(tinyReshapeModel([1, 6], [1, -1]));
    const d0 = dynamic.graph?.input?.[0].type?.tensorType?.shape?.dim?.[0] as onnx.TensorShapeProto.IDimension;
    delete (d0 as { dimValue?: unknown }).dimValue;
    d0.dimParam = 'N';
    assert.equal(liftFixedBatch(onnx.ModelProto.encode(dynamic).finish(), 'dyn'), null);
  });

  it('fr_feature.onnx: 16 faces in one call equal 16 single calls (≤ 1e-5)', async function () {
    if (!fs.existsSync(FR_FEATURE)) this.skip();
    const lifted = liftFixedBatch(fs.readFileSync(FR_FEATURE), FR_FEATURE);
    assert.ok(lifted);
    const one = await ort.InferenceSession.create(FR_FEATURE);
    const many = await ort.InferenceSession.create(lifted.bytes);
    const n = 16, per = 3 * 112 * 112;
    let seed = 7;
    const x = Float32Array.from({ length: n * per }, () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 31 - 1; });
    const all = (await many.run({ input: new ort.Tensor('float32', x, [n, 3, 112, 112]) })).output;
    assert.deepEqual(all.dims, [n, 512]);
    let maxDiff = 0, scale = 0;
    for (let i = 0; i < n; i++) {
      const r = (await one.run({ input: new ort.Tensor('float32', x.subarray(i * per, (i + 1) * per), [1, 3, 112, 112]) })).output.data as Float32Array;
      for (let k = 0; k < 512; k++) { maxDiff = Math.max(maxDiff, Math.abs(r[k] - (all.data as Float32Array)[i * 512 + k])); scale = Math.max(scale, Math.abs(r[k])); }
    }
    assert.ok(maxDiff <= 1e-5 * scale, `max difference ${maxDiff} (scale ${scale})`);
    await one.release();
    await many.release();
  });
});
