/**
 * The report's rows for the face the attack held at each query budget (issue 25, item 6): for a decision search
 * that walks after its first accept, for the score search (its best face at the end of the step that reached
 * each budget), and for the encoder-copy least squares (the template recovered by each budget, inverted), the faces kept at the curve's checkpoints (heldFaces.ts) rated as the verdict
 * tables rate the final face — the same code (summary.ts `verdictsFor`) on the rows as they stood at that budget:
 * type I by the audited encoder, type II against the subject's other photo (subjects that have one), transfer by
 * each transfer encoder. A subject holding no face yet (no accept; for the score search, a budget below its probes)
 * counts as not reconstructed, as in the curve.
 */
import { Static, Type } from '@sinclair/typebox';
import type { TemplateResult } from './reportSchema';
import { verdictsFor, type ScorerSummaryInput } from './summary';

const Count = Type.Integer({ minimum: 0 });

export const HeldRowSchema = Type.Object({
  /** The query budget (total oracle queries per subject, a curve checkpoint). */
  queries: Count,
  /** type I: against the enrolled template; type II: against the subject's other photo; transfer: another encoder against its template. */
  measure: Type.Union([Type.Literal('type I'), Type.Literal('type II'), Type.Literal('transfer')]),
  encoderId: Type.String(),
  protocol: Type.Union([Type.Literal('direct'), Type.Literal('redetect')]),
  /** Subjects counted (type II: those with another photo; transfer: those the encoder has a template of). */
  trials: Count,
  points: Type.Array(Type.Object({ fmr: Type.Number(), threshold: Type.Number(), accepted: Count, rate: Type.Union([Type.Number(), Type.Null()]) }, { additionalProperties: false })),
}, { additionalProperties: false });
export type HeldRow = Static<typeof HeldRowSchema>;

/** What the face held at a budget is, per attack (the decision search's by default): the report's note, and the held table's caption. */
const HELD_MEANING: Readonly<Record<string, { note: string; caption: string }>> = {
  'score-search': {
    note: 'The face held at each budget: the search\'s best face (by the answered score) at the end of the step that reached that many queries, the probes counted (the start where the probes spent exactly that many; the final face past what a subject spent), scored as the verdict tables score the final face; below a subject\'s probe count it holds none yet and counts as not reconstructed.',
    caption: 'the search\'s best face (by the answered score) at the end of the step that reached that many queries, probes counted (none below a subject\'s probes), scored as the verdict tables score the final face; rate (accepted / subjects).',
  },
  'score-least-squares': {
    note: 'The face held at each budget: the template recovered from the first that many answers (all of a subject\'s answers past what it got: the final face), inverted as the final template is, scored as the verdict tables score the final face.',
    caption: 'the template recovered from the first that many answers, inverted as the final one is (the final face past a subject\'s answers), scored as the verdict tables score the final face; rate (accepted / subjects).',
  },
  'decision-search': {
    note: 'The face held at each budget: the last face the system accepted within that many queries (the accepted photo, then the walk\'s faces), scored as the verdict tables score the final face; a subject holding none yet counts as not reconstructed.',
    caption: 'the last face the system accepted within that many queries (the accepted photo, then the walk\'s), scored as the verdict tables score the final face; rate (accepted / subjects).',
  },
};
export const heldMeaning = (attack: string) => HELD_MEANING[attack] ?? HELD_MEANING['decision-search'];

const NONE = 'no accepted face yet';

/** The rows as they stood at `q` queries: the held face's scores as the row's attack (and type II's, for `typeII`). */
function rowsAt(rows: readonly TemplateResult[], q: number, typeII: boolean): TemplateResult[] {
  return rows.filter((r) => !typeII || r.oracle?.otherPhoto).map((r) => {
    const h = r.oracle?.held?.find((x) => x.queries === q);
    const base = { row: r.row, id: r.id };
    if (typeII) return h?.typeII ? { ...base, attack: h.typeII } : { ...base, failure: NONE };
    // A transfer encoder without this subject's template stays without it (null), as in the verdict tables.
    if (!h) return { ...base, failure: NONE, ...(r.transfer ? { transfer: r.transfer.map((t) => (t === null ? null : undefined)) } : {}) } as TemplateResult;
    return { ...base, attack: h.attack, ...(h.transfer ? { transfer: h.transfer.map((t) => (t ? { attack: t, nearest: undefined } : null)) } : {}) } as TemplateResult;
  });
}

/** Per checkpoint, measure, encoder and protocol: subjects whose held face is accepted at each attainable operating point; [] when no row held faces. */
export function heldRows(rows: readonly TemplateResult[], budgets: readonly number[], scorers: readonly ScorerSummaryInput[]): HeldRow[] {
  if (!scorers.length || !rows.some((r) => r.oracle?.held?.length)) return [];
  const out: HeldRow[] = [];
  const add = (q: number, measure: HeldRow['measure'], rs: TemplateResult[], s: ScorerSummaryInput, k: number) => {
    for (const v of verdictsFor(rs, s, k)) {
      out.push({
        queries: q, measure, encoderId: s.encoderId, protocol: v.protocol, trials: v.templates,
        points: v.points.filter((p) => p.attainable).map((p) => ({ fmr: p.fmr, threshold: p.threshold, accepted: p.attack.successes, rate: p.attack.rate })),
      });
    }
  };
  for (const q of budgets) {
    add(q, 'type I', rowsAt(rows, q, false), scorers[0], 0);
    if (rows.some((r) => r.oracle?.otherPhoto)) add(q, 'type II', rowsAt(rows, q, true), scorers[0], 0);
    scorers.slice(1).forEach((s, t) => add(q, 'transfer', rowsAt(rows, q, false), s, t + 1));
  }
  return out;
}
