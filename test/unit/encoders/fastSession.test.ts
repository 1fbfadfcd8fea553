/**
 * The attacked encoder's fast session (daemon/encoders/onnxEncoder.ts): fr_feature.onnx with its batch lifted
 * and its PRelus in the NCHWc-friendly form answers as a plain ONNX Runtime session of the same file does (batch
 * 1, no rewrite) to far better than the 1e-4 cosine an oracle may drift; threads above the cores are clamped
 * with a warning; a model whose batch cannot be lifted runs one face per call and says why.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { OnnxEncoder } from '../../../daemon/encoders/onnxEncoder';
import { findEncoderConfig, resolveModelPath } from '../../../daemon/encoders/registry';
import { toModelInput } from '../../../daemon/encoders/preprocess';
import { machineCores } from '../../../daemon/tfjs/threads';
import type { EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { tf } from '../../../daemon/tfjs/tf';
import { CROP_BOX, initTestEngine, lfwAvailable, LFW_IMAGES, loadCrops } from './helpers';

/** A model with input [1,3,4,4] whose Reshape to [1,-1] feeds an output of unknown shape: its batch cannot be lifted. */
function unliftableModel(): Uint8Array {
  const T = onnx.TensorProto.DataType;
  const shape = Buffer.alloc(16);
  shape.writeBigInt64LE(1n, 0);
  shape.writeBigInt64LE(-1n, 8);
  return onnx.ModelProto.encode({
    irVersion: 7, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'unliftable',
      node: [{ opType: 'Reshape', name: 'flatten_pinned', input: ['x', 'shape'], output: ['y'] }],
      initializer: [{ name: 'shape', dataType: T.INT64, dims: [2], rawData: shape }],
      input: [{ name: 'x', type: { tensorType: { elemType: T.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 4 }, { dimValue: 4 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: T.FLOAT, shape: { dim: [{ dimParam: 'a' }, { dimParam: 'b' }] } } } }],
    },
  }).finish();
}

describe('encoders: the attacked encoder at native speed', function () {
  this.timeout(120000);
  const config = findEncoderConfig('arcface512-faceplugin').config;
  const file = resolveModelPath(config);
  before(() => initTestEngine());

  it('fr_feature: the fast session (lifted batch, blocked PRelu, runs of 4) answers as a plain batch-1 session of the file', async function () {
    if (!lfwAvailable()) this.skip();
    const people = fs.readdirSync(LFW_IMAGES).sort().slice(0, 10);
    const files = people.map((p) => path.join(LFW_IMAGES, p, fs.readdirSync(path.join(LFW_IMAGES, p)).sort()[0]));
    const crops = await loadCrops(files, CROP_BOX['arcface-5pt'], 112);
    const warnings: string[] = [];
    const enc = await OnnxEncoder.load(config, file, { threads: 1, log: (m) => warnings.push(m) });
    const plain = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    try {
      assert.deepEqual(warnings, []);
      assert.match(enc.graphNote, /batch lifted, 33 PRelu in blocked form \(17 folded into depthwise convs\); 4 faces per run/);
      const fast = await enc.embed(crops);
      const x = toModelInput(crops, config);
      const all = (await x.data()) as Float32Array;
      x.dispose();
      const per = 3 * 112 * 112;
      let worst = 0;
      for (let i = 0; i < files.length; i++) {
        const r = (await plain.run({ input: new ort.Tensor('float32', all.slice(i * per, (i + 1) * per), [1, 3, 112, 112]) })).output.data as Float32Array;
        const n = Math.hypot(...r);
        let cos = 0;
        for (let k = 0; k < 512; k++) cos += (r[k] / n) * fast[i][k];
        worst = Math.max(worst, 1 - cos);
      }
      assert.ok(worst <= 1e-6, `1 − cosine to the plain session reaches ${worst}`);
    } finally {
      crops.dispose();
      enc.dispose();
      await plain.release();
    }
  });

  it('fr_feature: the blocked form leaves ONNX Runtime no layout reorders inside the network', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-reorders-'));
    try {
      const reorders = async (bytes: Uint8Array) => {
        const out = path.join(dir, 'optimized.onnx');
        const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all', optimizedModelFilePath: out, logSeverityLevel: 3 });
        await s.release();
        return (onnx.ModelProto.decode(fs.readFileSync(out)).graph?.node ?? []).filter((n) => /^Reorder/.test(n.opType ?? '')).length;
      };
      const { rewritePrelu } = await import('../../../daemon/onnx/preluRewrite');
      const model = fs.readFileSync(file);
      const exact = rewritePrelu(model, file, 'exact');
      const blocked = rewritePrelu(model, file, 'blocked');
      assert.ok(exact && blocked);
      assert.ok(await reorders(exact.bytes) > 60, 'the exact form should leave a reorder pair around each PRelu');
      assert.ok(await reorders(blocked.bytes) <= 1, 'the blocked form leaves at most the final reorder');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('threads above the cores: clamped with a warning naming both', async () => {
    const cores = machineCores();
    const warnings: string[] = [];
    const enc = await OnnxEncoder.load({ ...config, known: { ...config.known, differentiable: false } }, file, { threads: cores + 3, log: (m) => warnings.push(m) });
    try {
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], new RegExp(`threads ${cores + 3} is above this machine's ${cores} cores: using ${cores}`));
      assert.match(enc.graphNote, new RegExp(`, ${cores} threads?`));
    } finally {
      enc.dispose();
    }
    await assert.rejects(OnnxEncoder.load(config, file, { threads: 0 }), /threads: expected an integer ≥ 1, got 0/);
  });

  it('a batch that cannot be lifted: one face per call, and the reason is printed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-unliftable-'));
    const model = path.join(dir, 'pinned.onnx');
    fs.writeFileSync(model, unliftableModel());
    const tiny: EncoderConfig = {
      ...config, id: 'pinned-batch', inputSize: 4, embeddingDim: 48,
      alignment: { template: 'arcface-5pt', size: 4 }, known: { architecture: true, weights: true, differentiable: false },
    };
    const warnings: string[] = [];
    const enc = await OnnxEncoder.load(tiny, model, { threads: 1, log: (m) => warnings.push(m) });
    try {
      assert.equal(enc.batched, false);
      assert.equal(enc.runBatch, 1);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], /pinned-batch.*batch dimension is fixed at 1 and cannot be lifted \(.*Reshape flatten_pinned.*\); it runs one face per call/);
      const x = tf.randomUniform([3, 4, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const rows = await enc.embed(x);
      x.dispose();
      assert.equal(rows.length, 3);
    } finally {
      enc.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
