/**
 * Benchmark (not part of the unit suite): 200 latent-search steps for 16 targets with the imported
 * faceplugin fr_feature.onnx encoder and a decoder-sized generator on the wasm backend.
 * Generator: `daemon/nets/decoder.ts` (`Decoder.create(opts).forward(z, false)`) when present, else random
 * weights in the W1 decoder architecture (dense 512→8192 = 4×4×512, four stride-2 transposed-conv blocks
 * to 64², a final one to 128²×3, sigmoid). Usage: node out/test/unit/nets/latentSearch.bench.js [steps] [batch] [--profile] [--parts] [--random-w1]
 */
import * as fs from 'node:fs';
import { tf } from '../../../daemon/tfjs/tf';
import { initEngine } from '../../../daemon/tfjs/backend';
import { loadOnnxAsTf } from '../../../daemon/onnx/model';
import { FACEPLUGIN_PIXEL_NORM, onnxDiffEncoder } from '../../../daemon/onnx/diffEncoder';
import { Generator, latentSearch } from '../../../daemon/nets/latentSearch';
import { matMulConstRight } from '../../../daemon/onnx/ops/matmulGrad';
import { FR_FEATURE, randomValues } from '../onnx/helpers';

function w1Generator(): { G: Generator; dispose(): void; source: string } {
  const ws: tf.Tensor[] = [];
  const rnd = (shape: number[], fanIn: number, seed: number): tf.Tensor => {
    const t = tf.mul(tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape), Math.sqrt(3 / fanIn));
    ws.push(t); return t;
  };
  const dense = rnd([512, 8192], 512, 1) as tf.Tensor2D;
  const denseT = tf.transpose(dense) as tf.Tensor2D; ws.push(denseT);
  const chans = [512, 256, 128, 64, 32, 3];
  const filters = chans.slice(0, -1).map((cin, i) => rnd([4, 4, chans[i + 1], cin], cin * 4, 10 + i));
  const G: Generator = (z) => tf.tidy(() => {
    const n = z.shape[0];
    let h = tf.relu(tf.reshape(matMulConstRight(z, dense, denseT), [n, 4, 4, 512])) as tf.Tensor4D;
    filters.forEach((f, i) => {
      const s = h.shape[1] * 2;
      h = tf.conv2dTranspose(h, f as tf.Tensor4D, [n, s, s, chans[i + 1]], 2, 'same');
      h = (i < filters.length - 1 ? tf.relu(h) : tf.sigmoid(h)) as tf.Tensor4D;
    });
    return h;
  });
  return { G, dispose: () => tf.dispose(ws), source: 'random W1-architecture generator (512→4×4×512→…→128²×3)' };
}

/** The project's decoder (W1 defaults, fresh random weights, inference mode) when daemon/nets/decoder.ts builds. */
function decoderGenerator(): { G: Generator; dispose(): void; source: string } | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const m = require('../../../daemon/nets/decoder') as {
      Decoder: { create(o: unknown): { forward(z: tf.Tensor2D, training: boolean): tf.Tensor4D; dispose(): void } };
      DEFAULT_DECODER_OPTIONS: unknown;
    };
    const d = m.Decoder.create(m.DEFAULT_DECODER_OPTIONS);
    return { G: (z) => d.forward(z, false), dispose: () => d.dispose(), source: 'daemon/nets/decoder.ts Decoder.create(DEFAULT_DECODER_OPTIONS) (random init)' };
  } catch (e) {
    console.log(`decoder.ts unavailable (${(e as Error).message.split('\n')[0]}); using the random W1 generator`);
    return null;
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const steps = Number(args[0] ?? 200);
  const batch = Number(args[1] ?? 16);
  const profile = args.includes('--profile');
  const info = await initEngine({ backend: 'wasm' });
  console.log(`engine: ${info.backend} (${info.reason})`);
  if (!fs.existsSync(FR_FEATURE)) throw new Error(`${FR_FEATURE} missing`);
  const model = await loadOnnxAsTf(FR_FEATURE);
  const E = onnxDiffEncoder(model, FACEPLUGIN_PIXEL_NORM);
  const gen = args.includes('--random-w1') ? w1Generator() : (decoderGenerator() ?? w1Generator());
  console.log(`generator: ${gen.source}`);
  const x = tf.zeros([1, 3, 112, 112]);
  const macs = model.countMacs({ input: x }); x.dispose();
  console.log(`fr_feature: ${(macs.total / 1e6).toFixed(1)} M MACs = ${(2 * macs.total / 1e9).toFixed(3)} GFLOP per image (forward)`);
  if (args.includes('--parts')) {
    const z = tf.randomNormal([batch, 512]) as tf.Tensor2D;
    const img = tf.randomUniform([batch, 112, 112, 3]) as tf.Tensor4D;
    const time = (name: string, fn: () => tf.Tensor, reps = 2): void => {
      tf.tidy(() => { fn().dataSync(); });
      const c0 = process.cpuUsage(); const t0 = Date.now();
      for (let i = 0; i < reps; i++) tf.tidy(() => { fn().dataSync(); });
      const cu = process.cpuUsage(c0);
      console.log(`  ${name.padEnd(34)} wall ${((Date.now() - t0) / reps).toFixed(0).padStart(5)} ms, process CPU ${((cu.user + cu.system) / 1000 / reps).toFixed(0).padStart(5)} ms`);
    };
    console.log(`parts at batch ${batch}:`);
    time('G forward', () => gen.G(z));
    time('G forward + input-gradient', () => tf.grad((zz: tf.Tensor) => tf.sum(gen.G(zz as tf.Tensor2D)))(z));
    time('E forward (fr_feature)', () => E(img));
    time('E forward + input-gradient', () => tf.grad((x: tf.Tensor) => tf.sum(E(x as tf.Tensor4D)))(img));
    tf.dispose([z, img]);
  }
  const targets = Array.from({ length: batch }, (_, i) => randomValues(512, 100 + i));
  if (profile) {
    const p = await tf.profile(async () => {
      const r = await latentSearch(gen.G, E, targets, 512, { steps: 2, learningRate: 0.05, init: 'estimate', estimate: targets, priorWeight: 0, crop: { size: 112 } });
      r.images.dispose();
    });
    const byKernel = new Map<string, number>();
    for (const k of p.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    console.log(`profile of 2 steps (+ final scoring pass): kernel time ${total.toFixed(0)} ms`);
    for (const [k, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${k.padEnd(28)} ${ms.toFixed(0).padStart(6)} ms  ${(100 * ms / total).toFixed(1)}%`);
  }
  const t0 = Date.now();
  let last = 0;
  const res = await latentSearch(gen.G, E, targets, 512, {
    steps, learningRate: 0.05, init: 'estimate', estimate: targets, priorWeight: 0, crop: { size: 112 },
    onStep: (s) => { if (s.step === 1 || s.step % 50 === 0) console.log(`  step ${s.step}: loss ${s.loss.toFixed(4)} mean cos ${s.meanCosine.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`); last = s.step; },
  });
  const secs = (Date.now() - t0) / 1000;
  res.images.dispose();
  console.log(`latentSearch: ${last} steps, batch ${batch}: ${secs.toFixed(1)} s (${(1000 * secs / Math.max(1, last)).toFixed(0)} ms/step); best mean cosine ${(res.cosine.reduce((a, b) => a + b, 0) / batch).toFixed(4)}`);
  gen.dispose(); model.dispose();
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
