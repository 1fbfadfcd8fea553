/**
 * The verdict a reviewer reads (ISO/IEC 30136 irreversibility, stated at an operating point and beside the
 * answer that needs no inversion): "N of M templates (X %, 95 % CI) yield a face this system accepts at FMR
 * 1e-4; a lookalike from the reference set does so for Y %". Shared by the audit report and the dashboard's
 * view of an evaluated run; pure (the webview bundle imports it).
 */
import type { Rate } from './report';

export interface VerdictPoint {
  fmr: number;
  /** False when the reference set is too small to measure this FMR (no threshold, no verdict). */
  attainable: boolean;
  lowSupport: boolean;
  attack: Rate;
  baseline: Rate;
}

export function fmrText(fmr: number): string {
  const e = Math.round(Math.log10(fmr));
  return Math.abs(fmr - 10 ** e) <= fmr * 1e-9 ? `1e${e}` : String(fmr);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

function ci(r: Rate): string {
  return r.ci ? `${(100 * r.ci[0]).toFixed(1)}–${(100 * r.ci[1]).toFixed(1)} %` : 'no interval';
}

export interface VerdictWords {
  /** What was inverted: "templates" (audit) or "held-out templates" (evaluation). */
  items: string;
  /** Who accepts: "this system", "arcface512-faceplugin". */
  system: string;
  /** Where the lookalike comes from: "the reference set", "the attacker's training photos". */
  lookalikeFrom: string;
}

export const AUDIT_WORDS: VerdictWords = { items: 'templates', system: 'this system', lookalikeFrom: 'the reference set' };

/** One sentence per operating point; an unattainable one says so instead. */
export function verdictSentence(p: VerdictPoint, w: VerdictWords = AUDIT_WORDS): string {
  const at = `FMR ${fmrText(p.fmr)}`;
  if (!p.attainable) return `At ${at}: not measurable — the reference set has too few impostor pairs to set this threshold; give a larger reference set.`;
  if (p.attack.rate === null) return `At ${at}: no ${w.items} could be attacked.`;
  const base = p.baseline.rate === null ? 'no lookalike could be scored' : `a lookalike from ${w.lookalikeFrom} does so for ${pct(p.baseline.rate)} (95 % CI ${ci(p.baseline)})`;
  return `${p.attack.successes} of ${p.attack.trials} ${w.items} (${pct(p.attack.rate)}, 95 % CI ${ci(p.attack)}) yield a face ${w.system} accepts at ${at}; ${base}.` +
    (p.lowSupport ? ' † This threshold rests on fewer than 20 impostor scores above it: treat the point as approximate.' : '');
}

/** "irreversible at this point", "leaks", or "no better than a lookalike", from whether the intervals overlap. */
export function verdictClass(p: VerdictPoint): 'leaks' | 'like-lookalike' | 'resists' | 'unmeasured' {
  if (!p.attainable || p.attack.rate === null || !p.attack.ci) return 'unmeasured';
  const bHigh = p.baseline.ci?.[1] ?? 0;
  if (p.attack.ci[0] > bHigh) return 'leaks';
  if (p.attack.ci[1] < 0.05 && bHigh < 0.05) return 'resists';
  return 'like-lookalike';
}

export const VERDICT_CLASS_TEXT: Record<ReturnType<typeof verdictClass>, string> = {
  leaks: 'reconstructions beat the lookalike: the templates leak identity at this point',
  'like-lookalike': 'not distinguishable from a lookalike at this point',
  resists: 'neither reconstructions nor lookalikes are accepted at this point',
  unmeasured: 'not measured',
};

/** The words for an evaluated run (dashboard): held-out templates, the attacked encoder, the training photos. */
export function evaluationWords(encoderId: string): VerdictWords {
  return { items: 'held-out templates', system: encoderId, lookalikeFrom: "the attacker's training photos" };
}

interface EvaluationLike {
  attackedEncoderId: string;
  operatingPoints: number[];
  thresholds: { encoderId: string; points: { impostorPairs: number; lowSupport: boolean }[] }[];
  rows: { subject: string; protocol: string; encoderId: string; typeI: Rate[] }[];
}

/** The verdict points of an evaluation report (type I of the attack and of the nearest training face, one protocol). */
export function evaluationVerdicts(r: EvaluationLike, protocol: 'redetect' | 'direct' = 'redetect'): VerdictPoint[] {
  const row = (subject: string) => r.rows.find((x) => x.subject === subject && x.protocol === protocol && x.encoderId === r.attackedEncoderId);
  const attack = row('attack'), base = row('nearest-face');
  const thr = r.thresholds.find((t) => t.encoderId === r.attackedEncoderId);
  if (!attack || !base || !thr) return [];
  return r.operatingPoints.map((fmr, k) => ({
    fmr, attainable: Math.floor(fmr * (thr.points[k]?.impostorPairs ?? 0)) >= 1, lowSupport: thr.points[k]?.lowSupport ?? true, attack: attack.typeI[k], baseline: base.typeI[k],
  }));
}
