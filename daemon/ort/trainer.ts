/**
 * Training and decoding the W1 decoder on ONNX Runtime, with Decoder.trainStep's semantics (daemon/nets/
 * decoder.ts): the same N(0, noiseVariance) input noise per step (drawn with TF.js's seeded generator, seed
 * trainingNoiseSeed), batch norm with batch statistics and moving averages (momentum 0.9, unbiased variance
 * M/(M−1)), the same Adam constants and update (../nets/layers/adam.ts). One ONNX graph per batch size computes the loss,
 * every gradient and the batch statistics (./decoderGraph.ts); Adam and the moving averages run on the host.
 *
 * State is the Decoder's checkpoint (decoder.json + weights.bin, readDecoderCheckpoint/writeDecoderCheckpoint),
 * held in graph layouts (./paramLayout.ts) and converted on load/save, so a run resumes on either engine.
 * A step whose gradients are not all finite is skipped (parameters, moments and moving statistics untouched,
 * the step counter advances so the batch order stays that of the run); `consecutiveSkips` lets the caller
 * stop after repeated ones.
 */
import * as ort from 'onnxruntime-node';
import { tf } from '../tfjs/tf';
import { Decoder, DecoderOptions, DecoderState, LinearBaseInit, readDecoderCheckpoint, trainingNoiseSeed, validateDecoderOptions, writeDecoderCheckpoint } from '../nets/decoder';
import { AdamConstants, adamConstantsOf, adamUpdate, transposeGather } from '../nets/layers/adam';
import { updateMovingAveragesHost } from '../nets/layers/batchNorm';
import { buildForwardGraph, buildTrainGraph, ForwardGraph, GraphOptions, TrainGraph } from './decoderGraph';
import { decoderNet, DecoderNet, sizeOf, TensorSpec } from './decoderNet';
import { fromGraphLayout, graphShape, GraphLayout, layoutOf, toGraphLayout } from './paramLayout';
import { createSession, OrtSession, SessionSettings } from './session';


export interface OrtTrainerSettings extends SessionSettings {
  graph?: GraphOptions;
}

/**
 * A training step's loss before the update; `terms` (when the engine reports them): the pixel loss, 1 − SSIM
 * and the identity term's mean 1 − cos, unweighted (0 for a term not in the loss).
 */
export type StepOutcome = { loss: number; skipped: false; terms?: LossTerms } | { loss: number; skipped: true; reason: string };
export interface LossTerms { pixel: number; ssim: number; identity: number }

interface TrainSession { s: OrtSession; g: TrainGraph; gathers: (Int32Array | null)[]; grads: Map<string, ort.Tensor> }
interface ForwardSession { s: OrtSession; g: ForwardGraph }

/** A checkpoint that does not fit the decoder (missing tensor, other shape): not an engine problem. */
export class CheckpointMismatchError extends Error {
  constructor(message: string) { super(message); this.name = 'CheckpointMismatchError'; }
}

/** Checks that a checkpoint's tensors are exactly the ones this decoder needs (names and shapes). */
export function checkStateShapes(state: DecoderState, net: DecoderNet, where: string): void {
  const have = new Map(state.tensors.map((t) => [t.name, t]));
  const need: Array<{ name: string; shape: number[] }> = [...net.tensors, ...net.trainables.flatMap((p) => [
    { name: `${p.name}/adam_m`, shape: p.shape }, { name: `${p.name}/adam_v`, shape: p.shape }])];
  for (const n of need) {
    const t = have.get(n.name);
    if (!t) throw new CheckpointMismatchError(`${where}: tensor '${n.name}' is missing (the checkpoint is not of this decoder architecture)`);
    if (t.shape.length !== n.shape.length || t.shape.some((d, i) => d !== n.shape[i]) || t.data.length !== sizeOf(n.shape)) {
      throw new CheckpointMismatchError(`${where}: tensor '${n.name}' has shape [${t.shape}] (${t.data.length} values), this decoder needs [${n.shape}]`);
    }
  }
}

export class OrtDecoderTrainer {
  readonly options: DecoderOptions;
  readonly net: DecoderNet;
  /** Adam updates taken (skipped steps included), as Decoder.step. */
  step: number;
  consecutiveSkips = 0;
  private readonly theta = new Map<string, Float32Array>();
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private readonly layouts = new Map<string, GraphLayout>();
  private readonly adam: AdamConstants;
  private readonly trainSessions = new Map<number, Promise<TrainSession>>();
  private readonly forwardSessions = new Map<number, Promise<ForwardSession>>();
  private disposed = false;
  /** Where the last training step spent its time (ms): ONNX Runtime's run, and the host's Adam + moving averages. */
  lastTimings = { runMs: 0, hostMs: 0 };
  /** Provider and reason of the last session created. */
  provider: { provider: 'cpu' | 'cuda'; reason: string; threads: number } | null = null;

  private constructor(state: DecoderState, private readonly settings: OrtTrainerSettings) {
    this.options = Object.freeze({ ...validateDecoderOptions(state.options, 'ONNX Runtime decoder options') });
    this.net = decoderNet(this.options);
    checkStateShapes(state, this.net, 'ONNX Runtime decoder state');
    const byName = new Map(state.tensors.map((t) => [t.name, t.data]));
    const convT = settings.graph?.convT ?? 'native';
    for (const t of this.net.tensors) {
      const layout = layoutOf(t, convT);
      this.layouts.set(t.name, layout);
      this.theta.set(t.name, toGraphLayout(byName.get(t.name)!, t, layout));
    }
    for (const p of this.net.trainables) {
      const layout = this.layouts.get(p.name)!;
      this.m.set(p.name, toGraphLayout(byName.get(`${p.name}/adam_m`)!, p, layout));
      this.v.set(p.name, toGraphLayout(byName.get(`${p.name}/adam_v`)!, p, layout));
    }
    this.step = state.step;
    this.adam = adamConstantsOf(this.options);
  }

  /**
   * A fresh decoder with the TF.js Decoder's seeded initialisation (needs a TF.js backend for the draws);
   * `linear` is the fitted base of a linearBase decoder.
   */
  static async create(opts: DecoderOptions, settings: OrtTrainerSettings = {}, linear: LinearBaseInit | null = null): Promise<OrtDecoderTrainer> {
    const d = Decoder.create(opts, linear);
    try {
      return new OrtDecoderTrainer(await d.exportState(), settings);
    } finally {
      d.dispose();
    }
  }

  static fromState(state: DecoderState, settings: OrtTrainerSettings = {}): OrtDecoderTrainer {
    return new OrtDecoderTrainer(state, settings);
  }

  /** Loads a checkpoint written by either engine; a checkpoint of another architecture is a clear error. */
  static async load(dir: string, settings: OrtTrainerSettings = {}): Promise<OrtDecoderTrainer> {
    const state = await readDecoderCheckpoint(dir);
    try {
      return new OrtDecoderTrainer(state, settings);
    } catch (e) {
      if (e instanceof CheckpointMismatchError) throw new CheckpointMismatchError(`${dir}: ${e.message}`);
      throw e;
    }
  }

  private check(where: string): void {
    if (this.disposed) throw new Error(`OrtDecoderTrainer.${where}: used after dispose()`);
  }

  /** The Adam step size from now on (a learning-rate schedule; the step count and moments are kept). */
  setLearningRate(lr: number): void {
    if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`OrtDecoderTrainer.setLearningRate: the learning rate must be a finite number > 0, got ${lr}`);
    this.adam.learningRate = lr;
  }

  get learningRate(): number {
    return this.adam.learningRate;
  }

  private tensorFor(t: TensorSpec): ort.Tensor {
    return new ort.Tensor('float32', this.theta.get(t.name)!, graphShape(t, this.layouts.get(t.name)!));
  }

  private trainSession(n: number): Promise<TrainSession> {
    let p = this.trainSessions.get(n);
    if (!p) {
      p = (async () => {
        const g = buildTrainGraph(this.net, n, this.settings.graph);
        const s = await createSession(g.bytes, `the decoder training graph (batch ${n})`, this.settings);
        this.provider = { provider: s.provider, reason: s.reason, threads: s.threads };
        const gathers = g.gradLayouts.map((l) => (l ? transposeGather(l.shape, l.perm) : null));
        const grads = new Map<string, ort.Tensor>();
        this.net.trainables.forEach((p2, i) => {
          const l = g.gradLayouts[i];
          grads.set(g.gradOutputs[i], new ort.Tensor('float32', new Float32Array(sizeOf(p2.shape)), l ? l.outShape : graphShape(p2, this.layouts.get(p2.name)!)));
        });
        return { s, g, gathers, grads };
      })();
      this.trainSessions.set(n, p);
      p.catch(() => this.trainSessions.delete(n));
    }
    return p;
  }

  private forwardSession(n: number): Promise<ForwardSession> {
    let p = this.forwardSessions.get(n);
    if (!p) {
      p = (async () => {
        const g = buildForwardGraph(this.net, n, this.settings.graph);
        const s = await createSession(g.bytes, `the decoder forward graph (batch ${n})`, this.settings);
        this.provider = { provider: s.provider, reason: s.reason, threads: s.threads };
        return { s, g };
      })();
      this.forwardSessions.set(n, p);
      p.catch(() => this.forwardSessions.delete(n));
    }
    return p;
  }

  /** The training session of batch size n (built on first use), e.g. for its profile (./session.ts readProfile). */
  async trainingSession(n: number): Promise<OrtSession> {
    return (await this.trainSession(n)).s;
  }

  /** Builds and starts the session(s) for batch size n ahead of use (surfaces graph/provider errors early). */
  async prepare(n: number, training = true): Promise<void> {
    this.check('prepare');
    await (training ? this.trainSession(n) : this.forwardSession(n));
  }

  private checkBatch(z: Float32Array, target: Float32Array | null, n: number, where: string): void {
    const { inputDim: d, outputSize: s } = this.options;
    if (!(Number.isInteger(n) && n >= 1)) throw new Error(`OrtDecoderTrainer.${where}: batch size must be a positive integer, got ${n}`);
    if (z.length !== n * d) throw new Error(`OrtDecoderTrainer.${where}: z must be [${n}, ${d}] (${n * d} values), got ${z.length}`);
    if (target && target.length !== n * s * s * 3) throw new Error(`OrtDecoderTrainer.${where}: target must be [${n}, ${s}, ${s}, 3] in [0, 1] (${n * s * s * 3} values), got ${target.length}`);
  }

  /** z + N(0, noiseVariance) with the TF.js Decoder's draw for this step. */
  private noisy(z: Float32Array, n: number): Float32Array {
    const { noiseVariance, inputDim } = this.options;
    if (!(noiseVariance > 0)) return z;
    const noise = tf.tidy(() => tf.randomNormal([n, inputDim], 0, Math.sqrt(noiseVariance), 'float32', trainingNoiseSeed(this.options, this.step)).dataSync() as Float32Array);
    const out = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) out[i] = z[i] + noise[i];
    return out;
  }

  /**
   * One training step on z [n, D] and target [n, S, S, 3] in [0, 1] (row-major NHWC): the loss before the
   * step, or a skipped step when a gradient is not finite.
   */
  async trainStep(z: Float32Array, target: Float32Array, n: number, idTarget?: Float32Array): Promise<StepOutcome> {
    this.check('trainStep');
    this.checkBatch(z, target, n, 'trainStep');
    const ts = await this.trainSession(n);
    const { inputDim: d, outputSize: s } = this.options;
    const feeds: Record<string, ort.Tensor> = {
      z: new ort.Tensor('float32', this.noisy(z, n), [n, d]),
      target: new ort.Tensor('float32', target, [n, s, s, 3]),
    };
    if (ts.g.identity) {
      const dim = this.settings.graph!.identity!.dim;
      if (!idTarget || idTarget.length !== n * dim) {
        throw new Error(`OrtDecoderTrainer.trainStep: the identity term needs the surrogate's embeddings of the targets, [${n}, ${dim}]; got ${idTarget ? `${idTarget.length} values` : 'none'}`);
      }
      feeds.idTarget = new ort.Tensor('float32', idTarget, [n, dim]);
    }
    for (const p of this.net.trainables) feeds[p.name] = this.tensorFor(p);
    for (const p of this.net.tensors) if (p.role === 'fixed') feeds[p.name] = this.tensorFor(p);
    if (this.net.options.linearBase) feeds.zClean = new ort.Tensor('float32', z, [n, d]);
    const fetches: Record<string, ort.Tensor | null> = Object.fromEntries(ts.grads);
    for (const k of ['loss', 'terms', 'gradSumSq', ...ts.g.statOutputs.flatMap((o) => [o.mean, o.variance])]) fetches[k] = null;
    const t0 = performance.now();
    const out = await ts.s.session.run(feeds, fetches as ort.InferenceSession.FetchesType);
    const t1 = performance.now();
    this.lastTimings = { runMs: t1 - t0, hostMs: 0 };
    const loss = (out.loss.data as Float32Array)[0];
    const tv = out.terms.data as Float32Array;
    const terms: LossTerms = { pixel: tv[0], ssim: tv[1], identity: tv[2] };
    const sumSq = (out.gradSumSq.data as Float32Array)[0];
    this.step += 1;
    if (!Number.isFinite(sumSq) || !Number.isFinite(loss)) {
      this.consecutiveSkips += 1;
      return { loss, skipped: true, reason: `non-finite ${Number.isFinite(loss) ? 'gradients' : 'loss'} (loss ${loss}, Σg² ${sumSq})` };
    }
    this.consecutiveSkips = 0;
    this.net.trainables.forEach((p, i) => {
      const g = ts.grads.get(ts.g.gradOutputs[i])!.data as Float32Array;
      adamUpdate(this.theta.get(p.name)!, this.m.get(p.name)!, this.v.get(p.name)!, g, this.adam, this.step, ts.gathers[i] ?? undefined);
    });
    this.net.bnLayers.forEach((l, i) => {
      const mean = out[ts.g.statOutputs[i].mean].data as Float32Array;
      const variance = out[ts.g.statOutputs[i].variance].data as Float32Array;
      updateMovingAveragesHost(this.theta.get(`${l.name}/moving_mean`)!, this.theta.get(`${l.name}/moving_variance`)!, mean, variance, l.perChannel(n));
    });
    this.lastTimings.hostMs = performance.now() - t1;
    return { loss, skipped: false, terms };
  }

  /** Inference forward (BN with moving statistics): z [n, D] → [n, S, S, 3] in [0, 1], row-major NHWC. */
  async forward(z: Float32Array, n: number): Promise<Float32Array> {
    this.check('forward');
    this.checkBatch(z, null, n, 'forward');
    const fs = await this.forwardSession(n);
    const feeds: Record<string, ort.Tensor> = { z: new ort.Tensor('float32', z, [n, this.options.inputDim]) };
    for (const t of this.net.tensors) feeds[t.name] = this.tensorFor(t);
    const out = await fs.s.session.run(feeds, ['image']);
    return out.image.data as Float32Array;
  }

  /** The checkpoint contents in the Decoder's format and order (TF layouts). */
  exportState(): DecoderState {
    this.check('exportState');
    const tensors: DecoderState['tensors'] = [];
    for (const t of this.net.tensors) tensors.push({ name: t.name, shape: t.shape.slice(), data: fromGraphLayout(this.theta.get(t.name)!, t, this.layouts.get(t.name)!) });
    for (const p of this.net.trainables) {
      tensors.push({ name: `${p.name}/adam_m`, shape: p.shape.slice(), data: fromGraphLayout(this.m.get(p.name)!, p, this.layouts.get(p.name)!) });
      tensors.push({ name: `${p.name}/adam_v`, shape: p.shape.slice(), data: fromGraphLayout(this.v.get(p.name)!, p, this.layouts.get(p.name)!) });
    }
    return { options: { ...this.options }, step: this.step, tensors };
  }

  /** Writes decoder.json + weights.bin (the Decoder's format, loadable by Decoder.load). */
  async save(dir: string): Promise<void> {
    await writeDecoderCheckpoint(dir, this.exportState());
  }

  get parameterCount(): number {
    return this.net.trainables.reduce((a, p) => a + sizeOf(p.shape), 0);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const all = [...this.trainSessions.values(), ...this.forwardSessions.values()];
    this.trainSessions.clear();
    this.forwardSessions.clear();
    for (const p of all) {
      try {
        await (await p).s.session.release();
      } catch {
        /* a session that failed to start holds nothing */
      }
    }
  }
}
