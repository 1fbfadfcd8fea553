/**
 * Encoders and the white-box search on ONNX Runtime: faceplugin's fr_feature.onnx imported with its input
 * gradient (batch lifted) against the production ONNX Runtime session (embeddings, 1e-5), the TF.js import
 * (dE/dx, 1e-2 of the largest value: the two agree to ~1e-3 except a few pixels where TF.js's import is off by
 * up to 4e-3 and the ONNX Runtime value is the one closer to finite differences) and finite differences; the fused G → E search against the TF.js search; the PCA
 * generator's gradient; an op without a backward rule named with its node, and the white box falling back
 * to TF.js (or failing, when ONNX Runtime was asked for); and the CUDA provider failing soft to the CPU.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoadedDecoder } from '../../../daemon/decoder/decoderModel';
import type { DecoderModelMeta } from '../../../daemon/decoder/train';
import type { EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { resolveModelPath } from '../../../daemon/encoders/registry';
import { OnnxEncoder } from '../../../daemon/encoders/onnxEncoder';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder } from '../../../daemon/nets/decoder';
import { latentSearch, latentSearchOn } from '../../../daemon/nets/latentSearch';
import { UndifferentiableOpError } from '../../../daemon/ort/autodiff';
import { onnxEncoderSource, OrtEncoderGrad } from '../../../daemon/ort/encoderGraph';
import { decoderGenerator, pcaGenerator } from '../../../daemon/ort/generators';
import { GraphBuilder } from '../../../daemon/ort/graph';
import { importOnnx } from '../../../daemon/ort/importOnnx';
import { OrtSearch } from '../../../daemon/ort/search';
import { createSession, cudaAvailability } from '../../../daemon/ort/session';
import { DecoderFaceModel } from '../../../daemon/attack/faceModel/decoder';
import { checkFrame } from '../../../daemon/attack/inversion';
import { cropFor, gradientSearch } from '../../../daemon/attack/search/gradientSearch';
import { findEncoderConfig } from '../../../daemon/encoders/registry';
import { checkGradients, relError, values, wasmBackend } from './helpers';

function unit(dim: number, seed: number): Float32Array {
  const v = values(dim, seed);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A tiny ONNX encoder [N,3,32,32] → [N,4]: Pad (mode) → Conv 3×3 s2 → `mid` op → Flatten → Gemm. */
function tinyEncoderModel(padMode: 'constant' | 'reflect', mid: 'Relu' | 'Round'): Uint8Array {
  const b = new GraphBuilder('tiny encoder');
  const x = b.input('input', [1, 3, 32, 32]);
  const p = b.op('Pad', [x, b.ints([0, 0, 1, 1, 0, 0, 1, 1])], { mode: padMode }, { name: 'pad_1' });
  const c = b.op('Conv', [p, b.constant(values(2 * 3 * 9, 3, -0.3, 0.3), [2, 3, 3, 3], 'float32', 'w1')], { strides: [2, 2], kernel_shape: [3, 3] }, { name: 'conv_1' });
  const r = b.op(mid, [c], {}, { name: `${mid.toLowerCase()}_1` });
  const fl = b.op('Flatten', [r], { axis: 1 }, { name: 'flatten_1' });
  const y = b.op('Gemm', [fl, b.constant(values(512 * 4, 4, -0.3, 0.3), [512, 4], 'float32', 'w2')], {}, { name: 'gemm_1' });
  b.rename(y, 'output');
  b.output('output');
  return b.toBytes();
}

const tinyConfig = (file: string): EncoderConfig => ({
  id: 'tiny-test', format: 'onnx', model: { path: file }, inputSize: 32, layout: 'NCHW', channelOrder: 'RGB',
  normalization: { mean: [127, 127, 127], std: [128, 128, 128] }, alignment: { template: 'arcface-5pt', size: 32 }, embeddingDim: 4,
  l2Normalized: false, known: { architecture: true, weights: true, differentiable: true }, description: 'test', license: 'MIT', source: 'test',
});

describe('ort/encoder: E and dE/dx, and the white-box search on ONNX Runtime', function () {
  this.timeout(300000);
  const config = findEncoderConfig('arcface512-faceplugin').config;
  const file = resolveModelPath(config);
  let tmp: string;
  before(async () => {
    await wasmBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-ort-enc-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('fr_feature: batched E equals the ONNX Runtime encoder, dE/dx equals TF.js and finite differences', async () => {
    const n = 3;
    const images = values(n * 112 * 112 * 3, 5, 0, 1);
    const up = values(n * 512, 6);
    const eg = await OrtEncoderGrad.create(onnxEncoderSource(config, file), { threads: 2 });
    const { embedding, inputGrad } = await eg.run(images, up, n);
    const enc = await OnnxEncoder.load(config, file, { threads: 2, differentiable: true });
    const ref = tf.tidy(() => tf.tensor4d(images, [n, 112, 112, 3]));
    const rows = await enc.embed(ref as tf.Tensor4D);
    const flat = new Float32Array(n * 512);
    rows.forEach((r, i) => flat.set(r, i * 512));
    assert.ok(relError(embedding, flat) <= 1e-5, `embedding differs from the ONNX Runtime encoder by ${relError(embedding, flat)}`);
    const tfGrad = tf.tidy(() => {
      const u = tf.tensor2d(up, [n, 512]);
      return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(enc.forward!(x as tf.Tensor4D), u)))(ref).dataSync() as Float32Array;
    });
    const e = relError(inputGrad, tfGrad);
    assert.ok(e <= 1e-2, `dE/dx differs from the TF.js import by ${e.toExponential(2)}`);
    // Finite differences along a random direction (ε small: E is piecewise linear through its PReLUs).
    const dir = values(images.length, 11, -1, 1);
    const eps = 1e-4;
    const plus = (await eg.run(images.map((v, i) => v + eps * dir[i]), up, n)).embedding;
    const minus = (await eg.run(images.map((v, i) => v - eps * dir[i]), up, n)).embedding;
    let fd = 0; let an = 0;
    for (let i = 0; i < up.length; i++) fd += up[i] * (plus[i] - minus[i]) / (2 * eps);
    for (let i = 0; i < dir.length; i++) an += inputGrad[i] * dir[i];
    assert.ok(Math.abs(fd - an) <= 2e-2 * Math.max(Math.abs(an), 0.5), `finite differences ${fd} vs ${an}`);
    ref.dispose();
    enc.dispose();
    await eg.dispose();
  });

  it('the fused G → E search step follows the TF.js search (same cosines, same latents)', async () => {
    const d = Decoder.create({ inputDim: 512, outputSize: 64, residualLayers: 1, noiseVariance: 0, loss: 'l1', learningRate: 1e-3, seed: 1, baseChannels: 32 });
    tf.tidy(() => {
      const z = tf.randomNormal([4, 512], 0, 1, 'float32', 1) as tf.Tensor2D;
      const t = tf.randomUniform([4, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      for (let i = 0; i < 5; i++) d.trainStep(z, t);
    });
    const targets = [unit(512, 1), unit(512, 2)];
    const opts = { steps: 4, learningRate: 0.05, init: 'estimate' as const, estimate: targets, priorWeight: 0.01 };
    const search = await OrtSearch.create(decoderGenerator(await d.exportState()), onnxEncoderSource(config, file), { size: 112 }, opts.priorWeight, { threads: 2 });
    const before = tf.memory().numTensors;
    const a = await latentSearchOn(search, targets, 512, opts);
    assert.equal(tf.memory().numTensors, before + 1, 'latentSearchOn should hold only the images it returns');
    const enc = await OnnxEncoder.load(config, file, { threads: 2, differentiable: true });
    const b = await latentSearch((z) => d.forward(z, false), enc.forward!, targets, 512, { ...opts, crop: { size: 112 } });
    a.cosine.forEach((c, i) => assert.ok(Math.abs(c - b.cosine[i]) <= 1e-4, `target ${i}: cosine ${c} vs TF.js ${b.cosine[i]}`));
    a.z.forEach((z, i) => assert.ok(relError(z, b.z[i]) <= 1e-3, `target ${i}: latent differs by ${relError(z, b.z[i])}`));
    assert.ok(relError(a.images.dataSync(), b.images.dataSync()) <= 1e-4, 'renders differ');
    tf.dispose([a.images, b.images]);
    enc.dispose();
    d.dispose();
    await search.dispose();
  });

  it('a PCA face model plugs in as a generator: its gradient is Vᵀ·upstream (finite differences and TF.js)', async () => {
    const k = 3; const s = 4; const px = 3 * s * s;
    const mean = values(px, 1, 0.3, 0.7); const V = values(k * px, 2, -0.1, 0.1);
    const G = pcaGenerator({ mean, components: V, k, size: s, layout: 'nhwc' });
    const r = await checkGradients({
      name: 'pca', inputs: [{ shape: [2, k], data: values(2 * k, 3) }], build: (b, [c]) => G.emit(b, c),
      tf: (c) => tf.transpose(tf.reshape(tf.add(tf.matMul(c, tf.tensor2d(V, [k, px])), tf.tensor1d(mean)), [2, s, s, 3]), [0, 3, 1, 2]),
    });
    assert.ok(r.fd <= 1e-2 && (r.tf ?? 1) <= 1e-5, `PCA gradient: fd ${r.fd}, tf ${r.tf}`);
    assert.throws(() => pcaGenerator({ mean: new Float32Array(5), components: V, k, size: s, layout: 'nhwc' }), /mean has 5 values, expected 3·4² = 48/);
  });

  it('names the op and node it cannot differentiate', () => {
    const bytes = tinyEncoderModel('constant', 'Round');
    assert.throws(() => importOnnx(new GraphBuilder('t'), bytes, 'tiny.onnx'),
      (e: Error) => e instanceof UndifferentiableOpError && /op 'Round' \(node 'round_1'\) has no backward rule/.test(e.message));
  });

  it("the white box falls back to TF.js with a warning when the encoder's gradient cannot be built; 'onnxruntime' fails naming the node", async () => {
    const f = path.join(tmp, 'reflect.onnx');
    fs.writeFileSync(f, tinyEncoderModel('reflect', 'Relu'));
    const cfg = tinyConfig(f);
    const decoder = Decoder.create({ inputDim: 4, outputSize: 64, residualLayers: 0, noiseVariance: 0, loss: 'l1', learningRate: 1e-3, seed: 1, baseChannels: 16 });
    const generator: LoadedDecoder = { decoder, dir: '(test)', meta: { kind: 'faceinv-blackbox-decoder', encoderId: cfg.id, embeddingDim: 4, outputSize: 64, template: 'arcface-5pt' } as DecoderModelMeta };
    const model = new DecoderFaceModel(generator);
    checkFrame(model, cfg);
    assert.deepEqual(cropFor(model, cfg.inputSize), { size: 32 });
    // The TF.js stand-in for the same encoder (the fallback only needs some differentiable E).
    const w2 = tf.tensor2d(values(512 * 4, 4, -0.3, 0.3), [512, 4]);
    const encoder = { inputSize: 32, dispose: () => undefined, E: (img: tf.Tensor4D) => tf.tidy(() => tf.matMul(tf.reshape(tf.avgPool(img, 2, 2, 'valid'), [img.shape[0], -1]).slice([0, 0], [-1, 512]) as tf.Tensor2D, w2) as tf.Tensor2D) };
    const warnings: string[] = [];
    const wb = { steps: 2, learningRate: 0.1, init: 'estimate' as const, priorWeight: 0, batchSize: 2 };
    const t = [unit(4, 1)];
    const start = Float32Array.from(t[0]);
    const opts = { loadTfEncoder: async () => encoder };
    const res = await gradientSearch(model, cfg, t, start, wb, { ...opts, warn: (m: string) => warnings.push(m) });
    assert.equal(res.engine.chosen, 'tfjs');
    assert.match(warnings[0] ?? '', /white box on TF\.js: .*node 'pad_1' \(Pad\).*reflect/);
    await assert.rejects(gradientSearch(model, cfg, t, start, wb, { ...opts, engine: 'onnxruntime' }), /engine 'onnxruntime': .*node 'pad_1'/);
    const onOrt = await gradientSearch(model, { ...cfg, model: { path: (fs.writeFileSync(path.join(tmp, 'ok.onnx'), tinyEncoderModel('constant', 'Relu')), path.join(tmp, 'ok.onnx')) } }, t, start, wb, opts);
    assert.equal(onOrt.engine.chosen, 'onnxruntime');
    w2.dispose();
    decoder.dispose();
  });

  it('asks for CUDA and falls back to the CPU with the reason when its binaries are not installed', async () => {
    const avail = cudaAvailability();
    const logs: string[] = [];
    const b = new GraphBuilder('one');
    b.rename(b.op('Relu', [b.input('x', [2])]), 'y');
    b.output('y');
    const s = await createSession(b.toBytes(), 'a test graph', { provider: 'cuda', log: (m) => logs.push(m) });
    if (avail.ok) {
      assert.ok(s.provider === 'cuda' || /CUDA provider did not start/.test(s.reason));
    } else {
      assert.equal(s.provider, 'cpu');
      assert.match(s.reason, /cuda: .*not installed.*; cpu/);
      assert.match(logs[0], /CUDA requested but unavailable/);
    }
    await s.session.release();
  });
});
