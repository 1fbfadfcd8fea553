/**
 * The white box (claim: optimise a latent z so that E(G(z)) matches the target, back-propagating through E
 * and G; Cole et al. / Razzhigaev et al. style, daemon/nets/latentSearch.ts does the maths): G is the run's
 * face model, started from the `start` estimate, and every step is projected back into the model's range.
 */
import type { WhiteboxConfig } from '../../protocol/runConfig';
import { CropSpec, latentSearch, StepInfo } from '../../nets/latentSearch';
import type { LoadedDiffEncoder } from './diffEncoder';
import type { FaceModel } from '../faceModel/types';

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
}

export async function gradientSearch(model: FaceModel, E: LoadedDiffEncoder, targets: readonly Float32Array[], start: Float32Array, wb: WhiteboxConfig,
  o: { seed?: number; signal?: AbortSignal; onStep?: (batch: number, batches: number, s: StepInfo) => void }): Promise<GradientSearchResult> {
  const k = model.latentDim;
  const crop = cropFor(model, E.inputSize);
  const latents = new Float32Array(targets.length * k);
  const cosine: number[] = [];
  const diverged: boolean[] = [];
  const batches = Math.ceil(targets.length / wb.batchSize);
  let aborted = false;
  for (let b = 0; b < batches; b++) {
    if (o.signal?.aborted) { aborted = true; break; }
    const lo = b * wb.batchSize;
    const chunk = targets.slice(lo, lo + wb.batchSize);
    const estimate = chunk.map((_, i) => start.slice((lo + i) * k, (lo + i + 1) * k));
    const res = await latentSearch((z) => model.render(z), E.E, [...chunk], k, {
      steps: wb.steps, learningRate: wb.learningRate, init: wb.init, priorWeight: wb.priorWeight, seed: o.seed,
      estimate: wb.init === 'estimate' ? estimate : undefined, crop, signal: o.signal,
      project: (z) => model.clampTensor(z),
      onStep: o.onStep ? (s) => o.onStep?.(b, batches, s) : undefined,
    });
    res.images.dispose();
    res.z.forEach((z, i) => latents.set(z, (lo + i) * k));
    cosine.push(...res.cosine);
    diverged.push(...res.diverged);
    if (res.aborted) { aborted = true; break; }
  }
  return { latents, cosine, diverged, aborted };
}
