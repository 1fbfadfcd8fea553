/**
 * Intervals that carry the threshold's own uncertainty and the clustering of targets by identity:
 * a percentile bootstrap over *identities* (Efron & Tibshirani 1993, ch. 13; the cluster bootstrap
 * of Field & Welsh, JRSS-B 2007), in which each resample draws the test identities with replacement and
 * then (a) recomputes every decision threshold from the impostor pairs of the resampled identities and
 * (b) recomputes every success rate over the resampled identities' targets against those thresholds.
 * Biometric practice does the same for error rates (Bolle, Ratha & Pankanti, "Error analysis of pattern
 * recognition systems — the subsets bootstrap", CVIU 2004; ISO/IEC 19795-1 §7 on dependent trials).
 *
 * Affordable on 3.2 M impostor pairs: an identity drawn m times makes each of its impostor pairs count with
 * weight m_a · m_b (pairs between two copies of one identity are genuine, not impostor), so a resampled
 * threshold is a weighted quantile of the *original* scores. The scores are sorted once and only the top
 * few per cent are walked (an FMR ≤ 1e-2 threshold sits there), with a full sorted index as a fallback.
 */
import { forEachDotBlock, packRows } from '../math/blockDots';
import { mulberry32 } from '../data/split';
import type { Gallery } from './sar';

/** The seeded resamples: per resample, how many times each identity is drawn. */
export interface IdentityResamples {
  identities: string[];
  /** B arrays of length identities.length. */
  multiplicity: Int32Array[];
  seed: number;
}

export function resampleIdentities(identities: readonly string[], resamples: number, seed: number): IdentityResamples {
  if (!Number.isInteger(resamples) || resamples < 2) throw new Error(`bootstrap: resamples must be an integer ≥ 2, got ${resamples}`);
  const U = identities.length;
  if (U < 2) throw new Error(`bootstrap: needs at least 2 identities to resample, got ${U}`);
  const rand = mulberry32(seed);
  const multiplicity = Array.from({ length: resamples }, () => {
    const m = new Int32Array(U);
    for (let i = 0; i < U; i++) m[Math.floor(rand() * U)]++;
    return m;
  });
  return { identities: [...identities], multiplicity, seed };
}

/** Impostor scores of a gallery, sorted descending, each with the (resample) identity index of both sides. */
export interface ImpostorScores {
  scores: Float32Array;
  a: Uint32Array;
  b: Uint32Array;
  /** Impostor pairs in all (the sorted arrays may hold only the top of them). */
  total: number;
  /** Gallery images per identity (resample index). */
  images: Int32Array;
  /** The full set, kept to redo a quantile that falls below the top list (rare). */
  full: { scores: Float32Array; a: Uint32Array; b: Uint32Array };
}

/**
 * Every cross-identity pair score of the gallery's images whose identity is among the resampled identities;
 * `topFraction` of them (the highest) sorted for the quantile walks.
 */
export function impostorScores(gallery: Gallery, res: Pick<IdentityResamples, 'identities'>, topFraction: number): ImpostorScores {
  const index = new Map(res.identities.map((id, i) => [id, i]));
  const rows: number[] = [];
  const idOf: number[] = [];
  gallery.identities.forEach((id, r) => { const k = index.get(id); if (k !== undefined) { rows.push(r); idOf.push(k); } });
  const images = new Int32Array(res.identities.length);
  for (const k of idOf) images[k]++;
  const n = rows.length, dim = gallery.dim;
  let total = (n * (n - 1)) / 2;
  for (const c of images) total -= (c * (c - 1)) / 2;
  if (total === 0) throw new Error('bootstrap: the gallery has no impostor pairs (one identity?)');
  const scores = new Float32Array(total), a = new Uint32Array(total), b = new Uint32Array(total);
  let m = 0;
  const X = packRows(gallery.embeddings, rows, dim);
  forEachDotBlock(X, n, X, n, dim, (first, count, S) => {
    for (let r = 0; r < count; r++) {
      const i = first + r, o = r * n;
      for (let j = i + 1; j < n; j++) {
        if (idOf[i] === idOf[j]) continue;
        scores[m] = S[o + j]; a[m] = idOf[i]; b[m] = idOf[j]; m++;
      }
    }
  });
  const keep = Math.min(total, Math.ceil(topFraction * total) + 64);
  const top = sortedTop({ scores, a, b }, keep);
  return { ...top, total, images, full: { scores, a, b } };
}

/** The `keep` highest entries, sorted descending (one native sort of a copy to find the cut, then the few). */
function sortedTop(all: { scores: Float32Array; a: Uint32Array; b: Uint32Array }, keep: number): { scores: Float32Array; a: Uint32Array; b: Uint32Array } {
  const n = all.scores.length;
  const cut = keep >= n ? -Infinity : Float32Array.from(all.scores).sort()[n - keep];
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (all.scores[i] >= cut) idx.push(i);
  idx.sort((p, q) => all.scores[q] - all.scores[p]);
  return {
    scores: Float32Array.from(idx, (i) => all.scores[i]),
    a: Uint32Array.from(idx, (i) => all.a[i]),
    b: Uint32Array.from(idx, (i) => all.b[i]),
  };
}

/**
 * The threshold at `fmr` when identity k counts `m[k]` times: walking scores downwards, the first score whose
 * weight would take the weight strictly above it past fmr · W (W = all impostor weight). With every m = 1 this
 * is thresholdAtFmr (daemon/data/verify.ts): the score at rank floor(fmr · n). Null when the list runs out.
 */
export function weightedThreshold(list: Pick<ImpostorScores, 'scores' | 'a' | 'b'>, m: Int32Array, totalWeight: number, fmr: number): number | null {
  const limit = fmr * totalWeight;
  let cum = 0;
  for (let j = 0; j < list.scores.length; j++) {
    const w = m[list.a[j]] * m[list.b[j]];
    if (w === 0) continue;
    if (cum + w > limit) return list.scores[j];
    cum += w;
  }
  return null;
}

/** Σ over impostor pairs of m_a·m_b = ((Σ m·n)² − Σ (m·n)²) / 2, n = images per identity. */
export function impostorWeight(m: Int32Array, images: Int32Array): number {
  let s = 0, s2 = 0;
  for (let k = 0; k < m.length; k++) { const w = m[k] * images[k]; s += w; s2 += w * w; }
  return (s * s - s2) / 2;
}

/** Per resample (B) and operating point (P): the thresholds recomputed on the resampled identities (NaN without impostors). */
export function resampledThresholds(imp: ImpostorScores, res: IdentityResamples, fmrs: readonly number[]): Float64Array[] {
  let fullSorted: { scores: Float32Array; a: Uint32Array; b: Uint32Array } | null = null;
  return res.multiplicity.map((m) => {
    const W = impostorWeight(m, imp.images);
    // A resample that drew a single identity has no impostor pair: no threshold, and its rates are left out.
    if (W === 0) return new Float64Array(fmrs.length).fill(NaN);
    return Float64Array.from(fmrs, (fmr) => {
      const t = weightedThreshold(imp, m, W, fmr);
      if (t !== null) return t;
      fullSorted ??= sortedTop(imp.full, imp.full.scores.length);
      const u = weightedThreshold(fullSorted, m, W, fmr);
      if (u === null) throw new Error(`bootstrap: FMR ${fmr} is below one impostor pair of a resample`);
      return u;
    });
  });
}

/** One target as the bootstrap sees it: its identity, its type I score, its type II pair scores. */
export interface BootProbe {
  /** Index into the resamples' identities. */
  identity: number;
  /** Cosine to the source's template; null when the reconstruction failed (fails every comparison). */
  typeI: number | null;
  /** Cosines to the person's other photos; null when failed (all `pairs` fail). */
  pairScores: Float64Array | null;
  pairs: number;
}

export interface RateIntervals {
  typeI: ([number, number] | null)[];
  typeIIPerPair: ([number, number] | null)[];
  typeIIPerIdentity: ([number, number] | null)[];
}

/** 95 % percentile interval of the finite values, as clusterBootstrap (stats.ts) takes it. */
export function percentileInterval(values: Float64Array): [number, number] | null {
  const v = Float64Array.from(values.filter(Number.isFinite)).sort();
  if (v.length < 2) return null;
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.round(q * (v.length - 1))))];
  return [at(0.025), at(0.975)];
}

/**
 * Intervals of type I, type II per pair and type II per identity: in resample b, identity k counts m_b[k]
 * times and a comparison succeeds when above `thresholds(b)[p]`. Pass the full-sample thresholds for every b
 * to get the fixed-threshold (clustering only) interval.
 */
export function bootstrapRates(probes: readonly BootProbe[], res: IdentityResamples, thresholds: (b: number) => ArrayLike<number>, points: number): RateIntervals {
  const B = res.multiplicity.length, U = res.identities.length;
  const out = { t1: [] as Float64Array[], pp: [] as Float64Array[], pi: [] as Float64Array[] };
  for (let p = 0; p < points; p++) { out.t1.push(new Float64Array(B)); out.pp.push(new Float64Array(B)); out.pi.push(new Float64Array(B)); }
  const sorted = probes.map((q) => (q.pairScores ? Float64Array.from(q.pairScores).sort() : null));
  const hitsId = new Float64Array(U), pairsId = new Float64Array(U);
  for (let b = 0; b < B; b++) {
    const m = res.multiplicity[b];
    const thr = thresholds(b);
    for (let p = 0; p < points; p++) {
      const t = thr[p];
      if (!Number.isFinite(t)) { out.t1[p][b] = NaN; out.pp[p][b] = NaN; out.pi[p][b] = NaN; continue; }
      let n1 = 0, s1 = 0, hits = 0, pairs = 0;
      hitsId.fill(0); pairsId.fill(0);
      probes.forEach((q, i) => {
        const w = m[q.identity];
        if (w === 0) return;
        n1 += w;
        if (q.typeI !== null && q.typeI > t) s1 += w;
        if (q.pairs > 0) {
          const h = sorted[i] ? countAbove(sorted[i] as Float64Array, t) : 0;
          hits += w * h; pairs += w * q.pairs;
          hitsId[q.identity] += h; pairsId[q.identity] += q.pairs;
        }
      });
      let idSum = 0, idW = 0;
      for (let k = 0; k < U; k++) if (pairsId[k] > 0 && m[k] > 0) { idSum += m[k] * (hitsId[k] / pairsId[k]); idW += m[k]; }
      out.t1[p][b] = n1 > 0 ? s1 / n1 : NaN;
      out.pp[p][b] = pairs > 0 ? hits / pairs : NaN;
      out.pi[p][b] = idW > 0 ? idSum / idW : NaN;
    }
  }
  return { typeI: out.t1.map(percentileInterval), typeIIPerPair: out.pp.map(percentileInterval), typeIIPerIdentity: out.pi.map(percentileInterval) };
}

/** Entries of ascending `sorted` strictly above t. */
function countAbove(sorted: Float64Array, t: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] > t) hi = mid; else lo = mid + 1; }
  return sorted.length - lo;
}
