/**
 * The surrogate-guided black box's prior: an encoder the attacker owns and can differentiate (never the
 * attacked one: same id or same model files are refused by resolveSurrogate), and a map from the attacked
 * encoder's template space into the surrogate's, fitted on the attacker's own photos only (ridge, as the
 * linear adapter of Shahreza, George & Marcel 2024, "Face reconstruction from face embeddings using adapter
 * to a face foundation model"; or that map plus a kernel correction, `map` "kernel": templateMap.ts). For a
 * target template t the surrogate's goal is normalise(M·t) in its centred space (μ: centreRows); the gradient
 * of cos(F(warp(G(z))) − μ, M·t) with respect to the face model's latent z is exact and costs no query.
 *
 * The map's held-out cosine (on identities of the attacker's photos it was not fitted on) says how far the
 * surrogate can be trusted: below `MIN_MAP_COSINE` the prior is refused with the figure, and the search runs
 * on queries alone. Surrogate evaluations are reported (count, seconds), never counted as queries.
 */
import type { EncoderConfig } from '../../protocol/encoderConfig';
import type { EngineRequest } from '../../ort/engineChoice';
import { OrtSearch } from '../../ort/search';
import type { SearchScorer } from '../../ort/searchGraph';
import { openSurrogate, resolveSurrogate, surrogateTargets, type Surrogate } from '../../decoder/surrogate';
import { DEFAULT_MAP_LAMBDA, fitMapOf, type TemplateMapKind } from './templateMap';
import { latentSearchOn } from '../../nets/latentSearch';
import type { FaceModel } from '../faceModel/types';

/** Held-out cosine below which a fitted map is not trusted as a prior. */
export const MIN_MAP_COSINE = 0.5;
/** Faces per surrogate gradient call. */
const PRIOR_BATCH = 8;

export interface SurrogatePrior {
  readonly id: string;
  /** Weight of the surrogate's own cosine in the search's objective (cos_E + weight·cos_F). */
  readonly weight: number;
  /** Held-out cosine of the template map (attacker's photos of identities it was not fitted on). */
  readonly mapCosine: number;
  /** Which template map (search.surrogate.map) and its linear part's penalty. */
  readonly map: TemplateMapKind;
  readonly mapLambda: number;
  /** Ascent directions [m, k]: d cos_F / dz at rows of `latents` for `targets` (no queries). */
  gradient(latents: Float32Array, targets: readonly number[]): Promise<Float32Array>;
  /**
   * `steps` gradient steps on cos_F alone from `start` (no queries): a start that already carries the identity.
   * With `seconds`, the targets still waiting get fewer steps (or none) once the measured pace would overrun it;
   * `cut` then says what was cut.
   */
  warmup(start: Float32Array, steps: number, learningRate: number, budget?: { seconds: number; cut?: (what: string) => void }): Promise<Float32Array>;
  readonly stats: { evaluations: number; seconds: number };
  dispose(): Promise<void>;
}

/** The attacker's own photos: their templates from the attacked encoder, and crops in the face model's frame. */
export interface AttackerPhotos {
  templates: Float32Array;
  dim: number;
  crops: Uint8Array;
  rels: readonly string[];
  identities: readonly string[];
  datasetId: string;
}

export interface PriorSettings {
  surrogate: string;
  weight: number;
  /** Photos used to fit the map (a seeded subset keeps the surrogate's embedding pass short). */
  fitPhotos: number;
  seed: number;
  /** The template map's kind (default "ridge") and its linear part's penalty (default DEFAULT_MAP_LAMBDA). */
  map?: TemplateMapKind;
  mapLambda?: number;
}

/**
 * The surrogate's embeddings centred on their mean over the attacker's photos. Face embeddings share a large
 * common component (two strangers' face-api vectors already have cosine ≈ 0.9), so a cosine to an uncentred
 * goal barely tells one person from another, and neither does its gradient.
 */
export function centreRows(feats: Float32Array, fd: number): { centred: Float32Array; mean: Float32Array } {
  const n = feats.length / fd;
  const mean = new Float32Array(fd);
  for (let r = 0; r < n; r++) for (let j = 0; j < fd; j++) mean[j] += feats[r * fd + j] / n;
  const centred = feats.map((v, i) => v - mean[i % fd]);
  return { centred, mean };
}

/**
 * Fits the map on the attacker's photos and reports its held-out cosine (the last tenth of identities), the
 * figure MIN_MAP_COSINE judges whatever the map's kind.
 */
export function fitTemplateMap(photos: AttackerPhotos, feats: Float32Array, fd: number, kind: TemplateMapKind = 'ridge', o: { lambda?: number; seed?: number } = {}): { apply: (t: Float32Array, n: number) => Float32Array; heldOut: number } {
  const ids = [...new Set(photos.identities)];
  const heldIds = new Set(ids.slice(Math.floor(ids.length * 0.9)));
  const n = photos.rels.length;
  const fit: number[] = [], held: number[] = [];
  for (let r = 0; r < n; r++) (heldIds.has(photos.identities[r]) ? held : fit).push(r);
  const rows = (a: Float32Array, w: number, rs: number[]) => { const o = new Float32Array(rs.length * w); rs.forEach((r, i) => o.set(a.subarray(r * w, (r + 1) * w), i * w)); return o; };
  const d = photos.dim;
  // Least squares (λ 0) is defined only with more pairs than unknowns per output (the template's entries and a bias).
  if (o.lambda === 0 && fit.length <= d) throw new Error(`search.surrogate.mapLambda 0 (least squares) needs more than ${d} fit photos outside the held-out tenth, got ${fit.length}; raise fitPhotos or mapLambda`);
  const check = fitMapOf(kind, rows(photos.templates, d, fit), rows(feats, fd, fit), fit.length, d, fd, o);
  const heldOut = meanCosine(check(rows(photos.templates, d, held), held.length), rows(feats, fd, held), fd);
  const all = fitMapOf(kind, photos.templates, feats, n, d, fd, o);
  return { apply: (t, m) => normaliseRows(all(t, m), fd), heldOut };
}

export async function openSurrogatePrior(model: FaceModel, attacked: EncoderConfig, targets: readonly Float32Array[], photos: AttackerPhotos,
  s: PriorSettings, o: { engine?: EngineRequest; workspaceDir?: string; cacheDir?: string; log?: (m: string) => void; field?: string; mapsFrom?: string }): Promise<SurrogatePrior> {
  // The face model renders the attacked encoder's frame (a PCA model) or arcface-5pt (a decoder): the warp starts there.
  const plan = resolveSurrogate(s.surrogate, attacked.id, 'onnxruntime', model.frame.size, o.workspaceDir, o.field ?? 'search.surrogate.encoder', model.frame.template);
  const sur = await openSurrogate(plan, o.workspaceDir);
  try {
    if (!sur.ort) throw new Error(`surrogate "${s.surrogate}": ${plan.ortObstacle}`);
    const sub = subsetRows(photos, s.fitPhotos, s.seed, model.frame.size);
    const feats = await surrogateTargets(sur, sub.crops, sub.rels, model.frame.size, photos.datasetId, { cacheDir: o.cacheDir, workspaceDir: o.workspaceDir, log: o.log });
    const { centred, mean } = centreRows(feats, sur.dim);
    const kind = s.map ?? 'ridge';
    const map = fitTemplateMap(sub, centred, sur.dim, kind, { lambda: s.mapLambda, seed: s.seed });
    if (!(map.heldOut >= MIN_MAP_COSINE)) {
      throw new Error(`surrogate "${s.surrogate}": the ${kind} map from ${o.mapsFrom ?? `${attacked.id} templates`} fits badly (held-out cosine ${map.heldOut.toFixed(3)} < ${MIN_MAP_COSINE})`);
    }
    const flat = new Float32Array(targets.length * photos.dim);
    targets.forEach((t, i) => flat.set(t, i * photos.dim));
    const mapped = map.apply(flat, targets.length);
    o.log?.(`surrogate ${s.surrogate}: ${kind} template map (λ ${s.mapLambda ?? DEFAULT_MAP_LAMBDA}) fitted on ${sub.rels.length} of the attacker's photos, held-out cosine ${map.heldOut.toFixed(3)}`);
    const emitF = sur.ort;
    const centredScorer: SearchScorer = { id: sur.id, dim: sur.dim, emit: (b, img) => b.op('Sub', [emitF.emit(b, img), b.constant(mean, [1, sur.dim], 'float32', 'surrogate_mean')]) };
    const search = await OrtSearch.withScorer(await model.ortGenerator(), centredScorer, 0);
    return priorOver(search, sur, model, mapped, s.weight, { mapCosine: map.heldOut, map: kind, mapLambda: s.mapLambda ?? DEFAULT_MAP_LAMBDA });
  } catch (e) {
    await sur.dispose();
    throw e;
  }
}

function priorOver(search: OrtSearch, sur: Surrogate, model: FaceModel, mapped: Float32Array, weight: number, fit: { mapCosine: number; map: TemplateMapKind; mapLambda: number }): SurrogatePrior {
  const k = model.latentDim, fd = sur.dim;
  const stats = { evaluations: 0, seconds: 0 };
  const gradient = async (latents: Float32Array, targets: readonly number[]): Promise<Float32Array> => {
    const t0 = Date.now();
    const out = new Float32Array(targets.length * k);
    // In chunks: the surrogate's activations and their gradients for hundreds of faces at once would take gigabytes.
    for (let at = 0; at < targets.length; at += PRIOR_BATCH) {
      const ts = targets.slice(at, at + PRIOR_BATCH);
      const m = ts.length;
      const T = new Float32Array(m * fd);
      ts.forEach((t, i) => T.set(mapped.subarray(t * fd, (t + 1) * fd), i * fd));
      const { grad } = await search.lossAndGrad(latents.subarray(at * k, (at + m) * k), T, new Float32Array(m).fill(1), m);
      // The graph descends on 1 − cos: its gradient's negative climbs the cosine.
      for (let i = 0; i < m * k; i++) out[at * k + i] = -grad[i];
    }
    stats.evaluations += targets.length;
    stats.seconds += (Date.now() - t0) / 1000;
    return out;
  };
  return {
    id: sur.id, weight, ...fit, stats, gradient,
    async warmup(start, steps, learningRate, budget) {
      if (steps <= 0) return Float32Array.from(start);
      const t0 = Date.now();
      const n = start.length / k;
      const out = Float32Array.from(start);
      let stepsNow = steps;
      let stepsDone = 0;
      for (let at = 0; at < n; at += PRIOR_BATCH) {
        if (budget && at > 0) {
          const paced = pacedWarmupSteps(steps, (Date.now() - t0) / 1000, stepsDone, n - at, budget.seconds);
          if (paced < stepsNow) {
            stepsNow = paced;
            budget.cut?.(`surrogate warm-up cut from ${steps} to ${paced} steps for the last ${n - at} of ${n} targets to fit its ${budget.seconds.toFixed(0)} s (measured pace on this machine)`);
          }
        }
        if (stepsNow <= 0) break;
        const m = Math.min(PRIOR_BATCH, n - at);
        const targets = Array.from({ length: m }, (_, i) => mapped.slice((at + i) * fd, (at + i + 1) * fd));
        const res = await latentSearchOn(search, targets, k, {
          steps: stepsNow, learningRate: learningRate * model.latentScale, init: 'estimate', priorWeight: 0,
          estimate: Array.from({ length: m }, (_, i) => start.slice((at + i) * k, (at + i + 1) * k)), projectHost: (z) => model.clampLatents(z),
        });
        res.images.dispose();
        res.z.forEach((z, i) => out.set(z, (at + i) * k));
        stepsDone += m * stepsNow;
        stats.evaluations += m * (stepsNow + 1);
      }
      stats.seconds += (Date.now() - t0) / 1000;
      return out;
    },
    async dispose() { await search.dispose(); await sur.dispose(); },
  };
}

/**
 * Steps per target for the warm-up's remaining targets so that it ends within `budgetSeconds`: the seconds
 * per target-step measured so far times what is left; never more than `planned`, 0 when not one step fits.
 */
export function pacedWarmupSteps(planned: number, elapsedSeconds: number, targetStepsDone: number, targetsLeft: number, budgetSeconds: number): number {
  if (targetStepsDone <= 0 || targetsLeft <= 0) return planned;
  const perTargetStep = elapsedSeconds / targetStepsDone;
  const left = budgetSeconds - elapsedSeconds;
  if (left <= 0) return 0;
  const fit = Math.floor(left / (perTargetStep * targetsLeft));
  if (fit >= planned) return planned;
  // Less than one step for every remaining target: none for them (steps for some only would treat targets unequally).
  return Math.max(0, fit);
}

/** A seeded subset of at most `count` photos (whole identities stay together for the held-out check). */
function subsetRows(p: AttackerPhotos, count: number, seed: number, size: number): AttackerPhotos {
  const n = p.rels.length;
  if (n <= count) return p;
  const step = n / count;
  const rows = Array.from({ length: count }, (_, i) => Math.min(n - 1, Math.floor((i + ((seed % 997) / 997)) * step)));
  const S3 = size * size * 3;
  const crops = new Uint8Array(rows.length * S3);
  const templates = new Float32Array(rows.length * p.dim);
  rows.forEach((r, i) => { crops.set(p.crops.subarray(r * S3, (r + 1) * S3), i * S3); templates.set(p.templates.subarray(r * p.dim, (r + 1) * p.dim), i * p.dim); });
  return { ...p, crops, templates, rels: rows.map((r) => p.rels[r]), identities: rows.map((r) => p.identities[r]) };
}

function normaliseRows(a: Float32Array, d: number): Float32Array {
  for (let r = 0; r < a.length / d; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += a[r * d + j] ** 2;
    const f = 1 / (Math.sqrt(s) + 1e-12);
    for (let j = 0; j < d; j++) a[r * d + j] *= f;
  }
  return a;
}

function meanCosine(a: Float32Array, b: Float32Array, d: number): number {
  const n = a.length / d;
  let total = 0;
  for (let r = 0; r < n; r++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < d; j++) { ab += a[r * d + j] * b[r * d + j]; aa += a[r * d + j] ** 2; bb += b[r * d + j] ** 2; }
    total += ab / Math.sqrt(aa * bb + 1e-24);
  }
  return n ? total / n : NaN;
}
