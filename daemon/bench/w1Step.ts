/**
 * W1 training-step benchmark: the seed decoder (daemon/nets/decoder.ts, D=512, 128×128, one residual
 * layer) doing Adam steps on a fixed random batch. GFLOP/s counts 3 × forward FLOPs per image.
 */
import { tf } from '../tfjs/tf';
import { DEFAULT_DECODER_OPTIONS, Decoder, DecoderOptions, flopsPerImage } from '../nets/decoder';
import { collectInnerKernelTimes } from '../tfjs/kernels/scope';
import { KernelTime, profileKernels } from './profile';

/** W1 as the seed defines it: the decoder's defaults (from the run config schema) at 128², seed 0. */
export const W1_BENCH_OPTIONS: DecoderOptions = { ...DEFAULT_DECODER_OPTIONS, outputSize: 128, seed: 0 };

export interface W1StepResult {
  batch: number; steps: number; msPerStep: number; msMin: number; imgPerSec: number; gflops: number;
  profile?: KernelTime[];
  /** Time inside our composite wasm kernels by inner kernel (`Owner/Kernel` → ms), with --profile. */
  innerKernels?: Record<string, number>;
}

export async function benchW1Step(batch = 32, steps = 5, warmup = 2, profile = false,
  opts: DecoderOptions = W1_BENCH_OPTIONS): Promise<W1StepResult> {
  const d = Decoder.create(opts);
  const z = tf.randomNormal([batch, opts.inputDim], 0, 1, 'float32', 3) as tf.Tensor2D;
  const t = tf.randomUniform([batch, opts.outputSize, opts.outputSize, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  try {
    for (let i = 0; i < warmup; i++) d.trainStep(z, t);
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      d.trainStep(z, t);
      times.push(performance.now() - t0);
    }
    const ms = times.reduce((a, b) => a + b, 0) / steps;
    const res: W1StepResult = {
      batch, steps, msPerStep: ms, msMin: Math.min(...times), imgPerSec: (batch * 1000) / ms,
      gflops: (3 * flopsPerImage(opts) * batch) / ms / 1e6,
    };
    if (profile) {
      const inner = collectInnerKernelTimes(true);
      try {
        res.profile = await profileKernels(() => { d.trainStep(z, t); });
      } finally {
        collectInnerKernelTimes(false);
      }
      res.innerKernels = Object.fromEntries([...(inner ?? new Map()).entries()].sort((x, y) => y[1] - x[1]).slice(0, 12));
    }
    return res;
  } finally {
    tf.dispose([z, t]);
    d.dispose();
  }
}
