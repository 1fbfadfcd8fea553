/**
 * Realism of the reconstructions: the Fréchet distance (frechet.ts; Heusel et al. 2017)
 * between each subject's images and the targets' real aligned crops, all embedded by one transfer encoder
 * through the `direct` protocol (so every image counts and all sets pass the very same crop path: a distance
 * then comes from the faces, not from the frame or the canvas). Beside the attack: the nearest-face baseline
 * (real photos of other people — the distance real faces keep from these real faces) and the mean face.
 *
 * Which space: the pure transfer encoder (never attacked, surrogate or acceptance test: roles.ts) of lowest
 * dimension. A few hundred targets estimate a 128-d covariance (faceapi-resnet128) far better than a 1024-d
 * one (human-faceres, more dimensions than samples), and Ledoit–Wolf shrinkage handles what remains. Without
 * a transfer encoder there is no neutral space and no realism figure.
 */
import { findEncoderConfig, scopeOf } from '../encoders/registry';
import type { Realism, Subject } from '../protocol/report';
import type { IdentityResamples } from './bootstrap';
import { frechetDistance, shrunkGaussian, takeRows } from './frechet';
import { roleOf, type AttackRoles } from './roles';
import { mulberry32 } from '../data/split';

/** Largest feature dimension the Fréchet distance is computed in (higher ones are projected down). */
export const REALISM_MAX_DIM = 128;

/** x ↦ Rx with R [out, dim] seeded standard normal / √out: one fixed map for every set. */
function gaussianProjection(dim: number, out: number): (x: Float32Array) => Float32Array {
  const rand = mulberry32(0x7ea1);
  const R = new Float32Array(out * dim);
  for (let i = 0; i < R.length; i += 2) {
    const u = Math.max(rand(), 1e-12), v = rand(), r = Math.sqrt(-2 * Math.log(u)) / Math.sqrt(out);
    R[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < R.length) R[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return (x) => {
    const y = new Float32Array(out);
    for (let o = 0; o < out; o++) { let s = 0; for (let j = 0; j < dim; j++) s += R[o * dim + j] * x[j]; y[o] = s; }
    return y;
  };
}

/** Subjects compared with the real crops. */
const REALISM_SUBJECTS: Subject[] = ['attack', 'nearest-face', 'mean-face'];

/** The lowest-dimension transfer encoder among `evalIds` (ties: the first listed), or null. */
export function realismEncoder(evalIds: readonly string[], roles: AttackRoles, dimOf: (id: string) => number): string | null {
  let best: string | null = null;
  for (const id of evalIds) {
    if (roleOf(id, roles) !== 'transfer') continue;
    if (best === null || dimOf(id) < dimOf(best)) best = id;
  }
  return best;
}

export function encoderDim(id: string, workspaceDir?: string): number {
  return findEncoderConfig(id, scopeOf(workspaceDir)).config.embeddingDim;
}

/**
 * θ̂ ± 1.96·(bootstrap standard error), floored at 0. Not the percentile interval: a resample repeats identities,
 * which lowers the sets' effective size, and the Fréchet distance's finite-sample bias is upward, so the
 * resampled distances sit above θ̂ as a block (on quick-attack the percentile interval missed θ̂ altogether);
 * their spread still measures the estimate's variability (Efron & Tibshirani 1993, §13.3 on biased statistics).
 */
export function normalInterval(estimate: number, values: Float64Array): [number, number] | null {
  const v = values.filter(Number.isFinite);
  if (v.length < 2) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return [Math.max(0, estimate - 1.959963984540054 * sd), estimate + 1.959963984540054 * sd];
}

/** Items embedded in every set compared (a failed embedding drops the item from both sides of its pair). */
function commonRows(sets: readonly (Float32Array | null)[][]): number[] {
  const n = sets[0].length;
  return Array.from({ length: n }, (_, i) => i).filter((i) => sets.every((s) => s[i] !== null));
}

function stack(list: readonly (Float32Array | null)[], rows: readonly number[], dim: number): Float32Array {
  const all = new Float32Array(list.length * dim);
  list.forEach((e, i) => { if (e) all.set(e, i * dim); });
  return takeRows(all, dim, rows);
}

function distance(a: Float32Array, b: Float32Array, n: number, dim: number): { d: number; shrink: [number, number] } {
  const ga = shrunkGaussian(a, n, dim), gb = shrunkGaussian(b, n, dim);
  return { d: frechetDistance(ga, gb), shrink: [ga.shrinkage, gb.shrinkage] };
}

/**
 * Fréchet distance of each subject to the real crops, with a 95 % interval over the first `resamples` of the
 * identity bootstrap (an identity drawn m times contributes its targets m times to both sets).
 */
export function realismOf(encoderId: string, embedded: ReadonlyMap<Subject, (Float32Array | null)[]>, identities: readonly string[], res: IdentityResamples | null, resamples: number): Realism {
  let real = embedded.get('real-crop');
  if (!real) throw new Error(`realism: the real crops were not embedded by ${encoderId}`);
  const fullDim = real.find((e) => e)?.length ?? 0;
  if (!fullDim) throw new Error(`realism: no real crop could be embedded by ${encoderId}`);
  // Above REALISM_MAX_DIM the Gaussians' square roots (dense eigen-decompositions, per bootstrap resample) cost
  // minutes to hours, and a few hundred samples cannot estimate the covariance anyway: every set is projected by
  // one seeded Gaussian map (Johnson–Lindenstrauss), the same for all, so the distances stay comparable.
  const project = fullDim > REALISM_MAX_DIM ? gaussianProjection(fullDim, REALISM_MAX_DIM) : null;
  const dim = project ? REALISM_MAX_DIM : fullDim;
  if (project) {
    embedded = new Map([...embedded].map(([k, list]) => [k, list.map((e) => (e ? project(e) : null))]));
    real = embedded.get('real-crop') as (Float32Array | null)[];
  }
  const idIndex = res ? new Map(res.identities.map((id, k) => [id, k])) : null;
  const shrinkages: string[] = [];
  const rows = REALISM_SUBJECTS.filter((s) => embedded.has(s)).map((subject) => {
    const list = embedded.get(subject) as (Float32Array | null)[];
    const keep = commonRows([list, real]);
    if (keep.length < 2) return { subject, samples: keep.length, frechet: 0, ci: null };
    const x = stack(list, keep, dim), y = stack(real, keep, dim);
    const { d, shrink } = distance(x, y, keep.length, dim);
    shrinkages.push(`${subject} ${shrink[0].toFixed(2)}, real ${shrink[1].toFixed(2)}`);
    let ci: [number, number] | null = null;
    if (res && idIndex) {
      const values = new Float64Array(Math.min(resamples, res.multiplicity.length));
      for (let b = 0; b < values.length; b++) {
        const m = res.multiplicity[b];
        const pick: number[] = [];
        keep.forEach((row, j) => { for (let c = m[idIndex.get(identities[row]) ?? -1] ?? 0; c > 0; c--) pick.push(j); });
        values[b] = pick.length >= 2 ? distance(takeRows(x, dim, pick), takeRows(y, dim, pick), pick.length, dim).d : NaN;
      }
      ci = normalInterval(d, values);
    }
    return { subject, samples: keep.length, frechet: d, ci };
  });
  return {
    encoderId, dim, protocol: 'direct',
    why: 'the transfer encoder of lowest dimension (a covariance from a few hundred samples is better estimated in fewer dimensions); the attack used it in no role',
    shrinkage: shrinkages.join('; '),
    resamples: res ? Math.min(resamples, res.multiplicity.length) : 0,
    rows,
  };
}
