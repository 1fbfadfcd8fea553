/**
 * From the per-template records of every finished chunk to what the report says: per encoder and protocol,
 * at each operating point, how many templates' reconstructions (and lookalikes) the system accepts, with
 * Wilson intervals (daemon/evaluation/stats.ts) and the verdict sentence (verdict.ts); the score
 * distributions (distribution.ts); the counts of skipped, flagged and failed rows; the grid sample.
 * Denominators: every audited template — a failed inversion or a face the detector misses counts as not
 * accepted, as in the evaluation (a failure never leaves the denominator and flatters the attack).
 */
import type { Histogram, ScoreDistribution } from '../protocol/report';
import { rate } from '../evaluation/stats';
import type { CalibrationPoint } from './calibration';
import { histogramOf } from '../protocol/distribution';
import type { AuditPoint, AuditVerdict, ByProtocol, TemplateResult } from './reportSchema';
import { AUDIT_WORDS, verdictClass, verdictSentence, type VerdictWords } from '../protocol/verdict';

export interface ScorerSummaryInput {
  encoderId: string;
  transfer: boolean;
  points: CalibrationPoint[];
  genuine: Histogram;
  impostor: Histogram;
  pairsFrom: string;
}

/** The scores of `r` by scorer `k` (0 = the audited encoder, k ≥ 1 = transfer k − 1); null when it has no template there. */
function scoresOf(r: TemplateResult, k: number): { attack: ByProtocol | null; nearest: ByProtocol | null } | null {
  if (k === 0) return { attack: r.attack ?? null, nearest: r.nearest ? { direct: r.nearest.direct, redetect: r.nearest.redetect } : null };
  const t = r.transfer?.[k - 1];
  if (t === null) return null;
  if (t === undefined) return r.failure ? { attack: null, nearest: null } : null;
  return t;
}

const accepted = (s: { cosine: number | null } | undefined, thr: number) => s !== undefined && s.cosine !== null && s.cosine > thr;

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function failureKey(f: string): string {
  const k = f.split(':')[0].trim();
  return k.length > 60 ? `${k.slice(0, 57)}…` : k;
}

export function verdictsFor(results: readonly TemplateResult[], s: ScorerSummaryInput, k: number, words: VerdictWords = AUDIT_WORDS): AuditVerdict[] {
  const audited = results.filter((r) => !r.skipped);
  return (['redetect', 'direct'] as const).map((protocol) => {
    const rows = audited.map((r) => scoresOf(r, k)).filter((x): x is NonNullable<typeof x> => x !== null);
    const failures: Record<string, number> = {};
    const cos: number[] = [];
    const base: number[] = [];
    for (const x of rows) {
      const a = x.attack?.[protocol];
      if (a && a.cosine !== null) cos.push(a.cosine);
      else { const why = failureKey(a?.failure ?? 'inversion failed'); failures[why] = (failures[why] ?? 0) + 1; }
      const b = x.nearest?.[protocol];
      if (b && b.cosine !== null) base.push(b.cosine);
    }
    const points: AuditPoint[] = s.points.map((p) => {
      const attack = rate(rows.filter((x) => accepted(x.attack?.[protocol], p.threshold)).length, rows.length);
      const baseline = rate(rows.filter((x) => accepted(x.nearest?.[protocol], p.threshold)).length, rows.length);
      const v = { fmr: p.fmr, attainable: p.attainable, lowSupport: p.lowSupport, attack, baseline };
      const w = s.transfer ? { ...words, system: `${s.encoderId} (a second system)` } : words;
      return { ...v, threshold: p.threshold, impostorsAbove: p.impostorsAbove, sentence: verdictSentence(v, w), class: verdictClass(v) };
    });
    return { encoderId: s.encoderId, transfer: s.transfer, protocol, templates: rows.length, points, meanCosine: mean(cos), baselineMeanCosine: mean(base), failures };
  });
}

export function distributionFor(results: readonly TemplateResult[], s: ScorerSummaryInput, k: number): ScoreDistribution {
  const audited = results.filter((r) => !r.skipped).map((r) => scoresOf(r, k)).filter((x): x is NonNullable<typeof x> => x !== null);
  const series = (pick: (x: (typeof audited)[number]) => { cosine: number | null } | undefined) => audited.map((x) => pick(x)?.cosine ?? null);
  return {
    encoderId: s.encoderId,
    pairsFrom: s.pairsFrom,
    start: -1,
    width: 0.02,
    histograms: [
      s.genuine, s.impostor,
      histogramOf('attack/redetect', 'reconstructions, re-detected', series((x) => x.attack?.redetect)),
      histogramOf('attack/direct', 'reconstructions, direct', series((x) => x.attack?.direct)),
      histogramOf('nearest-face/redetect', 'lookalikes (nearest reference photo), re-detected', series((x) => x.nearest?.redetect)),
      histogramOf('nearest-face/direct', 'lookalikes, direct', series((x) => x.nearest?.direct)),
    ],
    thresholds: s.points.filter((p) => p.attainable).map((p) => ({ fmr: p.fmr, threshold: p.threshold, lowSupport: p.lowSupport })),
  };
}

export interface RowCounts {
  audited: number;
  skipped: Record<string, number>;
  unnormalised: number;
  failed: number;
  failures: Record<string, number>;
}

export function rowCounts(results: readonly TemplateResult[]): RowCounts {
  const skipped: Record<string, number> = {};
  const failures: Record<string, number> = {};
  let unnormalised = 0, failed = 0, audited = 0;
  for (const r of results) {
    if (r.skipped) { const k = r.skipped.split(':')[0]; skipped[k] = (skipped[k] ?? 0) + 1; continue; }
    audited++;
    if (r.note?.startsWith('L2 norm')) unnormalised++;
    if (r.failure) { failed++; const k = failureKey(r.failure); failures[k] = (failures[k] ?? 0) + 1; }
  }
  return { audited, skipped, unnormalised, failed, failures };
}

/** Strictest attainable operating point whose threshold the reconstruction clears (redetect), or null. */
export function passesAt(r: TemplateResult, points: readonly CalibrationPoint[]): number | null {
  let best: number | null = null;
  for (const p of points) if (p.attainable && accepted(r.attack?.redetect, p.threshold)) best = best === null ? p.fmr : Math.min(best, p.fmr);
  return best;
}
