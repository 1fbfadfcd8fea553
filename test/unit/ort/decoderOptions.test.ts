/**
 * The decoder's training options on ONNX Runtime against the TF.js reference, on reduced widths: the
 * checkpoint description of a 112-px linear-base decoder equals the Decoder's; the training graph's loss, every
 * gradient and the batch statistics equal TF.js's (1e-4 relative) with the linear base, the SSIM term and an
 * identity term through a toy surrogate emitted on both engines; the linear base takes the clean template
 * (zClean) while the network takes the noisy one; face-api's ResNet emitted from its weights gives the TF.js
 * encoder's embeddings and input gradients; the trainer's learning rate can be set and its steps report
 * the loss terms.
 */
import * as assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder, DecoderOptions, linearBaseShapes } from '../../../daemon/nets/decoder';
import { transposeGather } from '../../../daemon/nets/layers/adam';
import { buildTrainGraph, SurrogateEmitter } from '../../../daemon/ort/decoderGraph';
import { decoderNet } from '../../../daemon/ort/decoderNet';
import { emitFaceApi } from '../../../daemon/ort/faceApiGraph';
import { gradients } from '../../../daemon/ort/autodiff';
import { GraphBuilder } from '../../../daemon/ort/graph';
import { fromGraphLayout, graphShape, layoutOf, toGraphLayout } from '../../../daemon/ort/paramLayout';
import { OrtDecoderTrainer } from '../../../daemon/ort/trainer';
import { loadEncoderById } from '../../../daemon/encoders/load';
import type { FaceApiResnetEncoder } from '../../../daemon/encoders/faceApiResnet';
import { relError, values, wasmBackend } from './helpers';

const small: DecoderOptions = { inputDim: 8, outputSize: 112, residualLayers: 1, noiseVariance: 0, loss: 'l1', learningRate: 5e-4, seed: 5, baseChannels: 32 };
const DIM = 6;

function linearInit(o: DecoderOptions): { kernel: Float32Array; bias: Float32Array } {
  const sh = linearBaseShapes(o);
  return { kernel: values(sh.kernel[0] * sh.kernel[1], 3, -0.05, 0.05), bias: values(sh.bias[0], 4, 0.3, 0.7) };
}

/** The same toy surrogate on both engines: 14×14 average pooling of the image, a fixed linear map, L2 rows. */
function toy(S: number): { tfjs: (y: tf.Tensor4D) => tf.Tensor2D; ort: SurrogateEmitter; dispose(): void } {
  const p = S / 8;
  const w = values(8 * 8 * 3 * DIM, 9);
  const wt = tf.tensor2d(w, [8 * 8 * 3, DIM]);
  return {
    tfjs: (y) => {
      const e = tf.matMul(tf.reshape(tf.avgPool(y, p, p, 'valid'), [y.shape[0], 192]), wt);
      return tf.div(e, tf.norm(e, 'euclidean', 1, true)) as tf.Tensor2D;
    },
    ort: {
      id: 'toy', dim: DIM,
      emit: (b, img) => {
        const pooled = b.op('AveragePool', [img], { kernel_shape: [p, p], strides: [p, p] }); // [N, 3, 8, 8]
        const nhwc = b.op('Transpose', [pooled], { perm: [0, 2, 3, 1] });
        const flat = b.op('Reshape', [nhwc, b.ints([0, 192])], {}, { outShape: [b.shape(img)[0], 192] });
        const e = b.op('MatMul', [flat, b.constant(w, [192, DIM], 'float32', 'toy_w')]);
        const nrm = b.op('Sqrt', [b.op('ReduceSum', [b.op('Mul', [e, e]), b.ints([1])], { keepdims: 1 })]);
        return b.op('Div', [e, nrm]);
      },
    },
    dispose: () => wt.dispose(),
  };
}

async function compare(o: DecoderOptions, n: number, withIdentity: boolean): Promise<void> {
  const S = o.outputSize;
  const sur = toy(S);
  const d = Decoder.create(o, o.linearBase ? linearInit(o) : null);
  if (withIdentity) d.setIdentityTerm(sur.tfjs);
  const z = values(n * o.inputDim, 21, -0.4, 0.4);
  const t = values(n * S * S * 3, 22, 0, 1);
  const idT = values(n * DIM, 23, -1, 1);
  const zt = tf.tensor2d(z, [n, o.inputDim]); const tt = tf.tensor4d(t, [n, S, S, 3]); const it = tf.tensor2d(idT, [n, DIM]);
  const ref = d.lossAndGradients(zt, tt, withIdentity ? it : undefined);
  const st = await d.exportState();
  tf.dispose([zt, tt, it]);
  d.dispose();
  const net = decoderNet(o);
  const g = buildTrainGraph(net, n, withIdentity ? { identity: sur.ort } : {});
  sur.dispose();
  assert.equal(g.identity, withIdentity);
  const s = await ort.InferenceSession.create(g.bytes, { intraOpNumThreads: 2 });
  const byName = new Map(st.tensors.map((x) => [x.name, x.data]));
  const feeds: Record<string, ort.Tensor> = { z: new ort.Tensor('float32', z, [n, o.inputDim]), target: new ort.Tensor('float32', t, [n, S, S, 3]) };
  if (withIdentity) feeds.idTarget = new ort.Tensor('float32', idT, [n, DIM]);
  if (o.linearBase) feeds.zClean = new ort.Tensor('float32', z, [n, o.inputDim]);
  for (const p of net.tensors.filter((x) => x.role === 'param' || x.role === 'fixed')) {
    const lay = layoutOf(p, 'native');
    feeds[p.name] = new ort.Tensor('float32', toGraphLayout(byName.get(p.name)!, p, lay), graphShape(p, lay));
  }
  const out = await s.run(feeds);
  await s.release();
  const loss = (out.loss.data as Float32Array)[0];
  assert.ok(Math.abs(loss - ref.loss) <= 1e-5 * Math.max(1, ref.loss), `loss ${loss} vs TF.js ${ref.loss}`);
  net.trainables.forEach((p, i) => {
    let gv = out[g.gradOutputs[i]].data as Float32Array;
    const l = g.gradLayouts[i];
    if (l) { const map = transposeGather(l.shape, l.perm); gv = Float32Array.from(map, (k) => gv[k]); }
    const e = relError(fromGraphLayout(gv, p, layoutOf(p, 'native')), ref.grads.get(p.name)!);
    assert.ok(e <= 1e-4, `${p.name}: relative gradient error ${e.toExponential(2)}`);
  });
  net.bnLayers.forEach((l, i) => {
    assert.ok(relError(out[`bn_mean:${l.name}`].data as Float32Array, ref.stats[i].mean) <= 1e-4, `${l.name} mean`);
  });
  const terms = out.terms.data as Float32Array;
  assert.equal(terms.length, 3);
  if (!o.ssimWeight) assert.equal(terms[1], 0);
  if (!withIdentity) assert.equal(terms[2], 0);
}

describe('ort: decoder training options vs the TF.js Decoder', function () {
  this.timeout(300000);
  before(wasmBackend);

  it('describes a 112-px linear-base checkpoint exactly as the Decoder writes it', async () => {
    const o = { ...small, linearBase: true };
    const d = Decoder.create(o, linearInit(o));
    const st = await d.exportState();
    d.dispose();
    const net = decoderNet(o);
    const want = [...net.tensors.map((t) => [t.name, t.shape]), ...net.trainables.flatMap((p) => [[`${p.name}/adam_m`, p.shape], [`${p.name}/adam_v`, p.shape]])];
    assert.deepEqual(st.tensors.map((t) => [t.name, t.shape]), want);
    assert.deepEqual(net.tensors.filter((t) => t.role === 'fixed').map((t) => t.name), ['base/kernel', 'base/bias']);
    assert.ok(!net.trainables.some((t) => t.name.startsWith('base/')));
  });

  for (const [name, o, id] of [
    ['linear base', { ...small, linearBase: true }, false],
    ['SSIM term', { ...small, ssimWeight: 0.75, loss: 'l1+l2' }, false],
    ['identity term', { ...small, identityWeight: 0.4 }, true],
    ['every option together', { ...small, linearBase: true, ssimWeight: 0.5, identityWeight: 0.2 }, true],
  ] as const) {
    it(`${name}: loss, every gradient and BN statistics equal TF.js`, async () => {
      await compare(o as DecoderOptions, 3, id);
    });
  }

  it('the linear base takes the clean template, the network the noisy one; steps report the loss terms; the learning rate can be set', async () => {
    const o = { ...small, linearBase: true, noiseVariance: 0.05, ssimWeight: 0.5 };
    const t = await OrtDecoderTrainer.create(o, {}, linearInit(o));
    try {
      const n = 2;
      const z = values(n * 8, 31, -0.4, 0.4);
      const target = values(n * 112 * 112 * 3, 32, 0, 1);
      // With the correction at zero, the loss of the first step is the clean base's (noise would change it).
      const first = await t.trainStep(z, target, n);
      const lin = linearInit(o);
      let l1 = 0;
      for (let r = 0; r < n; r++) {
        for (let q = 0; q < 112 * 112 * 3; q++) {
          let v = lin.bias[q];
          for (let i = 0; i < 8; i++) v += z[r * 8 + i] * lin.kernel[i * 112 * 112 * 3 + q];
          l1 += Math.abs(v - target[r * 112 * 112 * 3 + q]);
        }
      }
      l1 /= n * 112 * 112 * 3;
      assert.ok(!first.skipped && first.terms, 'a step reports its terms');
      assert.ok(Math.abs(first.terms!.pixel - l1) < 1e-4, `pixel term ${first.terms!.pixel} vs the clean base's L1 ${l1}`);
      assert.ok(first.terms!.ssim > 0 && first.terms!.identity === 0);
      t.setLearningRate(1e-5);
      assert.equal(t.learningRate, 1e-5);
      assert.throws(() => t.setLearningRate(NaN), /finite number > 0/);
    } finally {
      await t.dispose();
    }
  });

  it("face-api's ResNet as graph ops: the TF.js encoder's embeddings and input gradients", async function () {
    let enc: FaceApiResnetEncoder;
    try {
      enc = await loadEncoderById('faceapi-resnet128') as FaceApiResnetEncoder;
    } catch (e) {
      console.log(`    (skipped: ${(e as Error).message})`);
      this.skip();
    }
    const N = 2;
    const x = values(N * 150 * 150 * 3, 41, 0, 1);
    const u = values(N * 128, 42);
    const b = new GraphBuilder('face-api check');
    const inp = b.input('x', [N, 150, 150, 3]);
    const e = emitFaceApi(b, enc!.exportParams(), b.op('Transpose', [inp], { perm: [0, 3, 1, 2] }));
    const up = b.input('u', [N, 128]);
    const g = gradients(b, [{ value: b.op('ReduceSum', [b.op('Mul', [e, up])], { keepdims: 0 }), grad: b.scalar(1) }], [inp]).get(inp)!;
    b.rename(e, 'e'); b.rename(g, 'g'); b.output('e', 'g');
    const s = await ort.InferenceSession.create(b.toBytes(), { intraOpNumThreads: 2 });
    const out = await s.run({ x: new ort.Tensor('float32', x, [N, 150, 150, 3]), u: new ort.Tensor('float32', u, [N, 128]) });
    await s.release();
    const xt = tf.tensor4d(x, [N, 150, 150, 3]);
    const ref = (await enc!.embed(xt)).flatMap((r) => Array.from(r));
    const gt = tf.tidy(() => tf.grad((v) => tf.sum(tf.mul(enc!.forward(v as tf.Tensor4D), tf.tensor2d(u, [N, 128]))))(xt));
    assert.ok(relError(out.e.data as Float32Array, ref) < 1e-5, 'embeddings');
    assert.ok(relError(out.g.data as Float32Array, gt.dataSync()) < 1e-4, 'input gradients');
    tf.dispose([xt, gt]);
    enc!.dispose();
  });
});
