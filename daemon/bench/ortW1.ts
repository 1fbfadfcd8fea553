/**
 * The W1 training step (batch 32, 128×128, L1, Adam; daemon/bench/w1Step.ts's decoder) on ONNX Runtime
 * (daemon/ort/trainer.ts): time per step split into ONNX Runtime's run (forward + backward graph) and the
 * host's Adam, and optionally ONNX Runtime's own per-op profile of the step graph.
 */
import { OpTime, readProfile } from '../ort/session';
import { OrtDecoderTrainer } from '../ort/trainer';
import { DecoderOptions, flopsPerImage } from '../nets/decoder';
import { W1_BENCH_OPTIONS } from './w1Step';

export interface OrtW1Result {
  batch: number; steps: number; msPerStep: number; msMin: number; imgPerSec: number; gflops: number;
  /** Mean ms per step inside session.run and on the host (Adam, moving averages). */
  runMs: number; hostMs: number;
  /** Process CPU time per step (all threads), ms: with T threads and an idle machine, wall ≈ cpu / T. */
  cpuMsPerStep: number;
  provider: string;
  threads: number;
  profile?: { totalMs: number; byOp: OpTime[]; topNodes: Array<{ node: string; op: string; shape: string; ms: number }> };
}

function randomFill(n: number, seed: number, lo: number, hi: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; a[i] = lo + (s / 4294967296) * (hi - lo); }
  return a;
}

export async function benchOrtW1Step(batch = 32, steps = 5, warmup = 2, profile = false, opts: DecoderOptions = W1_BENCH_OPTIONS, threads?: number): Promise<OrtW1Result> {
  const z = randomFill(batch * opts.inputDim, 3, -2, 2);
  const t = randomFill(batch * opts.outputSize * opts.outputSize * 3, 4, 0, 1);
  const tr = await OrtDecoderTrainer.create(opts, { threads });
  let res: OrtW1Result;
  try {
    for (let i = 0; i < warmup; i++) await tr.trainStep(z, t, batch);
    const times: number[] = []; let run = 0; let host = 0;
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await tr.trainStep(z, t, batch);
      times.push(performance.now() - t0);
      run += tr.lastTimings.runMs; host += tr.lastTimings.hostMs;
    }
    const cpu = process.cpuUsage(cpu0);
    const ms = times.reduce((a, b) => a + b, 0) / steps;
    res = {
      cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps,
      batch, steps, msPerStep: ms, msMin: Math.min(...times), imgPerSec: (batch * 1000) / ms,
      gflops: (3 * flopsPerImage(opts) * batch) / ms / 1e6, runMs: run / steps, hostMs: host / steps,
      provider: tr.provider?.reason ?? '?', threads: tr.provider?.threads ?? 0,
    };
  } finally {
    await tr.dispose();
  }
  if (profile) {
    const pt = await OrtDecoderTrainer.create(opts, { threads, profile: true });
    try {
      await pt.trainStep(z, t, batch);
      await pt.trainStep(z, t, batch);
      const p = readProfile(await pt.trainingSession(batch), 2);
      res.profile = { totalMs: p.totalMs, byOp: p.byOp, topNodes: p.byNode.slice(0, 12) };
    } finally {
      await pt.dispose();
    }
  }
  return res;
}
