/**
 * W1, the seed black-box inverse decoder: face template → face image, and its training options (output size,
 * identity loss through a surrogate, perceptual and adversarial terms: what `faceinv ablate --decoders` compares).
 *
 * Claim followed: a DCGAN-style deconvolutional decoder trained to reconstruct faces from deep templates
 * (NbNet, Mai et al. 2018, TPAMI, "On the reconstruction of face images from deep face templates"), with
 * Gaussian noise on the input template during training and optional residual units between the
 * up-sampling blocks (their "NbB" neighbourly blocks, here x + f(x) with 1–2 3×3 conv-BN-ReLU layers).
 *
 *   z [N, D] (+ N(0, noiseVariance) when training)
 *   → dense D→s0²·C (no bias) + BN + ReLU → reshape [N, s0, s0, C]       (C = `baseChannels`)
 *   → blocks { conv2dTranspose k4 s2 'same' (no bias) + BN + ReLU }, each halving the channels, a residual
 *     unit after every block but the last
 *   → conv2dTranspose k4 s2 + bias → sigmoid → [N, S, S, 3] in [0, 1], S = outputSize.
 * Output sizes (decoderGeometry):
 *   64   s0 = 4, C = 512, blocks 8²×256, 16²×128, 32²×64               (quick runs)
 *   128  s0 = 4, C = 512, blocks 8²×256 … 64²×32                        (the seed's W1)
 *   112  s0 = 7, C = 256, blocks 14²×128, 28²×64, 56²×32: four doublings give 112 = the ArcFace crop, so the
 *        output is already in the attacked encoder's aligned frame (arcface-5pt at its own size); the same
 *        channels per resolution as W1 at 56 % of its forward FLOPs (0.29 vs 0.52 GFLOP per image).
 * `linearBase` (residual on the linear inverse): y = L(z) + C(z̃), where L(z) = z·W + b is a fixed ridge
 * regression from template to pixels fitted on the training pairs (the closed-form inverse that a
 * ridge/PCA face model computes, daemon/decoder/linearBase.ts), and C is the network above with its last
 * layer initialised to zero and no sigmoid, so training starts exactly at the linear inverse and learns a
 * nonlinear correction; the output is clipped to [0, 1] in inference (the loss sees the unclipped sum). The
 * training noise goes into C only (z̃ = z + noise): through the fixed map it would just add L(noise).
 * BN: batch statistics in training, moving averages (momentum 0.9, unbiased variance) in inference.
 * Optimiser: Adam (./layers/adam.ts); `setLearningRate` lets the trainer follow a schedule.
 * Loss: pixel loss (mean |y − t| (l1), mean (y − t)² (l2), or their sum)
 *   + ssimWeight · (1 − SSIM(y, t))                 (./layers/ssim.ts; Shahreza et al. use 0.75)
 *   + identityWeight · mean(1 − cos(F(y), f_t))     (F = a differentiable surrogate face encoder including the
 *                                                    warp into its frame, set by `setIdentityTerm`; f_t its
 *                                                    embedding of the target photo; never the attacked one)
 *
 * Options and geometry: ./decoderOptions.ts; save format (both engines): ./decoderCheckpoint.ts.
 */
import * as path from 'path';
import { tf } from '../tfjs/tf';
import { Adam, adamConstantsOf } from './layers/adam';
import { BatchStats, batchNormInfer, batchNormTrain, updateMovingAverages } from './layers/batchNorm';
import { ssimLuma } from './layers/ssim';
import { DecoderState, readDecoderCheckpoint, writeDecoderCheckpoint } from './decoderCheckpoint';
import {
  DecoderGeometry, DecoderOptions, LinearBaseInit, decoderGeometry, linearBaseShapes, trainingNoiseSeed, validateDecoderOptions,
} from './decoderOptions';

export * from './decoderOptions';
export * from './decoderCheckpoint';

const INIT_STD = 0.02; // DCGAN initialisation

/**
 * The identity term's surrogate F on the active TF.js backend: decoder images [N, S, S, 3] (unclipped, about
 * [0, 1]) → [N, d] L2-normalised embeddings, differentiable (warp into the surrogate's frame included).
 */
export type IdentityEmbed = (images: tf.Tensor4D) => tf.Tensor2D;

let instanceCounter = 0;

interface BnParams { gamma: tf.Variable; beta: tf.Variable; movingMean: tf.Variable; movingVar: tf.Variable }

/** z + N(0, variance): the training-time input noise (NbNet). The argument is the *variance*; the std is its root. */
export function noisyInput(z: tf.Tensor2D, variance: number, seed: number): tf.Tensor2D {
  if (!(variance > 0)) return z;
  return tf.add(z, tf.randomNormal(z.shape, 0, Math.sqrt(variance), 'float32', seed));
}

/** mean over rows of 1 − cos(e, t), e and t [N, d] (neither need be normalised; ε as ort/layers.ts oneMinusCos). */
export function identityLoss(e: tf.Tensor2D, t: tf.Tensor2D): tf.Scalar {
  if (e.shape[1] !== t.shape[1]) throw new Error(`identity term: the surrogate gives ${e.shape[1]} values per face, the targets have ${t.shape[1]}`);
  const dot = tf.sum(tf.mul(e, t), 1);
  const norms = tf.mul(tf.norm(e, 'euclidean', 1), tf.norm(t, 'euclidean', 1));
  return tf.mean(tf.sub(1, tf.div(dot, tf.add(norms, 1e-12))));
}

export class Decoder {
  readonly options: DecoderOptions;
  private readonly prefix: string;
  /** Trainable variables in a fixed order (save order, Adam order). */
  private readonly trainables: tf.Variable[] = [];
  /** All state tensors by logical name (parameters, moving stats). */
  private readonly named = new Map<string, tf.Variable>();
  private readonly adam: Adam;
  private disposed = false;

  private readonly denseW: tf.Variable;
  private readonly denseBn: BnParams;
  private readonly blocks: Array<{ w: tf.Variable; bn: BnParams; res: Array<{ w: tf.Variable; bn: BnParams }> }> = [];
  private readonly finalW: tf.Variable;
  private readonly finalB: tf.Variable;
  private readonly geometry: DecoderGeometry;
  /** Fixed linear base (linearBase only): [D, S·S·3] and [S·S·3]. */
  private readonly baseW: tf.Variable | null = null;
  private readonly baseB: tf.Variable | null = null;
  private identity: IdentityEmbed | null = null;

  private constructor(opts: DecoderOptions, init: Map<string, Float32Array> | null, linear: LinearBaseInit | null = null) {
    this.options = Object.freeze({ ...opts });
    this.prefix = `decoder${instanceCounter++}`;
    const seed = opts.seed ?? 0;
    let seedIdx = 0;
    const make = (name: string, shape: number[], kind: 'weight' | 'zeros' | 'ones' | 'fixed', trainable: boolean, fixed?: Float32Array): tf.Variable => {
      const given = init?.get(name) ?? fixed;
      const size = shape.reduce((a, b) => a * b, 1);
      if (init && !given) throw new Error(`decoder load: tensor '${name}' missing from the saved file`);
      if (given && given.length !== size) throw new Error(`decoder load: tensor '${name}' has ${given.length} values, expected ${size} for shape [${shape}]`);
      const value = tf.tidy(() => given ? tf.tensor(given, shape)
        : kind === 'weight' ? tf.randomNormal(shape, 0, INIT_STD, 'float32', seed * 7919 + seedIdx++)
          : kind === 'ones' ? tf.ones(shape) : tf.zeros(shape));
      const v = tf.variable(value, trainable, `${this.prefix}/${name}`);
      value.dispose();
      this.named.set(name, v);
      if (trainable) this.trainables.push(v);
      return v;
    };
    const bn = (name: string, c: number): BnParams => ({
      gamma: make(`${name}/gamma`, [c], 'ones', true),
      beta: make(`${name}/beta`, [c], 'zeros', true),
      movingMean: make(`${name}/moving_mean`, [c], 'zeros', false),
      movingVar: make(`${name}/moving_variance`, [c], 'ones', false),
    });
    this.geometry = decoderGeometry(opts);
    const { startSide, base, blocks: chans } = this.geometry;
    const cells = startSide * startSide;
    this.denseW = make('dense/kernel', [opts.inputDim, cells * base], 'weight', true);
    this.denseBn = bn('dense/bn', cells * base);
    let inC = base;
    chans.forEach((c, i) => {
      const w = make(`up${i}/kernel`, [4, 4, c, inC], 'weight', true); // conv2dTranspose: [k, k, out, in]
      const b = bn(`up${i}/bn`, c);
      const res: Array<{ w: tf.Variable; bn: BnParams }> = [];
      if (i < chans.length - 1) {
        for (let r = 0; r < opts.residualLayers; r++) {
          res.push({ w: make(`res${i}_${r}/kernel`, [3, 3, c, c], 'weight', true), bn: bn(`res${i}_${r}/bn`, c) });
        }
      }
      this.blocks.push({ w, bn: b, res });
      inC = c;
    });
    // With a linear base the correction starts at zero, so training starts at the linear inverse itself.
    this.finalW = make('out/kernel', [4, 4, 3, inC], opts.linearBase ? 'zeros' : 'weight', true);
    this.finalB = make('out/bias', [3], 'zeros', true);
    if (opts.linearBase) {
      if (!init && !linear) throw new Error('Decoder.create: linearBase needs the fitted base (kernel and bias), see daemon/decoder/linearBase.ts');
      const shapes = linearBaseShapes(opts);
      if (linear && (linear.kernel.length !== shapes.kernel[0] * shapes.kernel[1] || linear.bias.length !== shapes.bias[0])) {
        throw new Error(`Decoder.create: the linear base must be [${shapes.kernel}] and [${shapes.bias}], got ${linear.kernel.length} and ${linear.bias.length} values`);
      }
      this.baseW = make('base/kernel', shapes.kernel, 'fixed', false, linear?.kernel);
      this.baseB = make('base/bias', shapes.bias, 'fixed', false, linear?.bias);
    }
    this.adam = new Adam(this.trainables, adamConstantsOf(opts));
    if (init) {
      this.trainables.forEach((p, i) => {
        for (const [slot, vars] of [['adam_m', this.adam.m], ['adam_v', this.adam.v]] as const) {
          const name = `${this.logicalName(p)}/${slot}`;
          const vals = init.get(name);
          if (!vals || vals.length !== p.size) throw new Error(`decoder load: tensor '${name}' missing or of wrong size`);
          tf.tidy(() => vars[i].assign(tf.tensor(vals, p.shape)));
        }
      });
    }
  }

  /** A fresh decoder; `linear` is the fitted base when `opts.linearBase`. */
  static create(opts: DecoderOptions, linear: LinearBaseInit | null = null): Decoder {
    return new Decoder(validateDecoderOptions(opts), null, linear);
  }

  /** The identity term's surrogate (needed when identityWeight > 0; the caller owns whatever it holds). */
  setIdentityTerm(embed: IdentityEmbed | null): void {
    this.identity = embed;
  }

  /** The Adam step size from now on (a learning-rate schedule; the step count and moments are kept). */
  setLearningRate(lr: number): void {
    if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`Decoder.setLearningRate: the learning rate must be a finite number > 0, got ${lr}`);
    this.adam.opts.learningRate = lr;
  }

  get learningRate(): number {
    return this.adam.opts.learningRate;
  }

  /** Number of Adam steps taken. */
  get step(): number {
    return this.adam.step;
  }

  private logicalName(v: tf.Variable): string {
    return v.name.slice(this.prefix.length + 1);
  }

  private checkAlive(where: string): void {
    if (this.disposed) throw new Error(`Decoder.${where}: the decoder has been disposed`);
  }

  private checkInputs(z: tf.Tensor, target: tf.Tensor | null, where: string, idTarget?: tf.Tensor2D): void {
    this.checkAlive(where);
    const { inputDim: d, outputSize: s } = this.options;
    if (z.rank !== 2 || z.shape[1] !== d) throw new Error(`Decoder.${where}: z must be [N, ${d}], got [${z.shape}]`);
    if (target && (target.rank !== 4 || target.shape[0] !== z.shape[0] || target.shape[1] !== s || target.shape[2] !== s || target.shape[3] !== 3)) {
      throw new Error(`Decoder.${where}: target must be [${z.shape[0]}, ${s}, ${s}, 3] in [0, 1], got [${target.shape}]`);
    }
    if (target && (this.options.identityWeight ?? 0) > 0) {
      if (!this.identity) throw new Error(`Decoder.${where}: identityWeight is ${this.options.identityWeight} but no surrogate encoder is set (setIdentityTerm)`);
      if (!idTarget || idTarget.rank !== 2 || idTarget.shape[0] !== z.shape[0]) {
        throw new Error(`Decoder.${where}: the identity term needs the surrogate's embeddings of the targets, [${z.shape[0]}, d]; got ${idTarget ? `[${idTarget.shape}]` : 'none'}`);
      }
    }
  }

  /**
   * The network; `stats` (training only) collects batch statistics for the moving averages. The output is the
   * raw one the loss sees: sigmoid, or (linearBase) the unclipped sum L(z) + C(z).
   */
  private run(z: tf.Tensor2D, training: boolean, stats?: BatchStats[], noise = true): tf.Tensor4D {
    const n = z.shape[0];
    const norm = (x: tf.Tensor, p: BnParams, relu: boolean): tf.Tensor => training
      ? batchNormTrain(x, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, relu, stats)
      : batchNormInfer(x, p.gamma as tf.Tensor1D, p.beta as tf.Tensor1D, p.movingMean as tf.Tensor1D, p.movingVar as tf.Tensor1D, relu);
    const x = training && noise ? noisyInput(z, this.options.noiseVariance, trainingNoiseSeed(this.options, this.adam.step)) : z;
    let h = norm(tf.matMul(x as tf.Tensor2D, this.denseW as tf.Tensor2D), this.denseBn, true);
    const { startSide, base } = this.geometry;
    h = tf.reshape(h, [n, startSide, startSide, base]);
    let side = startSide;
    for (const b of this.blocks) {
      side *= 2;
      const c = b.w.shape[2] as number;
      h = norm(tf.conv2dTranspose(h as tf.Tensor4D, b.w as tf.Tensor4D, [n, side, side, c], 2, 'same'), b.bn, true);
      if (b.res.length) {
        let r = h;
        for (const l of b.res) r = norm(tf.conv2d(r as tf.Tensor4D, l.w as tf.Tensor4D, 1, 'same'), l.bn, true);
        h = tf.add(h, r);
      }
    }
    const s = this.options.outputSize;
    const y = tf.add(tf.conv2dTranspose(h as tf.Tensor4D, this.finalW as tf.Tensor4D, [n, s, s, 3], 2, 'same'), this.finalB);
    if (this.baseW && this.baseB) {
      // The base sees the clean template: input noise regularises the learned network, while through a fixed
      // linear map it would only add W·noise to the picture.
      const lin = tf.reshape(tf.add(tf.matMul(z, this.baseW as tf.Tensor2D), this.baseB), [n, s, s, 3]);
      return tf.add(lin, y) as tf.Tensor4D;
    }
    return tf.sigmoid(y) as tf.Tensor4D;
  }

  /** The training loss (see the header) of raw outputs y against targets t and surrogate embeddings idTarget. */
  private lossOf(y: tf.Tensor4D, t: tf.Tensor4D, idTarget?: tf.Tensor2D): tf.Scalar {
    const d = tf.sub(y, t);
    let loss: tf.Scalar;
    switch (this.options.loss) {
      case 'l1': loss = tf.mean(tf.abs(d)); break;
      case 'l2': loss = tf.mean(tf.square(d)); break;
      case 'l1+l2': loss = tf.add(tf.mean(tf.abs(d)), tf.mean(tf.square(d))); break;
    }
    const ws = this.options.ssimWeight ?? 0;
    if (ws > 0) loss = tf.add(loss, tf.mul(tf.sub(1, ssimLuma(y, t)), ws));
    const wi = this.options.identityWeight ?? 0;
    if (wi > 0 && this.identity && idTarget) loss = tf.add(loss, tf.mul(identityLoss(this.identity(y), idTarget), wi));
    return loss;
  }

  /** [N, D] → [N, S, S, 3] in [0, 1]. training: input noise and batch statistics (moving stats untouched). */
  forward(z: tf.Tensor2D, training: boolean): tf.Tensor4D {
    this.checkInputs(z, null, 'forward');
    return tf.tidy(() => {
      const y = this.run(z, training);
      return this.baseW ? tf.clipByValue(y, 0, 1) : y;
    });
  }

  /**
   * One Adam step on (z [N, D], target [N, S, S, 3] in [0, 1], and with an identity term the surrogate's
   * embeddings of the target photos [N, d]); returns the batch loss before the step.
   */
  trainStep(z: tf.Tensor2D, target: tf.Tensor4D, idTarget?: tf.Tensor2D): number {
    this.checkInputs(z, target, 'trainStep', idTarget);
    const stats: BatchStats[] = [];
    try {
      const lossT = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => this.lossOf(this.run(z, true, stats), target, idTarget), this.trainables);
        this.adam.apply(this.trainables.map((v) => grads[v.name]));
        this.updateMovingStats(stats, z.shape[0]);
        return value;
      });
      const loss = lossT.dataSync()[0];
      lossT.dispose();
      return loss;
    } finally {
      for (const s of stats) { s.mean.dispose(); s.variance.dispose(); }
    }
  }

  /** Batch statistics come in forward order: dense, then per block (up, residual layers). */
  private updateMovingStats(stats: BatchStats[], n: number): void {
    const order: BnParams[] = [this.denseBn];
    for (const b of this.blocks) { order.push(b.bn); for (const l of b.res) order.push(l.bn); }
    if (stats.length !== order.length) throw new Error(`Decoder: ${stats.length} batch-norm statistics for ${order.length} layers`);
    order.forEach((p, i) => updateMovingAverages(p.movingMean, p.movingVar, stats[i], this.elementsPerChannel(i, n)));
  }

  private elementsPerChannel(bnIndex: number, n: number): number {
    if (bnIndex === 0) return n;
    let idx = 1, side = this.geometry.startSide;
    for (const b of this.blocks) {
      side *= 2;
      const count = 1 + b.res.length;
      if (bnIndex < idx + count) return n * side * side;
      idx += count;
    }
    throw new Error(`Decoder: no batch-norm layer ${bnIndex}`);
  }

  /** The training loss without noise, BN in inference mode (the identity term needs idTarget as in trainStep). */
  evalLoss(z: tf.Tensor2D, target: tf.Tensor4D, idTarget?: tf.Tensor2D): number {
    this.checkInputs(z, target, 'evalLoss', idTarget);
    const l = tf.tidy(() => this.lossOf(this.run(z, false), target, idTarget));
    const v = l.dataSync()[0];
    l.dispose();
    return v;
  }

  /** Writes decoder.json + weights.bin into `dir` atomically (a sibling temp dir renamed into place). */
  async save(dir: string): Promise<void> {
    this.checkAlive('save');
    await writeDecoderCheckpoint(dir, await this.exportState());
  }

  /** The checkpoint's contents as host arrays (for the ONNX Runtime engine and cross-engine checks). */
  async exportState(): Promise<DecoderState> {
    this.checkAlive('exportState');
    const entries: Array<{ name: string; t: tf.Tensor }> = [];
    for (const [name, v] of this.named) entries.push({ name, t: v });
    this.trainables.forEach((p, i) => {
      entries.push({ name: `${this.logicalName(p)}/adam_m`, t: this.adam.m[i] });
      entries.push({ name: `${this.logicalName(p)}/adam_v`, t: this.adam.v[i] });
    });
    const tensors: DecoderState['tensors'] = [];
    for (const e of entries) tensors.push({ name: e.name, shape: e.t.shape.slice(), data: new Float32Array(await e.t.data() as Float32Array) });
    return { options: { ...this.options }, step: this.adam.step, tensors };
  }

  /** A decoder holding `state` (as written by `exportState` or read from a checkpoint). */
  static fromState(state: DecoderState, where = 'decoder state'): Decoder {
    const opts = validateDecoderOptions(state.options, `${where} options`);
    const init = new Map(state.tensors.map((t) => [t.name, t.data]));
    const d = new Decoder(opts, init);
    if (!(Number.isInteger(state.step) && state.step >= 0)) throw new Error(`${where}: bad step ${state.step}`);
    d.adam.step = state.step;
    return d;
  }

  /**
   * Loss, gradients (by checkpoint name) and batch statistics of a training step on (z, target), without
   * applying it; `z` is used as given (no noise). For cross-engine gradient checks.
   */
  lossAndGradients(z: tf.Tensor2D, target: tf.Tensor4D, idTarget?: tf.Tensor2D): { loss: number; grads: Map<string, Float32Array>; stats: Array<{ mean: Float32Array; variance: Float32Array }> } {
    this.checkInputs(z, target, 'lossAndGradients', idTarget);
    const stats: BatchStats[] = [];
    try {
      const { value, grads } = tf.variableGrads(() => this.lossOf(this.run(z, true, stats, false), target, idTarget), this.trainables);
      const out = new Map<string, Float32Array>();
      for (const v of this.trainables) out.set(this.logicalName(v), grads[v.name].dataSync() as Float32Array);
      const loss = value.dataSync()[0];
      tf.dispose([value, ...Object.values(grads)]);
      return { loss, grads: out, stats: stats.map((s) => ({ mean: s.mean.dataSync() as Float32Array, variance: s.variance.dataSync() as Float32Array })) };
    } finally {
      for (const s of stats) { s.mean.dispose(); s.variance.dispose(); }
    }
  }

  /** Loads a decoder saved by `save` (weights, BN moving stats, Adam state, options, step). */
  static async load(dir: string): Promise<Decoder> {
    const state = await readDecoderCheckpoint(dir);
    return Decoder.fromState(state, path.join(dir, 'decoder.json'));
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return this.trainables.reduce((a, v) => a + v.size, 0);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.named.values()) v.dispose();
    this.adam.dispose();
  }
}
