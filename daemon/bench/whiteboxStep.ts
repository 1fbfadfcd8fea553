/**
 * The white-box search step — G (the W1 decoder, 128×128) forward and backward to z, the crop to 112, E
 * (faceplugin's fr_feature.onnx, ArcFace-style) forward and backward — for a batch of targets (16 by
 * default), on ONNX Runtime (daemon/ort/search.ts) and, optionally for comparison, on TF.js
 * (daemon/nets/latentSearch.ts with the TF.js import of the same encoder). ms per step, the time 200
 * steps would take, and the step graph's per-op profile.
 */
import { findEncoderConfig } from '../encoders/registry';
import { resolveModelPath } from '../encoders/registry';
import { loadEncoder } from '../encoders/load';
import { tf } from '../tfjs/tf';
import { Decoder } from '../nets/decoder';
import { latentSearch, latentSearchOn } from '../nets/latentSearch';
import { onnxEncoderSource } from '../ort/encoderGraph';
import { decoderGenerator } from '../ort/generators';
import { OrtSearch } from '../ort/search';
import { OpTime, readProfile } from '../ort/session';
import { W1_BENCH_OPTIONS } from './w1Step';

export interface WhiteboxStepResult {
  targets: number;
  engine: 'onnxruntime' | 'tfjs';
  steps: number;
  msPerStep: number;
  /** Projected seconds for 200 steps of this batch. */
  seconds200: number;
  /** Process CPU time per step (all threads), ms. */
  cpuMsPerStep: number;
  profile?: { totalMs: number; byOp: OpTime[] };
}

function unitRows(n: number, d: number, seed: number): Float32Array[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    const v = Float32Array.from({ length: d }, () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296 - 0.5; });
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}

export async function benchWhiteboxStep(engine: 'onnxruntime' | 'tfjs', targets = 16, steps = 10, profile = false, threads?: number): Promise<WhiteboxStepResult> {
  const config = findEncoderConfig('arcface512-faceplugin').config;
  const file = resolveModelPath(config);
  const d = Decoder.create(W1_BENCH_OPTIONS);
  const rows = unitRows(targets, 512, 5);
  const opts = { steps, learningRate: 0.01, init: 'estimate' as const, estimate: rows, priorWeight: 0 };
  try {
    if (engine === 'onnxruntime') {
      const search = await OrtSearch.create(decoderGenerator(await d.exportState()), onnxEncoderSource(config, file), { size: 112 }, 0, { threads, profile });
      try {
        await latentSearchOn(search, rows, 512, { ...opts, steps: 1 }).then((r) => r.images.dispose()); // warm-up
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const r = await latentSearchOn(search, rows, 512, opts);
        const ms = (performance.now() - t0) / (steps + 1); // steps + the final scoring pass
        const c = process.cpuUsage(c0);
        r.images.dispose();
        const res: WhiteboxStepResult = { targets, engine, steps, msPerStep: ms, seconds200: (ms * 201) / 1000, cpuMsPerStep: (c.user + c.system) / 1000 / (steps + 1) };
        if (profile) {
          const p = readProfile(search.stepSession, steps + 3);
          res.profile = { totalMs: p.totalMs, byOp: p.byOp };
        }
        return res;
      } finally {
        await search.dispose();
      }
    }
    const enc = await loadEncoder(config, { differentiable: true });
    try {
      if (!enc.forward) throw new Error(`encoder ${config.id} has no differentiable forward on TF.js`);
      const G = (z: tf.Tensor2D) => d.forward(z, false);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = await latentSearch(G, enc.forward, rows, 512, { ...opts, crop: { size: 112 } });
      const ms = (performance.now() - t0) / (steps + 1);
      const c = process.cpuUsage(c0);
      r.images.dispose();
      return { targets, engine, steps, msPerStep: ms, seconds200: (ms * 201) / 1000, cpuMsPerStep: (c.user + c.system) / 1000 / (steps + 1) };
    } finally {
      enc.dispose();
    }
  } finally {
    d.dispose();
  }
}
