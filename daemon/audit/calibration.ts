/**
 * Calibrating an encoder's decision thresholds on a labelled reference set it embedded: every pair of
 * reference photos is a genuine (same person) or an impostor (different people) comparison, and the
 * threshold at a false match rate is the impostor score at rank floor(FMR · n) from the top — the same rule
 * as the evaluation's (daemon/data/verify.ts thresholdAtFmr, daemon/evaluation/thresholds.ts), with the
 * same support flag (fewer than MIN_IMPOSTORS_ABOVE impostor scores above it). A point needs at least one
 * impostor score above its threshold to be measured at all (n ≥ 1/FMR): a smaller reference set makes it
 * *unattainable*, and the audit says so instead of printing a threshold that means nothing.
 *
 * A reference of 10⁴ photos has 5·10⁷ pairs, so scores are never all held: cosines come from blocked matrix
 * products on the tensor engine (upper triangle only), a first pass counts impostors in a fine histogram
 * (64,000 bins over [−1, 1]) and the plot histograms, and a second pass collects the scores of just the bins
 * that hold a threshold, to pick it exactly. Results are cached per encoder, encoder hash and reference set.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../tfjs/tf';
import { MIN_IMPOSTORS_ABOVE, type Histogram } from '../protocol/report';
import { writeJsonAtomic } from '../runs/runFolder';
import { DISTRIBUTION_GRID } from '../protocol/distribution';
import { encoderIdForPath } from '../protocol/encoderConfig';

export interface CalibrationPoint {
  fmr: number;
  /** Accept when a cosine is strictly above it. */
  threshold: number;
  impostorsAbove: number;
  /** n ≥ 1/FMR: at least one impostor score can lie above the threshold. */
  attainable: boolean;
  lowSupport: boolean;
}

export interface Calibration {
  version: 1;
  encoderId: string;
  encoderHash: string;
  reference: { key: string; description: string; images: number; identities: number };
  genuinePairs: number;
  impostorPairs: number;
  points: CalibrationPoint[];
  genuine: Histogram;
  impostor: Histogram;
  seconds: number;
  createdAt: string;
}

export interface ScoredSet {
  /** [n, dim] unit-norm rows. */
  embeddings: Float32Array;
  dim: number;
  identities: readonly string[];
}

const FINE = 64000;
const FINE_PER_COARSE = FINE / DISTRIBUTION_GRID.bins;
const fineBin = (s: number) => { const k = Math.floor((s + 1) * (FINE / 2)); return k < 0 ? 0 : k >= FINE ? FINE - 1 : k; };
const BLOCK = 512;

/** Visits every pair (a < b) of `set` once with its cosine, in blocks; `visit(block)` gets the block's scores. */
async function sweep(set: ScoredSet, visit: (s: Float32Array, rows: number, cols: number, r0: number) => void, signal?: AbortSignal): Promise<void> {
  const n = set.identities.length;
  const E = tf.tensor2d(set.embeddings, [n, set.dim]);
  try {
    for (let r0 = 0; r0 < n - 1; r0 += BLOCK) {
      if (signal?.aborted) throw new Error('cancelled');
      const rows = Math.min(BLOCK, n - r0);
      const cols = n - r0;
      const S = tf.tidy(() => tf.matMul(tf.slice(E, [r0, 0], [rows, set.dim]), tf.slice(E, [r0, 0], [cols, set.dim]), false, true));
      const data = (await S.data()) as Float32Array;
      S.dispose();
      visit(data, rows, cols, r0);
      await new Promise<void>((r) => setImmediate(r));
    }
  } finally {
    E.dispose();
  }
}

export async function calibrate(set: ScoredSet, fmrs: readonly number[], o: { signal?: AbortSignal; log?: (m: string) => void } = {}): Promise<Pick<Calibration, 'genuinePairs' | 'impostorPairs' | 'points' | 'genuine' | 'impostor'>> {
  const n = set.identities.length;
  if (n < 2) throw new Error(`the reference set has ${n} embedded photo${n === 1 ? '' : 's'}: thresholds need pairs of photos`);
  const idOf = new Int32Array(n);
  const ids = new Map<string, number>();
  set.identities.forEach((id, i) => { if (!ids.has(id)) ids.set(id, ids.size); idOf[i] = ids.get(id) as number; });
  if (ids.size < 2) throw new Error('the reference set holds one person: impostor pairs (different people) are needed to set thresholds');
  const fine = new Float64Array(FINE);
  const genuineCounts = new Array<number>(DISTRIBUTION_GRID.bins).fill(0);
  let genuinePairs = 0;
  await sweep(set, (s, rows, cols, r0) => {
    for (let a = 0; a < rows; a++) {
      const ia = idOf[r0 + a];
      const off = a * cols;
      for (let c = a + 1; c < cols; c++) {
        const v = s[off + c];
        if (idOf[r0 + c] === ia) { genuineCounts[Math.floor(fineBin(v) / FINE_PER_COARSE)]++; genuinePairs++; } else fine[fineBin(v)]++;
      }
    }
  }, o.signal);
  let impostorPairs = 0;
  for (let k = 0; k < FINE; k++) impostorPairs += fine[k];
  if (impostorPairs === 0) throw new Error('the reference set has no impostor pairs');
  // For each FMR, the fine bin holding rank floor(FMR·n) from the top, and the rank inside it.
  const above = new Float64Array(FINE + 1);
  for (let k = FINE - 1; k >= 0; k--) above[k] = above[k + 1] + fine[k];
  const want = fmrs.map((fmr) => {
    if (!(fmr > 0 && fmr < 1)) throw new Error(`FMR must be in (0, 1), got ${fmr}`);
    const rank = Math.min(Math.floor(fmr * impostorPairs), impostorPairs - 1);
    let b = FINE - 1;
    while (b > 0 && above[b] <= rank) b--;
    return { fmr, rank, bin: b, within: rank - above[b + 1] };
  });
  const marked = new Map<number, number[]>(want.map((w) => [w.bin, []]));
  await sweep(set, (s, rows, cols, r0) => {
    for (let a = 0; a < rows; a++) {
      const ia = idOf[r0 + a];
      const off = a * cols;
      for (let c = a + 1; c < cols; c++) {
        if (idOf[r0 + c] === ia) continue;
        const v = s[off + c];
        const list = marked.get(fineBin(v));
        if (list) list.push(v);
      }
    }
  }, o.signal);
  for (const l of marked.values()) l.sort((x, y) => y - x);
  const points: CalibrationPoint[] = want.map((w) => {
    const list = marked.get(w.bin) as number[];
    const threshold = list[Math.min(w.within, list.length - 1)];
    const impostorsAbove = above[w.bin + 1] + list.filter((v) => v > threshold).length;
    const attainable = Math.floor(w.fmr * impostorPairs) >= 1;
    return { fmr: w.fmr, threshold, impostorsAbove, attainable, lowSupport: impostorsAbove < MIN_IMPOSTORS_ABOVE };
  });
  const impostorCounts = new Array<number>(DISTRIBUTION_GRID.bins).fill(0);
  for (let k = 0; k < FINE; k++) impostorCounts[Math.floor(k / FINE_PER_COARSE)] += fine[k];
  o.log?.(`calibrated on ${n} reference photos of ${ids.size} people: ${genuinePairs.toLocaleString('en-US')} genuine and ${impostorPairs.toLocaleString('en-US')} impostor pairs`);
  return {
    genuinePairs, impostorPairs, points,
    genuine: { key: 'genuine', label: 'genuine pairs (reference photos, same person)', total: genuinePairs, missing: 0, counts: genuineCounts },
    impostor: { key: 'impostor', label: 'impostor pairs (reference photos, different people)', total: impostorPairs, missing: 0, counts: impostorCounts },
  };
}

export function calibrationFile(cacheDir: string, encoderId: string, encoderHash: string, referenceKey: string): string {
  return path.join(cacheDir, 'audit', 'calibration', encoderIdForPath(encoderId), `${encoderHash.slice(0, 16)}-${referenceKey}.json`);
}

/** The cached calibration when it holds every FMR asked for, else a fresh one (written to the cache). */
export async function cachedCalibration(cacheDir: string, who: { encoderId: string; encoderHash: string; reference: Calibration['reference'] }, set: ScoredSet, fmrs: readonly number[],
  o: { signal?: AbortSignal; log?: (m: string) => void } = {}): Promise<{ calibration: Calibration; file: string; cached: boolean }> {
  const file = calibrationFile(cacheDir, who.encoderId, who.encoderHash, who.reference.key);
  let old: Calibration | undefined;
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Calibration;
    if (c.version === 1 && c.encoderHash === who.encoderHash && c.reference?.images === set.identities.length) old = c;
  } catch { /* absent or damaged: computed again */ }
  const have = (f: number) => old?.points.some((p) => Math.abs(p.fmr - f) <= f * 1e-9);
  if (old && fmrs.every(have)) {
    return { calibration: { ...old, points: fmrs.map((f) => old!.points.find((p) => Math.abs(p.fmr - f) <= f * 1e-9) as CalibrationPoint) }, file, cached: true };
  }
  const t0 = Date.now();
  const all = [...new Set([...(old?.points.map((p) => p.fmr) ?? []), ...fmrs, 1e-2, 1e-3, 1e-4, 1e-5])].sort((a, b) => b - a);
  const c = await calibrate(set, all, o);
  const calibration: Calibration = { version: 1, encoderId: who.encoderId, encoderHash: who.encoderHash, reference: who.reference, ...c, seconds: (Date.now() - t0) / 1000, createdAt: new Date().toISOString() };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonAtomic(file, calibration);
  return { calibration: { ...calibration, points: fmrs.map((f) => calibration.points.find((p) => Math.abs(p.fmr - f) <= f * 1e-9) as CalibrationPoint) }, file, cached: false };
}
