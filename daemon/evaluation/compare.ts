/**
 * Several evaluated runs side by side (`faceinv compare`, the README's methods table): per run its method,
 * queries per target, wall time, the attack's type I and type II (per identity, the headline, then per pair)
 * at each operating point and its transfer at 1e-3 and 1e-4 (encoders the attack used in no role only),
 * under one protocol, with the baselines' rows once (runs on the same split share them). Reports that were
 * not made on the same split, targets and thresholds are named, since their rows would not compare.
 */
import type { EvaluationReport, Protocol, Rate, ScoreRow } from '../protocol/report';
import { fmtFmr, fmtRate } from './reportMarkdown';

export interface CompareInput {
  /** How the run is named in the table (usually its folder name). */
  name: string;
  report: EvaluationReport;
  /** The command that produced the run, for the table. */
  command?: string;
}

export interface CompareOptions {
  protocol: Protocol;
  /** Operating points shown (default: the reports' common points below 1e-2). */
  points?: number[];
  /** Transfer encoders shown (default: every transfer encoder the reports share). */
  transfer?: string[];
  /** Wilson intervals beside type I (default true). */
  intervals?: boolean;
}

/** Transfer is shown at these operating points (1e-3 alone hides the lookalikes). */
const TRANSFER_POINTS = [1e-3, 1e-4];

/** Type II per identity at `fmr`, with its identity-bootstrap interval when the report has one. */
function perIdentity(r: EvaluationReport, a: ScoreRow | undefined, fmr: number): string {
  const k = r.operatingPoints.findIndex((p) => Math.abs(p - fmr) <= fmr * 1e-9);
  const v = a && k >= 0 ? a.typeII.perIdentity[k] : null;
  if (v === null || v === undefined) return '—';
  const b = a?.bootstrap?.typeIIPerIdentity[k];
  return `${(100 * v).toFixed(1)} %${b ? ` [${(100 * b[0]).toFixed(1)}–${(100 * b[1]).toFixed(1)}]` : ''}`;
}

function rowOf(r: EvaluationReport, subject: ScoreRow['subject'], protocol: Protocol, encoderId: string): ScoreRow | undefined {
  return r.rows.find((x) => x.subject === subject && x.protocol === protocol && x.encoderId === encoderId);
}

function at(r: EvaluationReport, rates: readonly Rate[], fmr: number): Rate | undefined {
  const k = r.operatingPoints.findIndex((p) => Math.abs(p - fmr) <= fmr * 1e-9);
  return k >= 0 ? rates[k] : undefined;
}

/** Problems that make the reports' rows incomparable (different targets or thresholds). */
export function comparability(inputs: readonly CompareInput[]): string[] {
  if (inputs.length < 2) return [];
  const first = inputs[0];
  const problems: string[] = [];
  const thr = (r: EvaluationReport) => r.thresholds.find((t) => t.encoderId === r.attackedEncoderId)?.points.map((p) => p.threshold.toFixed(6)).join(',');
  const targets = (r: EvaluationReport) => new Set(r.items.map((i) => i.source));
  for (const x of inputs.slice(1)) {
    if (x.report.attackedEncoderId !== first.report.attackedEncoderId) problems.push(`${x.name} attacks ${x.report.attackedEncoderId}, ${first.name} ${first.report.attackedEncoderId}`);
    else if (thr(x.report) !== thr(first.report)) problems.push(`${x.name} was scored with other thresholds than ${first.name} (another split or test set)`);
    const a = targets(first.report), b = targets(x.report);
    const small = a.size <= b.size ? a : b, big = a.size <= b.size ? b : a;
    if (![...small].every((s) => big.has(s))) problems.push(`${x.name} and ${first.name} attack different targets (neither set contains the other)`);
  }
  return problems;
}

export function compareTable(inputs: readonly CompareInput[], o: CompareOptions): string {
  if (!inputs.length) throw new Error('compare: no reports');
  const first = inputs[0].report;
  const points = o.points ?? first.operatingPoints.filter((p) => p < 1e-2 && inputs.every((x) => at(x.report, x.report.rows[0]?.typeI ?? [], p)));
  // Transfer columns: encoders no report scored under a role (attacked, surrogate, acceptance test).
  const transfer = o.transfer ?? first.thresholds.map((t) => t.encoderId)
    .filter((e) => e !== first.attackedEncoderId && inputs.every((x) => rowOf(x.report, 'attack', o.protocol, e)?.transfer));
  for (const e of o.transfer ?? []) {
    for (const x of inputs) {
      const row = rowOf(x.report, 'attack', o.protocol, e);
      if (row && !row.transfer) throw new Error(`compare: ${e} is not transfer in ${x.name}: the attack used it as its ${row.role ?? 'attacked'} encoder`);
    }
  }
  const ci = o.intervals ?? true;
  const head = [
    'method', 'targets', 'queries / target', 'wall time',
    ...points.map((p) => `type I @${fmtFmr(p)}`),
    ...points.filter((p) => p >= 1e-4).map((p) => `type II per identity @${fmtFmr(p)}`),
    ...points.filter((p) => p >= 1e-4).map((p) => `type II per pair @${fmtFmr(p)}`),
    ...transfer.flatMap((e) => TRANSFER_POINTS.map((p) => `transfer ${e} type I @${fmtFmr(p)}`)),
  ];
  const cells = (r: EvaluationReport, subject: ScoreRow['subject']): string[] => {
    const a = rowOf(r, subject, o.protocol, r.attackedEncoderId);
    const rate = (x: Rate | undefined, withCi: boolean) => (x ? fmtRate(x, withCi) : '—');
    return [
      ...points.map((p) => rate(a ? at(r, a.typeI, p) : undefined, ci)),
      ...points.filter((p) => p >= 1e-4).map((p) => perIdentity(r, a, p)),
      ...points.filter((p) => p >= 1e-4).map((p) => rate(a ? at(r, a.typeII.perPair, p) : undefined, false)),
      ...transfer.flatMap((e) => TRANSFER_POINTS.map((p) => { const t = rowOf(r, subject, o.protocol, e); return rate(t ? at(r, t.typeI, p) : undefined, false); })),
    ];
  };
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const x of inputs) {
    const r = x.report;
    lines.push(`| **${x.name}**: ${r.method}${x.command ? ` (\`${x.command}\`)` : ''} | ${r.probes} | ${r.queriesPerTarget !== undefined ? r.queriesPerTarget.toFixed(0) : r.route === 'whitebox' ? 'white box' : '—'} | ` +
      `${r.attackSeconds !== undefined ? `${(r.attackSeconds / 60).toFixed(1)} min` : '—'} | ${cells(r, 'attack').join(' | ')} |`);
  }
  for (const [subject, label] of [['nearest-face', 'baseline: nearest training face (no reconstruction)'], ['mean-face', 'baseline: mean training face']] as const) {
    lines.push(`| ${label} | ${first.probes} | 0 | — | ${cells(first, subject).join(' | ')} |`);
  }
  const notes = comparability(inputs);
  return [
    `Protocol \`${o.protocol}\`, attacked encoder ${first.attackedEncoderId}; type I with Wilson 95 % intervals, type II per identity (identity-bootstrap interval, thresholds recomputed per resample, where the report has one) and per pair (failures count); transfer only to encoders the attack used in no role; baselines from ${inputs[0].name}'s report.`,
    '',
    ...lines,
    ...(notes.length ? ['', ...notes.map((n) => `Not comparable: ${n}.`)] : []),
  ].join('\n');
}
