/**
 * White-box inversion (claim 7) put to work: the generator is a trained black-box decoder (its input space is
 * the embedding space, so the black-box answer is the starting point), the encoder is differentiated through
 * (daemon/whitebox/diffEncoderFor.ts), and many targets are optimised together in batches.
 */
import type { EncoderConfig } from '../config/encoder';
import { resolveModelPath } from '../encoders/registry';
import { tf } from '../engine/tf';
import { JobCancelledError } from '../jobs/context';
import type { LoadedDecoder } from '../blackbox/decoderModel';
import { CropSpec, latentSearch, latentSearchOn, LatentSearchOptions, StepInfo } from '../nets/latentSearch';
import type { EngineDecision, EngineRequest } from '../ort/decoderRunner';
import { onnxEncoderSource } from '../ort/encoderGraph';
import { decoderGenerator } from '../ort/generators';
import { OrtSearch } from '../ort/search';
import type { LoadedDiffEncoder } from './diffEncoderFor';

/** The decoder renders `arcface-5pt` crops; only encoders aligned to that template can take them by a resize. */
export function cropForEncoder(decoder: LoadedDecoder, config: EncoderConfig): CropSpec {
  if (config.alignment.template !== decoder.meta.template) {
    throw new Error(`the generator renders ${decoder.meta.template} crops at ${decoder.meta.outputSize} px, but encoder ${config.id} ` +
      `takes ${config.alignment.template} crops: the generator's output cannot be mapped to the encoder's input by a resize; ` +
      `use a generator trained for a ${config.alignment.template} encoder`);
  }
  // Bilinear resizing without anti-aliasing: more than 2× down would alias, more than 4× up only blurs.
  if (decoder.meta.outputSize / config.inputSize > 2 || config.inputSize / decoder.meta.outputSize > 4) {
    throw new Error(`encoder input ${config.inputSize} px cannot be mapped from the generator's ${decoder.meta.outputSize} px output by a resize`);
  }
  return { size: config.inputSize };
}

export interface InvertResult {
  /** [N, S, S, 3] uint8 best reconstructions. */
  images: Uint8Array;
  cosine: number[];
  diverged: boolean[];
  /** Which engine ran the search, and why. */
  engine: EngineDecision;
}

export interface InvertOptions extends LatentSearchOptions {
  batchSize: number;
  signal?: AbortSignal;
  onStep?: (batch: number, batches: number, s: StepInfo) => void;
  /**
   * 'auto' (default; FACEINV_ENGINE overrides it): ONNX Runtime when the encoder is an ONNX model whose graph
   * compiles with gradients, else TF.js with a warning; 'onnxruntime': ONNX Runtime or an error; 'tfjs'.
   */
  engine?: EngineRequest;
  /** Resolves relative encoder model paths (default: the repository root). */
  workspaceDir?: string;
  warn?: (msg: string) => void;
}

/** The ONNX Runtime search for this decoder and encoder, or the reason TF.js runs it instead. */
async function openOrtSearch(decoder: LoadedDecoder, config: EncoderConfig, crop: CropSpec, opts: InvertOptions): Promise<{ search: OrtSearch | null; engine: EngineDecision }> {
  const requested: EngineRequest = opts.engine ?? (process.env.FACEINV_ENGINE as EngineRequest | undefined) ?? 'auto';
  if (requested === 'tfjs') return { search: null, engine: { requested, chosen: 'tfjs', reason: 'requested' } };
  try {
    if (config.format !== 'onnx') throw new Error(`encoder ${config.id} is a ${config.format} model (the ONNX Runtime search takes ONNX encoders)`);
    const src = onnxEncoderSource(config, resolveModelPath(config, opts.workspaceDir));
    const search = await OrtSearch.create(decoderGenerator(await decoder.decoder.exportState()), src, crop, opts.priorWeight);
    return { search, engine: { requested, chosen: 'onnxruntime', reason: `${requested === 'auto' ? 'default' : 'requested'}; ${search.provider.reason}`, provider: search.provider.provider } };
  } catch (e) {
    const msg = (e as Error).message;
    if (requested === 'onnxruntime') throw new Error(`engine 'onnxruntime': ${msg}`);
    opts.warn?.(`white box on TF.js: ${msg}`);
    return { search: null, engine: { requested, chosen: 'tfjs', reason: `fallback: ${msg}` } };
  }
}

export async function invertTargets(decoder: LoadedDecoder, encoder: LoadedDiffEncoder, config: EncoderConfig, targets: Float32Array[], opts: InvertOptions): Promise<InvertResult> {
  if (!targets.length) throw new Error('no targets to invert');
  const dim = decoder.meta.embeddingDim;
  targets.forEach((t, i) => {
    if (t.length !== config.embeddingDim) throw new Error(`target ${i} has dimension ${t.length}, encoder ${config.id} produces ${config.embeddingDim}`);
    const bad = t.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`target ${i} value ${bad} is ${t[bad]} (not finite)`);
  });
  if (config.embeddingDim !== dim) throw new Error(`the generator takes ${dim}-d inputs, encoder ${config.id} produces ${config.embeddingDim}-d embeddings`);
  const crop = cropForEncoder(decoder, config);
  const S = decoder.meta.outputSize;
  const S3 = S * S * 3;
  const images = new Uint8Array(targets.length * S3);
  const cosine: number[] = [];
  const diverged: boolean[] = [];
  const G = (z: tf.Tensor2D) => decoder.decoder.forward(z, false);
  const { search, engine } = await openOrtSearch(decoder, config, crop, opts);
  const searchBatch = (chunk: Float32Array[], b: number, batches: number) => {
    const searchOpts = {
      steps: opts.steps, learningRate: opts.learningRate, init: opts.init, priorWeight: opts.priorWeight, seed: opts.seed,
      estimate: opts.init === 'estimate' ? chunk : undefined, signal: opts.signal,
      onStep: opts.onStep ? (s: StepInfo) => opts.onStep?.(b, batches, s) : undefined,
    };
    return search ? latentSearchOn(search, chunk, dim, searchOpts) : latentSearch(G, encoder.E, chunk, dim, { ...searchOpts, crop });
  };
  try {
    const batches = Math.ceil(targets.length / opts.batchSize);
    for (let b = 0; b < batches; b++) {
      if (opts.signal?.aborted) throw new JobCancelledError();
      const res = await searchBatch(targets.slice(b * opts.batchSize, (b + 1) * opts.batchSize), b, batches);
      const px = tf.tidy(() => res.images.mul(255).round().clipByValue(0, 255).toInt());
      images.set(px.dataSync() as Int32Array, b * opts.batchSize * S3);
      px.dispose();
      res.images.dispose();
      cosine.push(...res.cosine);
      diverged.push(...res.diverged);
    }
  } finally {
    await search?.dispose();
  }
  return { images, cosine, diverged, engine };
}
