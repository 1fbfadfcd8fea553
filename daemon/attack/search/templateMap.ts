/**
 * The map from the attacked encoder's templates into the surrogate's centred space (`search.surrogate.map`),
 * fitted on the attacker's own photos only:
 *  - "ridge": the linear adapter of Shahreza, George & Marcel (2024), "Face reconstruction from face embeddings
 *    using adapter to a face foundation model" (daemon/math/ridge.ts);
 *  - "kernel": that linear map plus kernel ridge on its residuals, an RBF kernel on unit templates kept small by
 *    Nyström landmarks (Williams & Seeger 2001; daemon/math/kernelRidge.ts): what the linear map cannot express.
 * The settings of each were chosen on the validation side of split seed 0 (identity-disjoint folds of the fit
 * photos), never on test identities: scripts/surrogate-map-validation.js, tables in docs/search.md.
 */
import { applyKernelRidge, fitKernelRidge } from '../../math/kernelRidge';
import { applyRidge, fitRidge } from '../../math/ridge';

export const TEMPLATE_MAP_KINDS = ['ridge', 'kernel'] as const;
export type TemplateMapKind = (typeof TEMPLATE_MAP_KINDS)[number];

/** The ridge map's penalty as the main job has always used it (search.surrogate.mapLambda's default). */
export const DEFAULT_MAP_LAMBDA = 0.1;
/** The kernel part's settings (validation side, docs/search.md "The template map"); its linear part takes mapLambda. */
export const KERNEL_MAP = { landmarks: 1000, gamma: 1, lambda: 0.01 } as const;

/** Rows [n, inputDim] → [n, outputDim] (not normalised). */
export type ApplyMap = (inputs: Float32Array, n: number) => Float32Array;

/** Each kind's fit: `lambda` is the linear ridge's penalty (alone for "ridge", under the kernel part for "kernel"). */
const FITS: Record<TemplateMapKind, (x: Float32Array, y: Float32Array, n: number, d: number, fd: number, lambda: number, seed: number) => ApplyMap> = {
  ridge: (x, y, n, d, fd, lambda) => { const m = fitRidge(x, y, n, d, fd, lambda); return (t, k) => applyRidge(m, t, k); },
  kernel: (x, y, n, d, fd, lambda, seed) => { const m = fitKernelRidge(x, y, n, d, fd, { ...KERNEL_MAP, linear: lambda, seed }); return (t, k) => applyKernelRidge(m, t, k); },
};

export function fitMapOf(kind: TemplateMapKind, inputs: Float32Array, outputs: Float32Array, n: number, d: number, fd: number, o: { lambda?: number; seed?: number } = {}): ApplyMap {
  const fit = Object.prototype.hasOwnProperty.call(FITS, kind) ? FITS[kind] : undefined;
  if (!fit) throw new Error(`search.surrogate.map: "${kind as string}" is not one of ${TEMPLATE_MAP_KINDS.join(', ')}`);
  return fit(inputs, outputs, n, d, fd, o.lambda ?? DEFAULT_MAP_LAMBDA, o.seed ?? 0);
}
