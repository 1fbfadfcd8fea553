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

/** `lambda`: the linear ridge's penalty (alone for "ridge", under the kernel part for "kernel"). */
export function fitMapOf(kind: TemplateMapKind, inputs: Float32Array, outputs: Float32Array, n: number, d: number, fd: number, o: { lambda?: number; seed?: number } = {}): ApplyMap {
  const lambda = o.lambda ?? DEFAULT_MAP_LAMBDA;
  if (kind === 'ridge') {
    const m = fitRidge(inputs, outputs, n, d, fd, lambda);
    return (x, k) => applyRidge(m, x, k);
  }
  if (kind === 'kernel') {
    const m = fitKernelRidge(inputs, outputs, n, d, fd, { ...KERNEL_MAP, linear: lambda, seed: o.seed ?? 0 });
    return (x, k) => applyKernelRidge(m, x, k);
  }
  throw new Error(`search.surrogate.map: "${kind as string}" is not one of ${TEMPLATE_MAP_KINDS.join(', ')}`);
}
