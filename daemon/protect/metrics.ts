/**
 * The numbers ISO/IEC 30136 asks for, from genuine/impostor (or mated/non-mated) comparison scores, higher =
 * more alike:
 * - accuracy: FNMR at a false match rate (the threshold from the impostor scores as the project sets it,
 *   daemon/data/verify.ts: scores equal to the threshold are rejected), the EER, and DET curve points;
 * - unlinkability: Gomez-Barrero, Galbally, Rathgeb & Busch, "General framework to evaluate unlinkability in
 *   biometric template protection systems", IEEE TIFS 13(6), 2018: local D↔(s) = 2·ω·LR(s)/(1 + ω·LR(s)) − 1
 *   where ω·LR(s) > 1, else 0 (LR the ratio of the mated to the non-mated score density, by histogram; 1 where
 *   the non-mated density is 0), and global D↔sys = Σ D↔(s) · p_mated(s) · Δs, in [0, 1];
 * - 95 % intervals: Wilson's for the attacks' success rates (one trial per victim), a subject bootstrap for
 *   the EER and FNMR (`accuracyIntervals`).
 */
import { thresholdAtFmr } from '../data/verify';
import { normalInterval } from '../evaluation/realism';
import { percentileInterval } from '../evaluation/bootstrap';
import { mulberry32 } from '../data/split';

export interface FmrPoint { fmr: number; threshold: number; fnmr: number; measuredFmr: number }
export interface Accuracy {
  genuine: number;
  impostor: number;
  eer: number;
  points: FmrPoint[];
  /** DET curve: FMR and FNMR at a sweep of thresholds, FMR decreasing. */
  det: { fmr: number[]; fnmr: number[] };
  /** 95 % intervals of `eer` and of each point's `fnmr` (subject bootstrap, `accuracyIntervals`), where computed. */
  intervals?: AccuracyIntervals;
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
  /** 95 % interval of D↔sys by the subject bootstrap (unlinkabilityInterval), when computed. */
  dsysCI?: Interval;
  omega: number;
  bins: number;
  /** Left edge and width of the score bins. */
  lo: number;
  width: number;
  /** Bin centres, the two densities and D↔(s) per bin. */
  centres: number[];
  mated: number[];
  nonMated: number[];
  dLocal: number[];
  matedPairs: number;
  nonMatedPairs: number;
}

/** D↔(s) per bin and D↔sys from the two densities over bins of width `w` (Gomez-Barrero et al. 2018). */
function dsysOf(pm: readonly number[], pn: readonly number[], w: number, omega: number): { dLocal: number[]; dsys: number } {
  const dLocal = pm.map((m, i) => {
    if (m === 0) return 0;
    if (pn[i] === 0) return 1;
    const r = omega * (m / pn[i]);
    return r > 1 ? 2 * r / (1 + r) - 1 : 0;
  });
  let dsys = 0;
  for (let i = 0; i < pm.length; i++) dsys += dLocal[i] * pm[i] * w;
  return { dLocal, dsys: Math.min(1, Math.max(0, dsys)) };
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
  const { dLocal, dsys } = dsysOf(pm, pn, w, omega);
  return {
    dsys, omega, bins, lo, width: w, centres: pm.map((_, i) => lo + (i + 0.5) * w), mated: pm, nonMated: pn, dLocal,
    matedPairs: mated.length, nonMatedPairs: nonMated.length,
  };
}

/** A 95 % interval [lo, hi]. */
export type Interval = [number, number];

/**
 * Wilson score interval (Wilson, JASA 1927) of k successes in n independent trials, at 95 % (z = 1.96):
 * used for the attacks' success rates, where each trial is a different victim.
 */
export function wilson(k: number, n: number, z = 1.959964): Interval {
  if (!(n > 0)) return [NaN, NaN];
  const p = k / n, z2 = z * z, den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den, half = (z / den) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Genuine / impostor scores with the subject (index) of each side, for the subject bootstrap. */
export interface PairScores {
  same: Float64Array;
  /** Subject of each genuine pair. */
  sameSubject: Int32Array;
  diff: Float64Array;
  diffA: Int32Array;
  diffB: Int32Array;
  subjects: number;
}

export interface AccuracyIntervals { eer: Interval; fnmr: Interval[]; resamples: number }

/**
 * 95 % percentile intervals of the EER and of FNMR at each FMR by a bootstrap over *subjects* (the cluster
 * bootstrap of daemon/evaluation/bootstrap.ts; Bolle, Ratha & Pankanti, CVIU 2004): each resample draws the
 * subjects with replacement; a genuine pair of subject i counts m_i times, an impostor pair of subjects i, j
 * m_i·m_j times (m = times drawn), and the FMR threshold is recomputed from the resampled impostors, so the
 * interval carries the threshold's own uncertainty. The EER is read on a fixed grid of 400 thresholds.
 */
export function accuracyIntervals(p: PairScores, fmrs: readonly number[], resamples: number, seed: number): AccuracyIntervals {
  const U = p.subjects;
  const impOrder = Int32Array.from(p.diff.keys()).sort((a, b) => p.diff[b] - p.diff[a]);
  const genOrder = Int32Array.from(p.same.keys()).sort((a, b) => p.same[a] - p.same[b]);
  const impDesc = Float64Array.from(impOrder, (i) => p.diff[i]);
  const genAsc = Float64Array.from(genOrder, (i) => p.same[i]);
  const iA = Int32Array.from(impOrder, (i) => p.diffA[i]), iB = Int32Array.from(impOrder, (i) => p.diffB[i]);
  const gS = Int32Array.from(genOrder, (i) => p.sameSubject[i]);
  // The EER grid: quantiles of both sets; for each, how many impostors lie strictly above, how many genuine at or below.
  const grid = [...new Set(Array.from({ length: 201 }, (_, q) => [impDesc[Math.min(impDesc.length - 1, Math.floor((q / 200) * impDesc.length))], genAsc[Math.min(genAsc.length - 1, Math.floor((q / 200) * genAsc.length))]]).flat())].sort((a, b) => a - b);
  const above = grid.map((t) => { let lo = 0, hi = impDesc.length; while (lo < hi) { const m = (lo + hi) >> 1; if (impDesc[m] > t) lo = m + 1; else hi = m; } return lo; });
  const atMost = grid.map((t) => { let lo = 0, hi = genAsc.length; while (lo < hi) { const m = (lo + hi) >> 1; if (genAsc[m] <= t) lo = m + 1; else hi = m; } return lo; });
  const rand = mulberry32(seed ^ 0x9e3779b9);
  const eers: number[] = [], fnmrs: number[][] = fmrs.map(() => []);
  const m = new Float64Array(U), cumI = new Float64Array(impDesc.length + 1), cumG = new Float64Array(genAsc.length + 1);
  for (let b = 0; b < resamples; b++) {
    m.fill(0);
    for (let i = 0; i < U; i++) m[Math.floor(rand() * U)]++;
    for (let k = 0; k < impDesc.length; k++) cumI[k + 1] = cumI[k] + m[iA[k]] * m[iB[k]];
    for (let k = 0; k < genAsc.length; k++) cumG[k + 1] = cumG[k] + m[gS[k]];
    const WI = cumI[impDesc.length], WG = cumG[genAsc.length];
    if (!(WI > 0 && WG > 0)) continue;
    fmrs.forEach((f, j) => {
      // The threshold: the first impostor score (descending) whose weight above reaches f·W, as thresholdAtFmr does unweighted.
      let lo = 0, hi = impDesc.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (cumI[mid + 1] > f * WI) hi = mid; else lo = mid + 1; }
      const t = impDesc[lo];
      let a = 0, z = genAsc.length;
      while (a < z) { const mid = (a + z) >> 1; if (genAsc[mid] <= t) a = mid + 1; else z = mid; }
      fnmrs[j].push(cumG[a] / WG);
    });
    let eer = 1, gap = Infinity;
    for (let g = 0; g < grid.length; g++) {
      const fmr = cumI[above[g]] / WI, fnmr = cumG[atMost[g]] / WG;
      if (Math.abs(fmr - fnmr) < gap) { gap = Math.abs(fmr - fnmr); eer = (fmr + fnmr) / 2; }
    }
    eers.push(eer);
  }
  const ci = (xs: number[]): Interval => percentileInterval(Float64Array.from(xs)) ?? [NaN, NaN];
  return { eer: ci(eers), fnmr: fnmrs.map(ci), resamples };
}

/**
 * 95 % interval of D↔sys by the same subject bootstrap as `accuracyIntervals`: mated pairs (same subject, two
 * keys) weighted by m_i, non-mated pairs by m_i·m_j, on the point estimate's bins (`u`), so the interval says
 * how much D↔sys owes to which subjects happened to be enrolled. θ̂ ± 1.96·SE (capped to [0, 1]), not the
 * percentile interval: a resample repeats subjects, fewer distinct pairs make the histograms noisier, and
 * D↔sys's noise bias is upward, so resampled values sit above θ̂ as a block (on BioHashing the percentile
 * interval was [0.057, 0.098] around 0.050) — the same reason as the Fréchet distance's (normalInterval).
 */
export function unlinkabilityInterval(p: PairScores, u: Unlinkability, resamples: number, seed: number): Interval {
  const U = p.subjects, bins = u.bins;
  const binOf = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor((v - u.lo) / u.width)));
  const matedBin = Uint16Array.from(p.same, binOf), nonBin = Uint16Array.from(p.diff, binOf);
  const rand = mulberry32(seed ^ 0xd5c5 ^ 0x9e3779b9);
  const m = new Float64Array(U), hm = new Float64Array(bins), hn = new Float64Array(bins);
  const values: number[] = [];
  for (let b = 0; b < resamples; b++) {
    m.fill(0); hm.fill(0); hn.fill(0);
    for (let i = 0; i < U; i++) m[Math.floor(rand() * U)]++;
    for (let k = 0; k < matedBin.length; k++) hm[matedBin[k]] += m[p.sameSubject[k]];
    for (let k = 0; k < nonBin.length; k++) hn[nonBin[k]] += m[p.diffA[k]] * m[p.diffB[k]];
    const WM = hm.reduce((a, c) => a + c, 0), WN = hn.reduce((a, c) => a + c, 0);
    if (!(WM > 0 && WN > 0)) continue;
    const pm = Array.from(hm, (c) => c / (WM * u.width)), pn = Array.from(hn, (c) => c / (WN * u.width));
    values.push(dsysOf(pm, pn, u.width, u.omega).dsys);
  }
  const ci = normalInterval(u.dsys, Float64Array.from(values));
  return ci ? [ci[0], Math.min(1, ci[1])] : [NaN, NaN];
}
