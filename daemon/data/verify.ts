/**
 * Face verification metrics for an encoder on LFW.
 * - The standard unrestricted LFW View 2 protocol (Huang et al. 2007): 10 folds of pairs.txt; for each fold the
 *   cosine threshold maximising accuracy on the other 9 folds is applied to it; accuracy mean ± std over folds
 *   (population std, as InsightFace's LFW evaluation reports it). TAR at FAR 1e-3 over all 6000 pairs.
 * - Operating thresholds for the attack evaluation (ISO/IEC 30136 reports attacks at fixed FMR): from the
 *   impostor distribution of *all* cross-identity pairs among an identity set (default: the test identities
 *   of the seed-0, 20 % split), the threshold with FMR ≤ 1e-2 and ≤ 1e-3, and the FNMR at each over all
 *   same-identity pairs of that set. Saved as `<cache>/thresholds/<encoderId>.json`.
 * Images the pipeline could not embed make their pairs score −1 (a reject): counted, never dropped.
 */
import { forEachDotBlock, packRows } from '../math/blockDots';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LfwPairs } from './lfw';
import type { EmbeddingSet } from './embeddingCache';
import type { IdentitySplit } from './split';
import { defaultCacheDir } from './pipeline';
import { encoderIdForPath } from '../protocol/encoderConfig';

/** Score given to a pair with an image that could not be embedded. */
export const FAILED_PAIR_SCORE = -1;

export interface PairScores {
  scores: Float64Array;
  match: boolean[];
  fold: number[];
  /** Pairs with at least one image that could not be embedded (scored FAILED_PAIR_SCORE). */
  pairsWithFailures: number;
  /** Distinct pair images that could not be embedded. */
  failedImages: string[];
}

export function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  const ao = ai * dim;
  const bo = bi * dim;
  for (let k = 0; k < dim; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/** Cosine scores of the LFW pairs (embeddings are L2-normalised, so cosine = dot). */
export function scorePairs(pairs: LfwPairs, emb: Pick<EmbeddingSet, 'rels' | 'embeddings' | 'dim'>): PairScores {
  const row = new Map(emb.rels.map((r, i) => [r, i]));
  const failedImages = new Set<string>();
  const scores = new Float64Array(pairs.pairs.length);
  let pairsWithFailures = 0;
  pairs.pairs.forEach((p, i) => {
    const a = row.get(p.a);
    const b = row.get(p.b);
    if (a === undefined) failedImages.add(p.a);
    if (b === undefined) failedImages.add(p.b);
    if (a === undefined || b === undefined) {
      scores[i] = FAILED_PAIR_SCORE;
      pairsWithFailures++;
    } else {
      scores[i] = dot(emb.embeddings, a, emb.embeddings, b, emb.dim);
    }
  });
  return { scores, match: pairs.pairs.map((p) => p.match), fold: pairs.pairs.map((p) => p.fold), pairsWithFailures, failedImages: [...failedImages].sort() };
}

/** The threshold t (accept when score > t) maximising accuracy on the given pairs; ties → the middle one. */
export function bestThreshold(scores: ArrayLike<number>, match: ArrayLike<boolean>): { threshold: number; accuracy: number } {
  const n = scores.length;
  if (n === 0) throw new Error('bestThreshold: no pairs');
  const idx = Array.from({ length: n }, (_, i) => i).sort((x, y) => scores[x] - scores[y]);
  let nMatch = 0;
  for (let i = 0; i < n; i++) if (match[i]) nMatch++;
  // Threshold below everything: all accepted → correct = nMatch.
  let correct = nMatch;
  let best = correct;
  let bestLo = -Infinity;
  let bestHi = scores[idx[0]];
  for (let k = 0; k < n; k++) {
    // Move pair idx[k] to the rejected side.
    correct += match[idx[k]] ? -1 : 1;
    if (k + 1 < n && scores[idx[k + 1]] === scores[idx[k]]) continue;
    const lo = scores[idx[k]];
    const hi = k + 1 < n ? scores[idx[k + 1]] : Infinity;
    if (correct > best) {
      best = correct;
      bestLo = lo;
      bestHi = hi;
    }
  }
  const threshold = !Number.isFinite(bestLo) ? bestHi - 1e-6 : !Number.isFinite(bestHi) ? bestLo + 1e-6 : (bestLo + bestHi) / 2;
  return { threshold, accuracy: best / n };
}

export interface TenFoldResult {
  foldAccuracies: number[];
  foldThresholds: number[];
  mean: number;
  /** Population standard deviation over folds. */
  std: number;
}

export function tenFold(ps: { scores: ArrayLike<number>; match: ArrayLike<boolean>; fold: ArrayLike<number> }): TenFoldResult {
  const folds = [...new Set(Array.from(ps.fold))].sort((a, b) => a - b);
  const foldAccuracies: number[] = [];
  const foldThresholds: number[] = [];
  for (const f of folds) {
    const trS: number[] = [];
    const trM: boolean[] = [];
    for (let i = 0; i < ps.scores.length; i++) if (ps.fold[i] !== f) { trS.push(ps.scores[i]); trM.push(ps.match[i]); }
    const { threshold } = bestThreshold(trS, trM);
    let ok = 0;
    let n = 0;
    for (let i = 0; i < ps.scores.length; i++) {
      if (ps.fold[i] !== f) continue;
      n++;
      if ((ps.scores[i] > threshold) === ps.match[i]) ok++;
    }
    foldAccuracies.push(ok / n);
    foldThresholds.push(threshold);
  }
  const mean = foldAccuracies.reduce((a, b) => a + b, 0) / foldAccuracies.length;
  const std = Math.sqrt(foldAccuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / foldAccuracies.length);
  return { foldAccuracies, foldThresholds, mean, std };
}

/**
 * Threshold t with FMR = #(impostor > t) / #impostors ≤ `fmr`, as low as possible: the impostor score at rank
 * floor(fmr · n) from the top (scores equal to t are rejected). `sortedDesc` must be sorted descending.
 */
export function thresholdAtFmr(sortedDesc: ArrayLike<number>, fmr: number): number {
  const n = sortedDesc.length;
  if (n === 0) throw new Error('thresholdAtFmr: no impostor scores');
  if (!(fmr > 0 && fmr < 1)) throw new Error(`thresholdAtFmr: FMR must be in (0, 1), got ${fmr}`);
  const k = Math.floor(fmr * n);
  return sortedDesc[Math.min(k, n - 1)];
}

/** Fraction of `scores` strictly above t. */
export function rateAbove(scores: ArrayLike<number>, t: number): number {
  let c = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] > t) c++;
  return scores.length > 0 ? c / scores.length : NaN;
}

/** TAR at a FAR over the pairs' own impostor scores. */
export function tarAtFar(ps: { scores: ArrayLike<number>; match: ArrayLike<boolean> }, far: number): { tar: number; threshold: number } {
  const imp: number[] = [];
  const gen: number[] = [];
  for (let i = 0; i < ps.scores.length; i++) (ps.match[i] ? gen : imp).push(ps.scores[i]);
  imp.sort((a, b) => b - a);
  const threshold = thresholdAtFmr(imp, far);
  return { tar: rateAbove(gen, threshold), threshold };
}

export interface OperatingPoint {
  fmr: number;
  threshold: number;
  /** Measured FMR at that threshold (≤ fmr). */
  measuredFmr: number;
  /** FNMR over the same-identity pairs of the set at that threshold. */
  fnmr: number;
}

/** The cosines of every same-identity (genuine) and cross-identity (impostor) pair of a set's images. */
export interface AllPairScores { genuine: Float32Array; impostor: Float32Array; images: number }

/** All-pairs genuine/impostor scores among the embedded images whose identity is in `identities`. */
export function allPairScores(emb: Pick<EmbeddingSet, 'identities' | 'embeddings' | 'dim'>, identities: Iterable<string>): AllPairScores {
  const keep = new Set(identities);
  const rows: number[] = [];
  emb.identities.forEach((id, i) => { if (keep.has(id)) rows.push(i); });
  const n = rows.length;
  const idOf = identityIndices(rows.map((r) => emb.identities[r]));
  const perIdentity = new Map<number, number>();
  for (const k of idOf) perIdentity.set(k, (perIdentity.get(k) ?? 0) + 1);
  let nGen = 0;
  for (const c of perIdentity.values()) nGen += (c * (c - 1)) / 2;
  const total = (n * (n - 1)) / 2;
  const genuine = new Float32Array(nGen);
  const impostor = new Float32Array(total - nGen);
  let g = 0;
  let m = 0;
  const X = packRows(emb.embeddings, rows, emb.dim);
  forEachDotBlock(X, n, X, n, emb.dim, (first, count, S) => {
    for (let i = 0; i < count; i++) {
      const a = first + i, ia = idOf[a], o = i * n;
      for (let b = a + 1; b < n; b++) {
        if (idOf[b] === ia) genuine[g++] = S[o + b];
        else impostor[m++] = S[o + b];
      }
    }
  });
  return { genuine, impostor, images: n };
}

/** A small integer per distinct name, in order of first appearance (comparing integers, not strings, in pair loops). */
export function identityIndices(names: readonly string[]): Int32Array {
  const index = new Map<string, number>();
  return Int32Array.from(names, (id) => { let k = index.get(id); if (k === undefined) index.set(id, (k = index.size)); return k; });
}

export function operatingPoints(genuine: Float32Array, impostor: Float32Array, fmrs: number[]): OperatingPoint[] {
  const sorted = Float32Array.from(impostor).sort().reverse();
  return fmrs.map((fmr) => {
    const threshold = thresholdAtFmr(sorted, fmr);
    return { fmr, threshold, measuredFmr: rateAbove(sorted, threshold), fnmr: 1 - rateAbove(genuine, threshold) };
  });
}

/** The saved thresholds file (`<cache>/thresholds/<encoderId>.json`). */
export interface ThresholdsFile {
  version: 1;
  encoderId: string;
  modelHash: string;
  alignment: { template: string; size: number };
  dataset: string;
  split: Pick<IdentitySplit, 'seed' | 'testFraction' | 'identitiesHash'> & { identities: number; images: number };
  impostorPairs: number;
  genuinePairs: number;
  points: OperatingPoint[];
  lfw?: { accuracyMean: number; accuracyStd: number; tarAtFar1e3: number; thresholdAtFar1e3: number; pairsWithFailures: number; failedPairImages: number };
  /** Images of the whole dataset the pipeline could not embed. */
  failedImages: number;
  createdAt: string;
}

export function thresholdsPath(cacheDir: string, encoderId: string): string {
  return path.join(cacheDir, 'thresholds', `${encoderIdForPath(encoderId)}.json`);
}

export function saveThresholds(cacheDir: string, t: ThresholdsFile): string {
  const file = thresholdsPath(cacheDir, t.encoderId);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(t, null, 2));
  fs.renameSync(tmp, file);
  return file;
}

/**
 * Reads the thresholds `faceinv verify` saved for `encoderId`; `fmr` picks one operating point's threshold.
 * Throws naming the file and the command to run when it is missing or malformed.
 */
export function loadThresholds(encoderId: string, opts: { cacheDir?: string } = {}): ThresholdsFile {
  const file = thresholdsPath(opts.cacheDir ?? defaultCacheDir(), encoderId);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} not found: run "faceinv verify --encoder ${encoderId} --dataset <LFW dir>" first`);
  }
  let t: ThresholdsFile;
  try {
    t = JSON.parse(fs.readFileSync(file, 'utf8')) as ThresholdsFile;
  } catch (err) {
    throw new Error(`${file}: not JSON: ${(err as Error).message}`);
  }
  if (t.version !== 1 || t.encoderId !== encoderId || !Array.isArray(t.points) ||
    !t.points.every((p) => typeof p.fmr === 'number' && typeof p.threshold === 'number')) {
    throw new Error(`${file}: not a thresholds file for encoder "${encoderId}" (version 1 with points[{ fmr, threshold }])`);
  }
  return t;
}

/** The threshold at `fmr` from a thresholds file; throws listing the available FMRs. */
export function thresholdAt(t: ThresholdsFile, fmr: number): number {
  const p = t.points.find((q) => Math.abs(q.fmr - fmr) <= fmr * 1e-9);
  if (!p) throw new Error(`thresholds for ${t.encoderId}: no point at FMR ${fmr} (have ${t.points.map((q) => q.fmr).join(', ')})`);
  return p.threshold;
}
