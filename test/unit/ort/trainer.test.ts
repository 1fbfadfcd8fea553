/**
 * The W1 decoder on ONNX Runtime against the TF.js reference (daemon/nets/decoder.ts), on reduced widths so it
 * runs in seconds: the checkpoint description matches the Decoder's; every parameter gradient and the batch
 * statistics of one training graph equal TF.js's (1e-4 relative) for each loss, both up-sampling layouts and
 * both weight-gradient formulations; a 50-step training run gives the same loss curve on both engines
 * (stated tolerance: 1e-3 relative per step; Adam amplifies float32 reassociation noise in near-zero
 * gradients, so parameters themselves drift apart slowly — compared after 1 step only); checkpoints resume on
 * the other engine; a checkpoint of another architecture, non-finite gradients and a failing engine are
 * handled as specified.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder, DecoderOptions } from '../../../daemon/nets/decoder';
import { transposeGather, adamUpdate } from '../../../daemon/nets/layers/adam';
import { buildTrainGraph } from '../../../daemon/ort/decoderGraph';
import { decoderNet } from '../../../daemon/ort/decoderNet';
import { openDecoderRunner } from '../../../daemon/ort/decoderRunner';
import { decodeEmbeddingsOrt } from '../../../daemon/ort/decode';
import { decodeEmbeddings } from '../../../daemon/decoder/reconstruct';
import { fromGraphLayout, graphShape, layoutOf, toGraphLayout } from '../../../daemon/ort/paramLayout';
import { CheckpointMismatchError, OrtDecoderTrainer } from '../../../daemon/ort/trainer';
import { Adam } from '../../../daemon/nets/layers/adam';
import { relError, values, wasmBackend } from './helpers';
import { useTmpDir } from '../tfjs/helpers';

const small: DecoderOptions = { inputDim: 16, outputSize: 64, residualLayers: 1, noiseVariance: 0.001, loss: 'l1', learningRate: 5e-4, seed: 7, baseChannels: 32 };

function batch(n: number, o: DecoderOptions, seed: number): { z: Float32Array; t: Float32Array } {
  const s = o.outputSize;
  const t = values(n * s * s * 3, seed + 1, 0, 1);
  return { z: values(n * o.inputDim, seed, -1, 1), t };
}

describe('ort/trainer: W1 on ONNX Runtime vs the TF.js Decoder', function () {
  this.timeout(300000);
  const tmp = useTmpDir('faceinv-ort-', wasmBackend);

  it('describes the checkpoint exactly as the Decoder writes it (names, shapes, order)', async () => {
    for (const [outputSize, residualLayers] of [[64, 0], [64, 2], [128, 1]] as const) {
      const o = { ...small, outputSize, residualLayers };
      const d = Decoder.create(o);
      const st = await d.exportState();
      d.dispose();
      const net = decoderNet(o);
      const want = [...net.tensors.map((t) => [t.name, t.shape]), ...net.trainables.flatMap((p) => [[`${p.name}/adam_m`, p.shape], [`${p.name}/adam_v`, p.shape]])];
      assert.deepEqual(st.tensors.map((t) => [t.name, t.shape]), want);
    }
  });

  it('converts kernel layouts both ways without loss', () => {
    for (const spec of [{ name: 'up0/kernel', shape: [4, 4, 6, 5] }, { name: 'res0_0/kernel', shape: [3, 3, 4, 4] }, { name: 'dense/kernel', shape: [3, 7] }]) {
      const t = { ...spec, role: 'param' as const };
      const data = values(spec.shape.reduce((a, b) => a * b, 1), 3);
      for (const convT of ['native', 'phase'] as const) {
        const lay = layoutOf(t, convT);
        const g = toGraphLayout(data, t, lay);
        assert.equal(g.length, graphShape(t, lay).reduce((a, b) => a * b, 1));
        assert.deepEqual(Array.from(fromGraphLayout(g, t, lay)), Array.from(data));
      }
    }
  });

  for (const loss of ['l1', 'l2', 'l1+l2'] as const) {
    for (const [convT, weightGrad] of [['native', 'shift'], ['phase', 'shift'], ['native', 'im2col']] as const) {
      it(`loss ${loss}, ${convT} up-sampling, ${weightGrad} weight gradients: loss, every gradient and BN statistics equal TF.js`, async () => {
        const o = { ...small, loss, noiseVariance: 0 };
        const n = 4;
        const d = Decoder.create(o);
        const { z, t } = batch(n, o, 11);
        const zt = tf.tensor2d(z, [n, o.inputDim]); const tt = tf.tensor4d(t, [n, 64, 64, 3]);
        const ref = d.lossAndGradients(zt, tt);
        const st = await d.exportState();
        tf.dispose([zt, tt]);
        d.dispose();
        const net = decoderNet(o);
        const g = buildTrainGraph(net, n, { convT, weightGrad });
        const s = await ort.InferenceSession.create(g.bytes, { intraOpNumThreads: 2 });
        const byName = new Map(st.tensors.map((x) => [x.name, x.data]));
        const feeds: Record<string, ort.Tensor> = { z: new ort.Tensor('float32', z, [n, o.inputDim]), target: new ort.Tensor('float32', t, [n, 64, 64, 3]) };
        for (const p of net.trainables) {
          const lay = layoutOf(p, convT);
          feeds[p.name] = new ort.Tensor('float32', toGraphLayout(byName.get(p.name)!, p, lay), graphShape(p, lay));
        }
        const out = await s.run(feeds);
        await s.release();
        assert.ok(Math.abs((out.loss.data as Float32Array)[0] - ref.loss) <= 1e-6 * Math.max(1, ref.loss), `loss ${out.loss.data[0]} vs ${ref.loss}`);
        net.trainables.forEach((p, i) => {
          let gv = out[g.gradOutputs[i]].data as Float32Array;
          const l = g.gradLayouts[i];
          if (l) { const map = transposeGather(l.shape, l.perm); gv = Float32Array.from(map, (k) => gv[k]); }
          const mine = fromGraphLayout(gv, p, layoutOf(p, convT));
          const e = relError(mine, ref.grads.get(p.name)!);
          assert.ok(e <= 1e-4, `${p.name}: relative gradient error ${e.toExponential(2)}`);
        });
        net.bnLayers.forEach((l, i) => {
          assert.ok(relError(out[`bn_mean:${l.name}`].data as Float32Array, ref.stats[i].mean) <= 1e-4, `${l.name} mean`);
          assert.ok(relError(out[`bn_var:${l.name}`].data as Float32Array, ref.stats[i].variance) <= 1e-4, `${l.name} variance`);
        });
      });
    }
  }

  it('the whole training graph agrees with finite differences of its own loss (along its gradient and a random direction)', async () => {
    const o = { ...small, noiseVariance: 0, residualLayers: 2 as const, loss: 'l2' as const };
    const n = 4;
    const d = Decoder.create(o);
    const st = await d.exportState();
    d.dispose();
    const { z, t } = batch(n, o, 51);
    const net = decoderNet(o);
    const g = buildTrainGraph(net, n);
    const s = await ort.InferenceSession.create(g.bytes, { intraOpNumThreads: 2 });
    const byName = new Map(st.tensors.map((x) => [x.name, x.data]));
    const base = net.trainables.map((p) => toGraphLayout(byName.get(p.name)!, p, layoutOf(p, 'native')));
    const run = async (eps: number, dirs: Float32Array[] | null) => {
      const feeds: Record<string, ort.Tensor> = { z: new ort.Tensor('float32', z, [n, o.inputDim]), target: new ort.Tensor('float32', t, [n, 64, 64, 3]) };
      net.trainables.forEach((p, i) => { feeds[p.name] = new ort.Tensor('float32', dirs ? base[i].map((v, k) => v + eps * dirs[i][k]) : base[i], graphShape(p, layoutOf(p, 'native'))); });
      return s.run(feeds);
    };
    const out = await run(0, null);
    const grads = net.trainables.map((_, i) => {
      const gv = out[g.gradOutputs[i]].data as Float32Array;
      const l = g.gradLayouts[i];
      return l ? Float32Array.from(transposeGather(l.shape, l.perm), (k) => gv[k]) : gv.slice();
    });
    const gnorm = Math.sqrt(grads.reduce((a, gv) => a + gv.reduce((b, v) => b + v * v, 0), 0));
    // Each tensor's random direction is in proportion to its own scale (kernels ~0.02, BN vectors ~1).
    const random = net.trainables.map((_, i) => {
      const rms = Math.sqrt(base[i].reduce((a, v) => a + v * v, 0) / base[i].length) || 0.02;
      return values(base[i].length, 100 + i).map((v) => v * rms);
    });
    for (const [what, dirs, eps] of [['gradient', grads.map((gv) => gv.map((v) => v / gnorm)), 5e-4], ['random', random, 1e-2]] as const) {
      let an = 0;
      grads.forEach((gv, i) => { for (let k = 0; k < gv.length; k++) an += gv[k] * dirs[i][k]; });
      const fd = (((await run(eps, dirs)).loss.data as Float32Array)[0] - ((await run(-eps, dirs)).loss.data as Float32Array)[0]) / (2 * eps);
      console.log(`    ${what} direction: finite differences ${fd.toExponential(4)}, graph ${an.toExponential(4)}`);
      assert.ok(Math.abs(fd - an) <= 5e-2 * Math.abs(an), `${what} direction: finite differences ${fd}, graph ${an}`);
    }
    await s.release();
  });

  it('Adam on the host is the TF.js Adam (and a transposed gradient lands where it belongs)', () => {
    const n = 6 * 5;
    const p0 = values(n, 1); const grads = [values(n, 2), values(n, 3), values(n, 4)];
    const v = tf.variable(tf.tensor(p0));
    const adam = new Adam([v], { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const th = p0.slice(); const m = new Float32Array(n); const vv = new Float32Array(n);
    grads.forEach((g, i) => {
      tf.tidy(() => adam.apply([tf.tensor(g)]));
      // The host gets the same gradient stored transposed ([5, 6] → θ is its transpose).
      const gT = new Float32Array(n);
      for (let a = 0; a < 6; a++) for (let b = 0; b < 5; b++) gT[b * 6 + a] = g[a * 5 + b];
      adamUpdate(th, m, vv, gT, { learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, i + 1, transposeGather([5, 6], [1, 0]));
    });
    assert.ok(relError(th, v.dataSync() as Float32Array) <= 1e-6, 'Adam parameters differ');
    adam.dispose(); v.dispose();
  });

  it('trains 50 steps with the same loss curve as TF.js (≤ 1e-3 relative per step), and agrees after one step', async () => {
    const n = 8;
    const d = Decoder.create(small);
    const o = await OrtDecoderTrainer.create(small, { threads: 2 });
    const { z, t } = batch(n, small, 21);
    const zt = tf.tensor2d(z, [n, small.inputDim]); const tt = tf.tensor4d(t, [n, 64, 64, 3]);
    const worst = { step: 0, rel: 0 };
    for (let i = 0; i < 50; i++) {
      const a = d.trainStep(zt, tt);
      const b = await o.trainStep(z, t, n);
      assert.equal(b.skipped, false);
      const rel = Math.abs(b.loss - a) / a;
      if (rel > worst.rel) { worst.step = i + 1; worst.rel = rel; }
      if (i === 0) {
        const sa = await d.exportState(); const sb = o.exportState();
        sa.tensors.forEach((x, k) => assert.ok(relError(sb.tensors[k].data, x.data) <= 1e-4, `after 1 step: ${x.name} differs`));
      }
    }
    console.log(`    worst per-step loss difference over 50 steps: ${worst.rel.toExponential(2)} (step ${worst.step})`);
    assert.ok(worst.rel <= 1e-3, `loss curves differ by ${worst.rel} at step ${worst.step}`);
    assert.equal(o.step, d.step);
    tf.dispose([zt, tt]);
    d.dispose();
    await o.dispose();
  });

  it('resumes a TF.js checkpoint on ONNX Runtime and back, continuing the same run', async () => {
    const n = 4;
    const { z, t } = batch(n, small, 31);
    const zt = tf.tensor2d(z, [n, small.inputDim]); const tt = tf.tensor4d(t, [n, 64, 64, 3]);
    const ref = Decoder.create(small);
    const refLoss: number[] = [];
    for (let i = 0; i < 6; i++) refLoss.push(ref.trainStep(zt, tt));
    const a = Decoder.create(small);
    a.trainStep(zt, tt); a.trainStep(zt, tt);
    await a.save(path.join(tmp.dir, 'a'));
    a.dispose();
    const o = await OrtDecoderTrainer.load(path.join(tmp.dir, 'a'), { threads: 2 });
    assert.equal(o.step, 2);
    const l3 = (await o.trainStep(z, t, n)).loss;
    const l4 = (await o.trainStep(z, t, n)).loss;
    await o.save(path.join(tmp.dir, 'b'));
    await o.dispose();
    const back = await Decoder.load(path.join(tmp.dir, 'b'));
    assert.equal(back.step, 4);
    const l5 = back.trainStep(zt, tt);
    const l6 = back.trainStep(zt, tt);
    [l3, l4, l5, l6].forEach((l, i) => assert.ok(Math.abs(l - refLoss[i + 2]) / refLoss[i + 2] <= 1e-4, `step ${i + 3}: ${l} vs ${refLoss[i + 2]}`));
    back.dispose(); ref.dispose();
    tf.dispose([zt, tt]);
  });

  it('refuses a checkpoint of another architecture with a clear error, on ONNX Runtime and through the runner', async () => {
    const other = Decoder.create({ ...small, baseChannels: 16 });
    await other.save(path.join(tmp.dir, 'other'));
    other.dispose();
    const st = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'other', 'decoder.json'), 'utf8'));
    st.options.baseChannels = 32; // claims the architecture of `small`, holds tensors of another
    fs.writeFileSync(path.join(tmp.dir, 'other', 'decoder.json'), JSON.stringify(st));
    await assert.rejects(OrtDecoderTrainer.load(path.join(tmp.dir, 'other')), (e: Error) => e instanceof CheckpointMismatchError && /tensor 'dense\/kernel' has shape \[16,256\].*needs \[16,512\]/.test(e.message));
    await assert.rejects(openDecoderRunner('auto', { create: small, resumeFrom: path.join(tmp.dir, 'other'), batch: 4 }), /dense\/kernel' has shape/);
  });

  it('skips a step with non-finite gradients (parameters untouched), counts repeats, and recovers', async () => {
    const n = 4;
    const o = await OrtDecoderTrainer.create(small, { threads: 2 });
    const { z, t } = batch(n, small, 41);
    const before = o.exportState();
    const bad = t.slice(); bad[5] = NaN;
    const r1 = await o.trainStep(z, bad, n);
    const r2 = await o.trainStep(z, bad, n);
    assert.ok(r1.skipped && r2.skipped && /non-finite/.test(r1.skipped ? r1.reason : ''));
    assert.equal(o.consecutiveSkips, 2);
    assert.equal(o.step, 2, 'skipped steps advance the step (the batch order stays that of the run)');
    const after = o.exportState();
    before.tensors.forEach((x, k) => assert.deepEqual(after.tensors[k].data, x.data, `${x.name} changed by a skipped step`));
    const r3 = await o.trainStep(z, t, n);
    assert.equal(r3.skipped, false);
    assert.equal(o.consecutiveSkips, 0);
    await o.dispose();
    await assert.rejects(o.trainStep(z, t, n), /used after dispose/);
  });

  it('decodes embeddings to the same uint8 images as the TF.js decodeEmbeddings (±1 level at rounding ties)', async () => {
    const d = Decoder.create(small);
    const { z, t } = batch(8, small, 61);
    tf.tidy(() => { const zt = tf.tensor2d(z, [8, 16]); const tt = tf.tensor4d(t, [8, 64, 64, 3]); for (let i = 0; i < 5; i++) d.trainStep(zt, tt); });
    const rows = Array.from({ length: 5 }, (_, i) => z.slice(i * 16, (i + 1) * 16));
    const a = decodeEmbeddings(d, rows, 2);
    const state = await d.exportState();
    const b = await decodeEmbeddingsOrt(state, rows, 2);
    d.dispose();
    let off = 0; let worst = 0;
    for (let i = 0; i < a.length; i++) { const e = Math.abs(a[i] - b[i]); if (e) off++; worst = Math.max(worst, e); }
    assert.ok(worst <= 1 && off <= a.length * 1e-3, `${off} of ${a.length} pixels differ, by up to ${worst}`);
    await assert.rejects(decodeEmbeddingsOrt(state, [new Float32Array(3)]), /embedding 0 has 3 values, the decoder takes 16/);
  });

  it('leaves no TF.js tensors behind (initialisation and noise draws are the only TF.js work)', async () => {
    const before = tf.memory().numTensors;
    const o = await OrtDecoderTrainer.create(small, { threads: 1 });
    const { z, t } = batch(4, small, 71);
    for (let i = 0; i < 3; i++) await o.trainStep(z, t, 4);
    await o.forward(z, 4);
    await o.save(path.join(tmp.dir, 'leak'));
    await o.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects batches of the wrong size by name', async () => {
    const o = await OrtDecoderTrainer.create(small, { threads: 1 });
    await assert.rejects(o.trainStep(new Float32Array(5), new Float32Array(4 * 64 * 64 * 3), 4), /z must be \[4, 16\]/);
    await assert.rejects(o.trainStep(new Float32Array(64), new Float32Array(7), 4), /target must be \[4, 64, 64, 3\]/);
    await o.dispose();
  });

  it("engine 'auto' falls back to TF.js with a warning when ONNX Runtime cannot start; 'onnxruntime' fails clearly", async () => {
    const warnings: string[] = [];
    const bad = { threads: -3 };
    const r = await openDecoderRunner('auto', { create: small, resumeFrom: null, batch: 4, settings: bad, warn: (m) => warnings.push(m) });
    assert.equal(r.decision.chosen, 'tfjs');
    assert.match(r.decision.reason, /^fallback: /);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /falling back to TF\.js/);
    await r.dispose();
    await assert.rejects(openDecoderRunner('onnxruntime', { create: small, resumeFrom: null, batch: 4, settings: bad }), /engine 'onnxruntime'/);
    const ok = await openDecoderRunner('auto', { create: small, resumeFrom: null, batch: 4 });
    assert.equal(ok.decision.chosen, 'onnxruntime');
    assert.equal(ok.decision.provider, 'cpu');
    await ok.dispose();
    const tfr = await openDecoderRunner('tfjs', { create: small, resumeFrom: null, batch: 4 });
    assert.equal(tfr.decision.chosen, 'tfjs');
    await tfr.dispose();
  });
});
