/**
 * Encoder throughput on this machine: images per second for embed() at given batch sizes, random crops
 * (speed does not depend on content). Run: `node out/daemon/encoders/bench.js [id …] [--batch 8,32] [--reps 3]`
 * after `npx tsc -p .`; uses `initEngine` (wasm by default) when daemon/tfjs/backend loads.
 */
import { tf } from '../tfjs/tf';
import type { Encoder } from './types';
import { loadEncoder } from './load';
import { listEncoderConfigs } from './registry';

export interface BenchResult {
  id: string;
  batch: number;
  /** Median seconds per embed() call over `reps` timed calls (after one warm-up call). */
  secondsPerBatch: number;
  imagesPerSecond: number;
  backend: string;
}

/** Times `enc.embed` on random [batch, S, S, 3] crops: one warm-up, then the median of `reps` calls. */
export async function benchEncoder(enc: Encoder, batch: number, reps = 3): Promise<BenchResult> {
  const x = tf.randomUniform([batch, enc.inputSize, enc.inputSize, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  try {
    await enc.embed(x);
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      await enc.embed(x);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    times.sort((a, b) => a - b);
    const s = times[Math.floor(times.length / 2)];
    return { id: enc.id, batch, secondsPerBatch: s, imagesPerSecond: batch / s, backend: tf.getBackend() };
  } finally {
    x.dispose();
  }
}

async function startEngine(): Promise<void> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const backend = require('../tfjs/backend') as { initEngine?: (o?: object) => Promise<unknown> };
    if (backend.initEngine) { await backend.initEngine({ log: () => undefined }); return; }
  } catch {
    // fall back to plain wasm below
  }
  await tf.setBackend('wasm');
}

async function main(argv: string[]): Promise<void> {
  let batches = [8, 32];
  let reps = 3;
  const ids: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--batch') batches = argv[++i].split(',').map(Number);
    else if (argv[i] === '--reps') reps = Number(argv[++i]);
    else ids.push(argv[i]);
  }
  await startEngine();
  for (const { config } of listEncoderConfigs()) {
    if (ids.length > 0 && !ids.includes(config.id)) continue;
    const enc = await loadEncoder(config);
    try {
      for (const b of batches) {
        const r = await benchEncoder(enc, b, reps);
        console.log(`${r.id.padEnd(24)} batch ${String(b).padStart(3)}  ${r.imagesPerSecond.toFixed(1).padStart(7)} img/s  (${(r.secondsPerBatch * 1000).toFixed(0)} ms/batch, ${r.backend})`);
      }
    } finally {
      enc.dispose();
    }
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(() => process.exit(0), (err: Error) => { console.error(err.message); process.exit(1); });
}
