/**
 * The white box (claim: optimise a latent z so that E(G(z)) matches the target, back-propagating through E
 * and G; daemon/nets/latentSearch.ts does the maths): G is the run's face model, started from the `start`
 * estimate, every step projected back into the model's range. The engine: ONNX Runtime (G, the crop and E
 * fused in one graph with its input gradient, daemon/ort/) wherever the encoder is an ONNX model whose graph
 * compiles, else TF.js (the reference) through the encoder's differentiable import, with the reason logged.
 */
import type { EncoderConfig } from '../../protocol/encoderConfig';
import type { WhiteboxConfig } from '../../protocol/runConfig';

/** The settings one search uses (restarts and the choice among them are whiteboxRestarts.ts's). */
export type SearchSettings = Pick<WhiteboxConfig, 'steps' | 'learningRate' | 'init' | 'priorWeight' | 'batchSize'>;
import { resolveModelPath } from '../../encoders/registry';
import { CropSpec, latentSearch, latentSearchOn, StepInfo } from '../../nets/latentSearch';
import { engineRequest, openEngine, type EngineDecision, type EngineRequest } from '../../ort/engineChoice';
import { onnxEncoderSource } from '../../ort/encoderGraph';
import { OrtSearch } from '../../ort/search';
import type { FaceModel } from '../faceModel/types';
import { loadDiffEncoder, type LoadedDiffEncoder } from './diffEncoder';

/** How the face model's crops reach E: a resize when their sides differ (same template; checked by the caller). */
export function cropFor(model: FaceModel, inputSize: number): CropSpec | undefined {
  const s = model.frame.size;
  if (s === inputSize) return undefined;
  // Bilinear without anti-aliasing: more than 2× down would alias, more than 4× up only blurs.
  if (s / inputSize > 2 || inputSize / s > 4) throw new Error(`the face model renders ${s} px, the encoder takes ${inputSize} px: too far apart for a resize`);
  return { size: inputSize };
}

export interface GradientSearchResult {
  latents: Float32Array;
  cosine: number[];
  diverged: boolean[];
  aborted: boolean;
  engine: EngineDecision;
}

export interface GradientSearchOptions {
  seed?: number;
  signal?: AbortSignal;
  onStep?: (batch: number, batches: number, s: StepInfo) => void;
  /** The config's engine; 'auto' or none lets FACEINV_ENGINE decide (ort/engineChoice.ts). */
  engine?: EngineRequest;
  /** Resolves relative encoder model paths. */
  workspaceDir?: string;
  warn?: (msg: string) => void;
  /** Loads E for the TF.js engine (default: the encoder's differentiable TF.js import). */
  loadTfEncoder?: () => Promise<LoadedDiffEncoder>;
}

/** The ONNX Runtime search for this face model and encoder, or why TF.js runs it instead (ort/engineChoice.ts decides). */
async function openOrtSearch(model: FaceModel, enc: EncoderConfig, crop: CropSpec, wb: SearchSettings, o: GradientSearchOptions): Promise<{ search: OrtSearch | null; engine: EngineDecision }> {
  const requested = engineRequest(o.engine);
  const { value, engine } = await openEngine<OrtSearch | null>(requested, {
    async ort() {
      if (enc.format !== 'onnx') throw new Error(`encoder ${enc.id} is a ${enc.format} model (the ONNX Runtime search takes ONNX encoders)`);
      const src = onnxEncoderSource(enc, resolveModelPath(enc, o.workspaceDir));
      const search = await OrtSearch.create(await model.ortGenerator(), src, crop, wb.priorWeight);
      return { value: search, reason: `${requested === 'auto' ? 'default' : 'requested'}; ${search.provider.reason}`, provider: search.provider.provider };
    },
    tfjs: async () => null,
    fallbackWarning: (msg) => `white box on TF.js: ${msg}`,
    warn: o.warn,
  });
  return { search: value, engine };
}

export async function gradientSearch(model: FaceModel, enc: EncoderConfig, targets: readonly Float32Array[], start: Float32Array, wb: SearchSettings,
  o: GradientSearchOptions = {}): Promise<GradientSearchResult> {
  const k = model.latentDim;
  const crop = cropFor(model, enc.inputSize) ?? { size: enc.inputSize };
  const latents = new Float32Array(targets.length * k);
  const cosine: number[] = [];
  const diverged: boolean[] = [];
  const batches = Math.ceil(targets.length / wb.batchSize);
  let aborted = false;
  const { search, engine } = await openOrtSearch(model, enc, crop, wb, o);
  const E = search ? null : await (o.loadTfEncoder ?? (() => loadDiffEncoder(enc, o.workspaceDir)))();
  try {
    for (let b = 0; b < batches; b++) {
      if (o.signal?.aborted) { aborted = true; break; }
      const lo = b * wb.batchSize;
      const chunk = targets.slice(lo, lo + wb.batchSize);
      const estimate = chunk.map((_, i) => start.slice((lo + i) * k, (lo + i + 1) * k));
      const opts = {
        steps: wb.steps, learningRate: wb.learningRate, init: wb.init, priorWeight: wb.priorWeight, seed: o.seed,
        estimate: wb.init === 'estimate' ? estimate : undefined, signal: o.signal,
        onStep: o.onStep ? (s: StepInfo) => o.onStep?.(b, batches, s) : undefined,
      };
      const res = search
        ? await latentSearchOn(search, [...chunk], k, { ...opts, projectHost: (z) => model.clampLatents(z) })
        : await latentSearch((z) => model.render(z), (E as NonNullable<typeof E>).E, [...chunk], k, { ...opts, crop: cropFor(model, enc.inputSize), project: (z) => model.clampTensor(z) });
      res.images.dispose();
      res.z.forEach((z, i) => latents.set(z, (lo + i) * k));
      cosine.push(...res.cosine);
      diverged.push(...res.diverged);
      if (res.aborted) { aborted = true; break; }
    }
  } finally {
    await search?.dispose();
    E?.dispose();
  }
  return { latents, cosine, diverged, aborted, engine };
}
