/**
 * The black-box decoder on either engine, chosen by ./engineChoice.ts: ONNX Runtime (./trainer.ts) wherever
 * it covers the model, TF.js (daemon/nets/decoder.ts, the reference) on request or as the fallback. Both sit behind
 * `DecoderRunner`, fed host batches, so the training loop is the same on either; the TF.js runner builds exactly the tensors
 * of the TF.js reference, so both engines train the same model from the same batches.
 *
 *   'auto'         ONNX Runtime; if its graph cannot be built or run (an op without a backward rule, a
 *                  session that does not start), TF.js with a warning naming the reason.
 *   'onnxruntime'  ONNX Runtime or a clear error.
 *   'tfjs'         TF.js.
 */
import { tf } from '../tfjs/tf';
import { Decoder, DecoderOptions, IdentityEmbed, LinearBaseInit } from '../nets/decoder';
import type { SurrogateEmitter } from './decoderGraph';
import { CheckpointMismatchError, OrtDecoderTrainer, OrtTrainerSettings, StepOutcome } from './trainer';
import { openEngine, type EngineDecision, type EngineRequest } from './engineChoice';

export type { EngineDecision, EngineRequest } from './engineChoice';

/**
 * One batch on the host: z [n, D], target pixels [n, S, S, 3] uint8 (0..255) and, for the identity term, the
 * surrogate's unit embeddings of the target photos [n, d].
 */
export interface HostBatch { z: Float32Array; pixels: Uint8Array; n: number; idTarget?: Float32Array }

/** The identity term's surrogate on either engine (see daemon/decoder/surrogate.ts). */
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

/** Opens the decoder on the requested engine (engineChoice.ts decides; see the header for 'auto'). */
export async function openDecoderRunner(requested: EngineRequest, o: OpenRunnerOptions): Promise<DecoderRunner> {
  const identityObstacle = o.identity && !o.identity.ort ? `ONNX Runtime cannot build the identity term's surrogate ${o.identity.id} (${o.identity.ortObstacle ?? 'no graph emitter'})` : null;
  const { value, engine } = await openEngine<(decision: EngineDecision) => DecoderRunner>(requested, {
    requestedReason: 'requested by the run config',
    async tfjs() {
      const d = o.resumeFrom ? await Decoder.load(o.resumeFrom) : Decoder.create(o.create, o.linear ?? null);
      if (!o.identity || !((d.options.identityWeight ?? 0) > 0)) return (decision) => new TfjsRunner(decision, d);
      try {
        const term = await o.identity.tfjs();
        d.setIdentityTerm(term.embed);
        return (decision) => new TfjsRunner(decision, d, term.dispose);
      } catch (e) {
        d.dispose();
        throw e;
      }
    },
    async ort() {
      if (identityObstacle) throw new Error(identityObstacle);
      const settings: OrtTrainerSettings = o.identity?.ort ? { ...o.settings, graph: { ...o.settings?.graph, identity: o.identity.ort } } : (o.settings ?? {});
      let trainer: OrtDecoderTrainer | null = null;
      try {
        trainer = o.resumeFrom ? await OrtDecoderTrainer.load(o.resumeFrom, settings) : await OrtDecoderTrainer.create(o.create, settings, o.linear ?? null);
        await trainer.prepare(o.batch, true);
        const t = trainer, p = trainer.provider!;
        return { value: (decision) => new OrtRunner(decision, t), reason: `${requested === 'auto' ? 'default' : 'requested by the run config'}; ${p.reason}`, provider: p.provider };
      } catch (e) {
        await trainer?.dispose();
        throw e;
      }
    },
    // A checkpoint that does not fit is the same problem on either engine.
    noFallback: (e) => e instanceof CheckpointMismatchError,
    fallbackWarning: (msg) => (msg === identityObstacle ? `${msg}; training on TF.js` : `ONNX Runtime cannot train this decoder (${msg}); falling back to TF.js`),
    warn: o.warn,
  });
  return value(engine);
}
