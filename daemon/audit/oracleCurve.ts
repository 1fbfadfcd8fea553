/**
 * The report's success-vs-queries curves and mitigation table for an oracle threat model (issue 25, item 6),
 * shaped from the rows' first accepts (oracle.ts). A subject counts as reconstructed within Q queries when the
 * system first accepted it (type I at that threshold) by its Q-th oracle query; failed subjects count as not
 * reconstructed. The lookalike is the attacker photo nearest the enrolled template (its template cosine above the
 * threshold), as in the benches — it favours the baseline: finding that photo needs the template. (The verdict
 * tables' lookalike scores that photo as an image, redetect and direct, so the two can differ.)
 */
import { Static, Type } from '@sinclair/typebox';
import { mitigatedThreat, type ThreatModel } from '../protocol/threatModel';
import type { TemplateResult } from './reportSchema';
import { heldMeaning, heldRows, HeldRowSchema } from './oracleHeld';
import type { ScorerSummaryInput } from './summary';

const Count = Type.Integer({ minimum: 0 });
const Fmr = Type.Union([Type.Number(), Type.Null()]);

export const OracleReportSchema = Type.Object({
  attack: Type.String(),
  /** What the system exposes, in words (kind, rounding, simulated or the service's URL). */
  exposes: Type.String(),
  /** Oracle queries each subject may cost (attacker.queries). */
  budget: Count,
  subjects: Count,
  failed: Count,
  queries: Count,
  curves: Type.Array(Type.Object({
    fmr: Fmr, threshold: Type.Number(),
    points: Type.Array(Type.Object({ queries: Count, accepted: Count, rate: Type.Number() }, { additionalProperties: false })),
    lookalike: Type.Object({ accepted: Count, rate: Type.Number() }, { additionalProperties: false }),
    sentence: Type.String(),
  }, { additionalProperties: false })),
  /** Per mitigation and threshold: queries to 50 % / 90 % of subjects (null: not within the budget) and the rate at the budget. */
  mitigations: Type.Array(Type.Object({
    mitigation: Type.String(), fmr: Fmr, measured: Type.Boolean(),
    q50: Type.Union([Count, Type.Null()]), q90: Type.Union([Count, Type.Null()]), rateAtBudget: Type.Union([Type.Number(), Type.Null()]),
    note: Type.Optional(Type.String()),
  }, { additionalProperties: false })),
  /** decision-search with the walk, score-search and score-least-squares: the face held at each budget of the curve, rated as the verdict tables rate the final face (oracleHeld.ts). */
  held: Type.Optional(Type.Array(HeldRowSchema)),
  /** What this report does not measure, said plainly. */
  notMeasured: Type.Array(Type.String()),
}, { additionalProperties: false });
export type OracleReport = Static<typeof OracleReportSchema>;

/** Query budgets the curve is read at: 10, 30, 100, 300, … below the budget, and the budget itself. */
export function curveBudgets(budget: number): number[] {
  const out: number[] = [];
  for (let p = 10; p < budget; p *= 10) for (const q of [p, 3 * p]) if (q < budget) out.push(q);
  return [...out, budget];
}

/** The smallest query count by which `frac` of `n` subjects were accepted, or null. */
export function queriesFor(frac: number, firsts: readonly (number | null)[], n: number): number | null {
  const got = firsts.filter((q): q is number => q !== null).sort((a, b) => a - b);
  const k = Math.ceil(frac * n - 1e-9);
  return k >= 1 && got.length >= k ? got[k - 1] : null;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const fmrText = (f: number | null) => (f === null ? 'the system\'s own threshold' : `FMR ${f}`);

type Accepts = { fmr: number | null; threshold: number; queries: number | null }[];

/** `scorers`: the audited encoder's summary input, then each transfer encoder's (for the held faces' rows). */
export function oracleReport(results: readonly TemplateResult[], threat: ThreatModel, exposes: string, scorers: readonly ScorerSummaryInput[] = []): OracleReport | null {
  const rows = results.filter((r) => !r.skipped && r.oracle);
  if (!rows.length) return null;
  const budget = threat.attacker.queries;
  const n = rows.length;
  const head = rows.find((r) => r.oracle?.accepts?.length)?.oracle?.accepts ?? [];
  const firstsAt = (acc: (r: TemplateResult) => Accepts | undefined, k: number, fmr: number | null) =>
    rows.map((r) => acc(r)?.find((a, i) => (a.fmr === fmr && (fmr !== null || i === k)))?.queries ?? null);
  const curves = head.map((p, k) => {
    const firsts = firstsAt((r) => r.oracle?.accepts, k, p.fmr);
    const points = curveBudgets(budget).map((q) => { const a = firsts.filter((x) => x !== null && x <= q).length; return { queries: q, accepted: a, rate: a / n }; });
    const look = rows.filter((r) => r.nearest && r.nearest.cosine > p.threshold).length;
    const q90 = queriesFor(0.9, firsts, n);
    const last = points[points.length - 1];
    const sentence = `${q90 !== null ? `90 % of subjects reconstructed within ${q90} queries` : `${pct(last.rate)} of subjects reconstructed within ${budget} queries (90 % not reached)`} at ${fmrText(p.fmr)} (${exposes}; lookalike: ${pct(look / n)}).`;
    return { fmr: p.fmr, threshold: p.threshold, points, lookalike: { accepted: look, rate: look / n }, sentence };
  });
  const mitigations = head.flatMap((p, k) => mitigationRows(rows, threat, p, k, firstsAt));
  const held = heldRows(rows, curveBudgets(budget), scorers);
  const notMeasured = [
    ...(held.length ? heldNotes(held, rows) : ['Type II (the subject\'s other photos) and transfer of the face found by each query budget: not measured; the verdict tables give type I (redetect, direct) and transfer of the final face, at the full budget.']),
    ...(head.length ? [] : [`${rows[0].oracle!.attack}: the query at which each subject was first accepted is not recorded for this attack, so there is no curve.`]),
    ...(rows[0].oracle!.attack === 'score-least-squares' ? ['Least squares with an encoder copy: the curve is template level — after how many answers the recovered template\'s cosine to the enrolled one passes the threshold — not a face the system accepts; the verdict tables score the faces inverted from the final templates, the held faces\' rows those inverted from the templates recovered by each budget.'] : []),
    ...(rows[0].oracle!.attack === 'score-search' ? ['Score search: a subject counts as accepted at the probe, or at the end of the search step, whose answered score proves the exact score passed the threshold (above it by half a rounding step when scores are rounded; with added noise, the noisy answer is taken as it is). The verdict tables score the final face exactly.'] : []),
  ];
  return { ...(held.length ? { held } : {}), attack: rows[0].oracle!.attack, exposes, budget, subjects: n, failed: rows.filter((r) => r.failure?.startsWith('oracle:')).length, queries: rows.reduce((a, r) => a + (r.oracle?.queries ?? 0), 0), curves, mitigations, notMeasured };
}

/** What the held faces' rows do and do not cover. */
function heldNotes(held: readonly { measure: string }[], rows: readonly TemplateResult[]): string[] {
  return [
    heldMeaning(rows[0].oracle!.attack).note,
    ...(held.some((h) => h.measure === 'type II') ? [] : ['Type II of the held faces: not measured — the audit has no other photo of any subject (another store row under the same id, or a reference photo of that identity).']),
    ...(rows.some((r) => r.oracle?.held?.length) && !held.some((h) => h.measure === 'transfer') ? ['Transfer of the held faces: not measured — the audit has no transfer encoder.'] : []),
  ];
}

type FirstsAt = (acc: (r: TemplateResult) => Accepts | undefined, k: number, fmr: number | null) => (number | null)[];

function mitigationRows(rows: readonly TemplateResult[], threat: ThreatModel, p: Accepts[number], k: number, firstsAt: FirstsAt): OracleReport['mitigations'] {
  const n = rows.length, budget = threat.attacker.queries;
  const row = (mitigation: string, firsts: (number | null)[], cap: number, note?: string) => ({
    mitigation, fmr: p.fmr, measured: true, q50: queriesFor(0.5, firsts, n), q90: queriesFor(0.9, firsts, n),
    rateAtBudget: firsts.filter((q) => q !== null && q <= cap).length / n, ...(note ? { note } : {}),
  });
  const own = firstsAt((r) => r.oracle?.accepts, k, p.fmr);
  const out: OracleReport['mitigations'] = [row('none (as configured)', own, budget)];
  for (const m of threat.mitigations ?? []) {
    const t = mitigatedThreat(threat, m);
    const unmeasured = (note: string) => out.push({ mitigation: m, fmr: p.fmr, measured: false, q50: null, q90: null, rateAtBudget: null, note });
    if (!t) { unmeasured(`does not change what a ${threat.oracle.kind} oracle answers`); continue; }
    if (t.limit !== undefined) { const cap = Math.min(t.limit, budget); out.push(row(m, own.map((q) => (q !== null && q <= cap ? q : null)), cap, `the same run cut at ${t.limit} queries per subject (the attack does not adapt to the limit)`)); continue; }
    if (threat.oracle.service) { unmeasured('a live service: only its own setting is measured (re-run against a simulation to compare)'); continue; }
    const got = firstsAt((r) => r.oracle?.mitigations?.find((x) => x.mitigation === m)?.accepts, k, p.fmr);
    if (!rows.some((r) => r.oracle?.mitigations?.some((x) => x.mitigation === m && x.accepts.some((a) => a.fmr === p.fmr)))) { unmeasured('its re-run records no first accept at this threshold'); continue; }
    out.push(row(m, got, budget));
  }
  return out;
}
