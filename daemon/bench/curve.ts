/**
 * The same W1 training run on both engines: `steps` Adam steps from the same initialisation on one fixed
 * random batch (noise included), on TF.js (daemon/nets/decoder.ts) and on ONNX Runtime (daemon/ort/trainer.ts);
 * reports both loss curves and their largest relative difference per step (the engines' agreement; see
 * docs/engine.md for the stated tolerance, 1e-3).
 */
import { tf } from '../tfjs/tf';
import { Decoder, DecoderOptions } from '../nets/decoder';
import { OrtDecoderTrainer } from '../ort/trainer';
import { W1_BENCH_OPTIONS } from './w1Step';

export interface CurveResult { steps: number; batch: number; tfjs: number[]; onnxruntime: number[]; maxRelDiff: number; atStep: number }

export async function compareLossCurves(steps = 50, batch = 32, opts: DecoderOptions = W1_BENCH_OPTIONS): Promise<CurveResult> {
  const z = tf.randomNormal([batch, opts.inputDim], 0, 1, 'float32', 3) as tf.Tensor2D;
  const t = tf.randomUniform([batch, opts.outputSize, opts.outputSize, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const zA = z.dataSync() as Float32Array; const tA = t.dataSync() as Float32Array;
  const d = Decoder.create(opts);
  const o = await OrtDecoderTrainer.create(opts);
  const a: number[] = []; const b: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      a.push(d.trainStep(z, t));
      const r = await o.trainStep(zA, tA, batch);
      b.push(r.loss);
    }
  } finally {
    tf.dispose([z, t]);
    d.dispose();
    await o.dispose();
  }
  let maxRelDiff = 0; let atStep = 0;
  a.forEach((x, i) => { const r = Math.abs(b[i] - x) / Math.abs(x); if (r > maxRelDiff) { maxRelDiff = r; atStep = i + 1; } });
  return { steps, batch, tfjs: a, onnxruntime: b, maxRelDiff, atStep };
}
