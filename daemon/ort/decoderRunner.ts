/**
 * One engine choice for the black-box decoder: ONNX Runtime (./trainer.ts) by default wherever it covers
 * the model, TF.js (daemon/nets/decoder.ts, the reference) on request or as the fallback. Both sit behind
 * `DecoderRunner`, fed host batches, so the training loop is the same on either; the TF.js runner builds the
 * very tensors the loop built before (so TF.js training is unchanged).
 *
 *   'auto'         ONNX Runtime; if its graph cannot be built or run (an op without a backward rule, a
 *                  session that does not start), TF.js with a warning naming the reason.
 *   'onnxruntime'  ONNX Runtime or a clear error.
 *   'tfjs'         TF.js.
 */
import { tf } from '../engine/tf';
import { Decoder, DecoderOptions, IdentityEmbed, LinearBaseInit } from '../nets/decoder';
import type { SurrogateEmitter } from './decoderGraph';
import { CheckpointMismatchError, OrtDecoderTrainer, OrtTrainerSettings, StepOutcome } from './trainer';

export type EngineRequest = 'auto' | 'onnxruntime' | 'tfjs';
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', 'onnxruntime', 'tfjs'];

export interface EngineDecision {
  requested: EngineRequest;
  chosen: 'onnxruntime' | 'tfjs';
  /** Why: "requested", "default", or the ONNX Runtime failure that made 'auto' fall back. */
  reason: string;
  /** ONNX Runtime execution provider (and why), when chosen. */
  provider?: 'cpu' | 'cuda';
}

/**
 * One batch on the host: z [n, D], target pixels [n, S, S, 3] uint8 (0..255) and, for the identity term, the
 * surrogate's unit embeddings of the target photos [n, d].
 */
export interface HostBatch { z: Float32Array; pixels: Uint8Array; n: number; idTarget?: Float32Array }

/** The identity term's surrogate on either engine (see daemon/blackbox/surrogate.ts). */
export interface IdentitySurrogate {
  id: string;
  dim: number;
  /** Graph ops for ONNX Runtime, or null with the reason in `ortObstacle`. */
  ort: SurrogateEmitter | null;
  ortObstacle?: string | null;
  tfjs(): Promise<{ embed: IdentityEmbed; dispose(): void }>;
}

export interface DecoderRunner {
  readonly decision: EngineDecision;
  readonly options: DecoderOptions;
  /** Adam steps taken. */
  readonly step: number;
  /** Consecutive skipped (non-finite) steps up to now. */
  readonly consecutiveSkips: number;
  trainStep(b: HostBatch): Promise<StepOutcome>;
  /** The Adam step size from the next step on (a learning-rate schedule). */
  setLearningRate(lr: number): void;
  /** Mean |G(z) − target| with batch norm in inference mode (no noise). */
  meanAbsError(b: HostBatch): Promise<number>;
  /** Inference decode: z [n, D] → [n, S, S, 3] float32 in [0, 1]. */
  decode(z: Float32Array, n: number): Promise<Float32Array>;
  save(dir: string): Promise<void>;
  dispose(): Promise<void>;
}

function batchTensors(b: HostBatch, d: number, s: number): { z: tf.Tensor2D; target: tf.Tensor4D } {
  return tf.tidy(() => ({
    z: tf.tensor2d(b.z, [b.n, d]),
    target: tf.tensor4d(b.pixels, [b.n, s, s, 3], 'int32').toFloat().div(255) as tf.Tensor4D,
  }));
}

class TfjsRunner implements DecoderRunner {
  constructor(readonly decision: EngineDecision, private readonly decoder: Decoder, private readonly release: () => void = () => undefined) {}
  get options(): DecoderOptions { return this.decoder.options; }
  get step(): number { return this.decoder.step; }
  get consecutiveSkips(): number { return 0; }
  setLearningRate(lr: number): void { this.decoder.setLearningRate(lr); }
  async trainStep(b: HostBatch): Promise<StepOutcome> {
    const { z, target } = batchTensors(b, this.options.inputDim, this.options.outputSize);
    const id = b.idTarget ? tf.tensor2d(b.idTarget, [b.n, b.idTarget.length / b.n]) : undefined;
    try {
      return { loss: this.decoder.trainStep(z, target, id), skipped: false };
    } finally {
      z.dispose(); target.dispose(); id?.dispose();
    }
  }
  async meanAbsError(b: HostBatch): Promise<number> {
    const { z, target } = batchTensors(b, this.options.inputDim, this.options.outputSize);
    try {
      return tf.tidy(() => this.decoder.forward(z, false).sub(target).abs().mean().dataSync()[0]);
    } finally {
      z.dispose(); target.dispose();
    }
  }
  async decode(z: Float32Array, n: number): Promise<Float32Array> {
    const t = tf.tensor2d(z, [n, this.options.inputDim]);
    try {
      const y = this.decoder.forward(t, false);
      const v = y.dataSync() as Float32Array;
      y.dispose();
      return v;
    } finally {
      t.dispose();
    }
  }
  save(dir: string): Promise<void> { return this.decoder.save(dir); }
  async dispose(): Promise<void> { this.decoder.dispose(); this.release(); }
}

/** Pixels 0..255 → float32 in [0, 1] (the value TF.js's toFloat().div(255) gives). */
export function pixelsToUnit(p: Uint8Array): Float32Array {
  const out = new Float32Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] / 255;
  return out;
}

class OrtRunner implements DecoderRunner {
  constructor(readonly decision: EngineDecision, private readonly t: OrtDecoderTrainer) {}
  get options(): DecoderOptions { return this.t.options; }
  get step(): number { return this.t.step; }
  get consecutiveSkips(): number { return this.t.consecutiveSkips; }
  trainStep(b: HostBatch): Promise<StepOutcome> { return this.t.trainStep(b.z, pixelsToUnit(b.pixels), b.n, b.idTarget); }
  setLearningRate(lr: number): void { this.t.setLearningRate(lr); }
  async meanAbsError(b: HostBatch): Promise<number> {
    const y = await this.t.forward(b.z, b.n);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += Math.abs(y[i] - b.pixels[i] / 255);
    return s / y.length;
  }
  decode(z: Float32Array, n: number): Promise<Float32Array> { return this.t.forward(z, n); }
  save(dir: string): Promise<void> { return this.t.save(dir); }
  dispose(): Promise<void> { return this.t.dispose(); }
}

export interface OpenRunnerOptions {
  /** Options of a fresh decoder (ignored when resuming). */
  create: DecoderOptions;
  /** The fitted linear base of a fresh linearBase decoder. */
  linear?: LinearBaseInit | null;
  /** The identity term's surrogate (when the decoder's identityWeight > 0). */
  identity?: IdentitySurrogate | null;
  /** Checkpoint folder to resume from (either engine's), or null. */
  resumeFrom: string | null;
  /** Training batch size: its session is built up front, so failures surface before training starts. */
  batch: number;
  settings?: OrtTrainerSettings;
  warn?: (msg: string) => void;
}

/** Opens the decoder on the requested engine (see the header for 'auto'). */
export async function openDecoderRunner(requested: EngineRequest, o: OpenRunnerOptions): Promise<DecoderRunner> {
  if (!ENGINE_REQUESTS.includes(requested)) throw new Error(`unknown engine '${requested}' (expected ${ENGINE_REQUESTS.join(', ')})`);
  const tfjs = async (reason: string): Promise<DecoderRunner> => {
    const d = o.resumeFrom ? await Decoder.load(o.resumeFrom) : Decoder.create(o.create, o.linear ?? null);
    if (!o.identity || !((d.options.identityWeight ?? 0) > 0)) return new TfjsRunner({ requested, chosen: 'tfjs', reason }, d);
    try {
      const term = await o.identity.tfjs();
      d.setIdentityTerm(term.embed);
      return new TfjsRunner({ requested, chosen: 'tfjs', reason }, d, term.dispose);
    } catch (e) {
      d.dispose();
      throw e;
    }
  };
  if (requested === 'tfjs') return tfjs('requested by the run config');
  if (o.identity && !o.identity.ort) {
    const why = `ONNX Runtime cannot build the identity term's surrogate ${o.identity.id} (${o.identity.ortObstacle ?? 'no graph emitter'})`;
    if (requested === 'onnxruntime') throw new Error(`engine 'onnxruntime': ${why}`);
    o.warn?.(`${why}; training on TF.js`);
    return tfjs(`fallback: ${why}`);
  }
  const settings: OrtTrainerSettings = o.identity?.ort ? { ...o.settings, graph: { ...o.settings?.graph, identity: o.identity.ort } } : (o.settings ?? {});
  let trainer: OrtDecoderTrainer | null = null;
  try {
    trainer = o.resumeFrom ? await OrtDecoderTrainer.load(o.resumeFrom, settings) : await OrtDecoderTrainer.create(o.create, settings, o.linear ?? null);
    await trainer.prepare(o.batch, true);
    const p = trainer.provider!;
    return new OrtRunner({ requested, chosen: 'onnxruntime', reason: `${requested === 'auto' ? 'default' : 'requested by the run config'}; ${p.reason}`, provider: p.provider }, trainer);
  } catch (e) {
    await trainer?.dispose();
    const msg = (e as Error).message;
    // A checkpoint that does not fit is the same problem on either engine: no fallback.
    if (e instanceof CheckpointMismatchError) throw e;
    if (requested === 'onnxruntime') throw new Error(`engine 'onnxruntime': ${msg}`);
    o.warn?.(`ONNX Runtime cannot train this decoder (${msg}); falling back to TF.js`);
    return tfjs(`fallback: ${msg}`);
  }
}
