/**
 * The numbers ISO/IEC 30136 asks for, from genuine/impostor (or mated/non-mated) comparison scores, higher =
 * more alike:
 * - accuracy: FNMR at a false match rate (the threshold from the impostor scores as the project sets it,
 *   daemon/data/verify.ts: scores equal to the threshold are rejected), the EER, and DET curve points;
 * - unlinkability: Gomez-Barrero, Galbally, Rathgeb & Busch, "General framework to evaluate unlinkability in
 *   biometric template protection systems", IEEE TIFS 13(6), 2018: local D↔(s) = 2·ω·LR(s)/(1 + ω·LR(s)) − 1
 *   where ω·LR(s) > 1, else 0 (LR the ratio of the mated to the non-mated score density, by histogram; 1 where
 *   the non-mated density is 0), and global D↔sys = Σ D↔(s) · p_mated(s) · Δs, in [0, 1].
 */
import { thresholdAtFmr } from '../data/verify';

export interface FmrPoint { fmr: number; threshold: number; fnmr: number; measuredFmr: number }
export interface Accuracy {
  genuine: number;
  impostor: number;
  eer: number;
  points: FmrPoint[];
  /** DET curve: FMR and FNMR at a sweep of thresholds, FMR decreasing. */
  det: { fmr: number[]; fnmr: number[] };
}

function sortedDesc(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a).sort().reverse();
}

/** Fraction of `sortedAsc` ≤ t (binary search). */
function fractionAtMost(sortedAsc: Float64Array, t: number): number {
  let lo = 0, hi = sortedAsc.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sortedAsc[mid] <= t) lo = mid + 1; else hi = mid; }
  return sortedAsc.length ? lo / sortedAsc.length : NaN;
}

export function accuracy(genuine: ArrayLike<number>, impostor: ArrayLike<number>, fmrs: readonly number[]): Accuracy {
  if (!genuine.length) throw new Error('accuracy: no genuine (same-subject) pairs');
  if (!impostor.length) throw new Error('accuracy: no impostor pairs');
  const impDesc = sortedDesc(impostor);
  const impAsc = Float64Array.from(impDesc).reverse();
  const genAsc = Float64Array.from(genuine).sort();
  const fmrAt = (t: number) => (impAsc.length - Math.round(fractionAtMost(impAsc, t) * impAsc.length)) / impAsc.length;
  const fnmrAt = (t: number) => fractionAtMost(genAsc, t);
  const points = fmrs.map((fmr) => {
    const threshold = thresholdAtFmr(impDesc, fmr);
    return { fmr, threshold, fnmr: fnmrAt(threshold), measuredFmr: fmrAt(threshold) };
  });
  // Thresholds: every distinct score would be exact; a few hundred quantiles of both sets are enough.
  const cand = new Set<number>();
  const Q = 400;
  for (let i = 0; i <= Q; i++) {
    cand.add(impAsc[Math.min(impAsc.length - 1, Math.floor((i / Q) * impAsc.length))]);
    cand.add(genAsc[Math.min(genAsc.length - 1, Math.floor((i / Q) * genAsc.length))]);
  }
  for (let k = 0; k < Math.min(200, impDesc.length); k++) cand.add(impDesc[k]);
  const ts = [...cand].sort((a, b) => a - b);
  const det = { fmr: [] as number[], fnmr: [] as number[] };
  let eer = 1, gap = Infinity;
  for (const t of ts) {
    const a = fmrAt(t), b = fnmrAt(t);
    det.fmr.push(a); det.fnmr.push(b);
    if (Math.abs(a - b) < gap) { gap = Math.abs(a - b); eer = (a + b) / 2; }
  }
  return { genuine: genuine.length, impostor: impostor.length, eer, points, det };
}

export interface Unlinkability {
  dsys: number;
  omega: number;
  bins: number;
  /** Bin centres, the two densities and D↔(s) per bin. */
  centres: number[];
  mated: number[];
  nonMated: number[];
  dLocal: number[];
  matedPairs: number;
  nonMatedPairs: number;
}

export function unlinkability(mated: ArrayLike<number>, nonMated: ArrayLike<number>, opts: { omega?: number; bins?: number } = {}): Unlinkability {
  if (mated.length < 2) throw new Error(`unlinkability: ${mated.length} mated pairs (two templates of one subject under two keys); at least 2 needed`);
  if (!nonMated.length) throw new Error('unlinkability: no non-mated pairs');
  const omega = opts.omega ?? 1;
  const bins = opts.bins ?? Math.max(2, Math.min(Math.floor(mated.length / 10), 100));
  let lo = Infinity, hi = -Infinity;
  for (const a of [mated, nonMated]) for (let i = 0; i < a.length; i++) { lo = Math.min(lo, a[i]); hi = Math.max(hi, a[i]); }
  if (hi <= lo) hi = lo + 1e-9;
  const w = (hi - lo) / bins;
  const hist = (a: ArrayLike<number>) => {
    const h = new Array<number>(bins).fill(0);
    for (let i = 0; i < a.length; i++) h[Math.min(bins - 1, Math.floor((a[i] - lo) / w))]++;
    return h.map((c) => c / (a.length * w));
  };
  const pm = hist(mated), pn = hist(nonMated);
  const dLocal = pm.map((m, i) => {
    if (m === 0) return 0;
    if (pn[i] === 0) return 1;
    const r = omega * (m / pn[i]);
    return r > 1 ? 2 * r / (1 + r) - 1 : 0;
  });
  let dsys = 0;
  for (let i = 0; i < bins; i++) dsys += dLocal[i] * pm[i] * w;
  return {
    dsys: Math.min(1, Math.max(0, dsys)), omega, bins, centres: pm.map((_, i) => lo + (i + 0.5) * w), mated: pm, nonMated: pn, dLocal,
    matedPairs: mated.length, nonMatedPairs: nonMated.length,
  };
}
