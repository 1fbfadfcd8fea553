/**
 * The options of the W1 decoder family (daemon/nets/decoder.ts): what a run config's `decoder` and
 * `training` sections become, their checks, the geometry each output size implies and its FLOPs. No tensors
 * here, so the ONNX Runtime engine, the trainer and the CLI read them without building a network.
 */
import { defaultDecoderSettings } from '../protocol/runConfig';

export interface DecoderOptions {
  /** Template dimension D. */
  inputDim: number;
  outputSize: DecoderOutputSize;
  /** Layers in each residual unit (0 = no residual units). */
  residualLayers: 0 | 1 | 2;
  /** Variance of the Gaussian noise added to z in training (NbNet: 0.001). */
  noiseVariance: number;
  loss: 'l1' | 'l2' | 'l1+l2';
  learningRate: number;
  /** Adam β1, β2 (defaults 0.9, 0.999). */
  beta1?: number;
  beta2?: number;
  /** Seed for weight init and training noise (default 0). */
  seed?: number;
  /**
   * Channels of the first map after the dense layer (default 512 for 64/128, as W1; 256 for 112); each block
   * halves them. Smaller values give the same architecture at reduced width (fast tests, quick experiments).
   */
  baseChannels?: number;
  /** Residual on a fixed linear inverse (see the header); needs `base/kernel` and `base/bias` at create. */
  linearBase?: boolean;
  /** Weight of the 1 − SSIM term (default 0 = none). */
  ssimWeight?: number;
  /** Weight of the identity term through a surrogate encoder (default 0 = none). */
  identityWeight?: number;
}

export type DecoderOutputSize = 64 | 112 | 128;
export const DECODER_OUTPUT_SIZES: readonly DecoderOutputSize[] = [64, 112, 128];

/** Side of the first map, its channels, and the channels after each up-sampling block. */
export interface DecoderGeometry { startSide: number; base: number; blocks: number[] }

export function decoderGeometry(o: Pick<DecoderOptions, 'outputSize' | 'baseChannels'>): DecoderGeometry {
  const startSide = o.outputSize === 112 ? 7 : 4;
  const base = o.baseChannels ?? (o.outputSize === 112 ? 256 : 512);
  const doublings = Math.round(Math.log2(o.outputSize / startSide));
  return { startSide, base, blocks: Array.from({ length: doublings - 1 }, (_, i) => base / 2 ** (i + 1)) };
}

/** Names and shapes of the fixed linear base: z·kernel + bias = the NHWC image [S, S, 3] flattened. */
export function linearBaseShapes(o: Pick<DecoderOptions, 'inputDim' | 'outputSize'>): { kernel: number[]; bias: number[] } {
  const px = o.outputSize * o.outputSize * 3;
  return { kernel: [o.inputDim, px], bias: [px] };
}

/** A fixed linear base (host arrays, NHWC pixel order, values on the [0, 1] scale). */
export interface LinearBaseInit { kernel: Float32Array; bias: Float32Array }



/** W1 on a 512-d template with the run config schema's defaults (the one place they are written). */
export const DEFAULT_DECODER_OPTIONS: DecoderOptions = (() => {
  const { decoder, training } = defaultDecoderSettings();
  return {
    inputDim: 512, outputSize: decoder.outputSize, residualLayers: decoder.residualLayers,
    noiseVariance: decoder.noiseVariance, loss: decoder.loss, learningRate: training.learningRate, seed: training.seed,
  };
})();


/** Checks options (any source: config, manifest, API); returns them with defaults filled in. */
export function validateDecoderOptions(o: Partial<DecoderOptions>, where = 'decoder options'): DecoderOptions {
  const bad = (field: string, want: string, got: unknown): never => {
    throw new Error(`${where}: ${field} must be ${want}, got ${JSON.stringify(got)}`);
  };
  const opts = { ...o } as DecoderOptions;
  if (!(Number.isInteger(opts.inputDim) && opts.inputDim > 0)) bad('inputDim', 'a positive integer', opts.inputDim);
  if (!DECODER_OUTPUT_SIZES.includes(opts.outputSize)) bad('outputSize', DECODER_OUTPUT_SIZES.join(', ').replace(/, (\d+)$/, ' or $1'), opts.outputSize);
  if (![0, 1, 2].includes(opts.residualLayers)) bad('residualLayers', '0, 1 or 2', opts.residualLayers);
  if (!(typeof opts.noiseVariance === 'number' && opts.noiseVariance >= 0)) bad('noiseVariance', 'a number ≥ 0', opts.noiseVariance);
  if (!['l1', 'l2', 'l1+l2'].includes(opts.loss)) bad('loss', "'l1', 'l2' or 'l1+l2'", opts.loss);
  if (!(typeof opts.learningRate === 'number' && opts.learningRate > 0)) bad('learningRate', 'a number > 0', opts.learningRate);
  for (const k of ['beta1', 'beta2'] as const) {
    if (opts[k] !== undefined && !(opts[k]! >= 0 && opts[k]! < 1)) bad(k, 'in [0, 1)', opts[k]);
  }
  if (opts.seed !== undefined && !Number.isInteger(opts.seed)) bad('seed', 'an integer', opts.seed);
  if (opts.baseChannels !== undefined && !(Number.isInteger(opts.baseChannels) && opts.baseChannels >= 16 && opts.baseChannels % 16 === 0)) {
    bad('baseChannels', 'a multiple of 16, ≥ 16', opts.baseChannels);
  }
  if (opts.linearBase !== undefined && typeof opts.linearBase !== 'boolean') bad('linearBase', 'true or false', opts.linearBase);
  for (const k of ['ssimWeight', 'identityWeight'] as const) {
    if (opts[k] !== undefined && !(typeof opts[k] === 'number' && Number.isFinite(opts[k]) && opts[k]! >= 0)) bad(k, 'a finite number ≥ 0', opts[k]);
  }
  return opts;
}

/**
 * Forward FLOPs per image (multiply-adds × 2 of dense and conv layers; BN, activations and the bias are
 * not counted). A training step costs about 3× this.
 */
export function flopsPerImage(o: Pick<DecoderOptions, 'inputDim' | 'outputSize' | 'residualLayers' | 'baseChannels' | 'linearBase'>): number {
  const { startSide, base, blocks: chans } = decoderGeometry(o);
  let macs = o.inputDim * startSide * startSide * base;
  if (o.linearBase) macs += o.inputDim * o.outputSize * o.outputSize * 3;
  let side = startSide, ch = base;
  chans.forEach((c, i) => {
    macs += side * side * 16 * ch * c;      // k4 s2 transposed conv: every input pixel meets 16 taps × c outputs
    side *= 2; ch = c;
    if (i < chans.length - 1) macs += o.residualLayers * side * side * 9 * ch * ch;
  });
  macs += side * side * 16 * ch * 3;
  return 2 * macs;
}

/** Seed of the training noise at Adam step `step` (both engines draw the same N(0, noiseVariance) noise). */
export function trainingNoiseSeed(opts: Pick<DecoderOptions, 'seed'>, step: number): number {
  return ((opts.seed ?? 0) * 1000003 + step) % 2147483647;
}
