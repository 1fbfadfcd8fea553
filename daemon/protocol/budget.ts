/**
 * Budgets: the one structure for "how far is this run, and why did it stop", shared by every job kind, the
 * run folder (run.json `progress.budget`, `stopReason`), the daemon's `daemon/jobProgress` notifications and
 * every view (CLI bar and ETA, dashboard header, the editor's progress notification and status bar).
 *
 * A budget is a limit in the unit the user set it in, with how much of it is used:
 *
 *   { kind: 'minutes', used: 2.5,  limit: 5 }      training.maxMinutes (wall-clock minutes of this session)
 *   { kind: 'epochs',  used: 2.4,  limit: 30 }     training.epochs (fractional while an epoch runs)
 *   { kind: 'steps',   used: 120,  limit: 200 }    optimisation steps (white-box latent search, probes)
 *   { kind: 'queries', used: 1200, limit: 5000 }   encoder queries (query-budgeted black-box searches)
 *
 * A job with several limits (epochs and minutes) reports the governing one: the limit that, at the rate so
 * far, runs out first (`governingBudget`). Progress fraction = used / limit, whatever `step / total` says
 * (those stay the raw step counters). When a job stops, its last progress carries `stopReason`, e.g.
 * `budgetReached(budget)` = "budget of 5 min reached"; run.json keeps the same sentence.
 *
 * Pure functions of plain data (no Node APIs): the webview bundle imports this module too.
 */
import { Static, Type } from '@sinclair/typebox';

export const BUDGET_KINDS = ['minutes', 'steps', 'epochs', 'queries'] as const;
export type BudgetKind = typeof BUDGET_KINDS[number];

export const BudgetSchema = Type.Object({
  /** The unit of `used` and `limit`. */
  kind: Type.Union([Type.Literal('minutes'), Type.Literal('steps'), Type.Literal('epochs'), Type.Literal('queries')]),
  /** Amount used so far (minutes and epochs may be fractional). */
  used: Type.Number({ minimum: 0 }),
  /** The limit, same unit. */
  limit: Type.Number({ exclusiveMinimum: 0 }),
});
export type Budget = Static<typeof BudgetSchema>;

/**
 * Where a job of several phases is (a run: setup → attack → evaluation), so every view says the same thing:
 * "2/3 attack", "embedding the attacker's photos 3,200 / 10,678". A report's step / total and budget are
 * the current phase's; a job without phases reports none.
 */
export const JobPhaseSchema = Type.Object({
  /** Stable name of the phase: 'setup', 'attack', 'evaluation'. */
  id: Type.String({ minLength: 1 }),
  /** What the job is doing in it, in words: "embedding the attacker's photos". */
  label: Type.String(),
  /** 1-based position of the phase, of `count` phases. */
  index: Type.Integer({ minimum: 1 }),
  count: Type.Integer({ minimum: 1 }),
  /** Items of the phase done and to do, when it counts any (photos embedded). */
  done: Type.Optional(Type.Integer({ minimum: 0 })),
  total: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type JobPhase = Static<typeof JobPhaseSchema>;

/** "embedding the attacker's photos 3,200 / 10,678" (the count when the phase has one). */
export function phaseText(p: JobPhase): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return p.total !== undefined && p.total > 0 && p.done !== undefined ? `${p.label} ${n(p.done)} / ${n(p.total)}` : p.label;
}

/** What a job adds to one progress report (all optional: jobs without a budget report step / total only). */
export interface ProgressExtras {
  /** The governing budget. */
  budget?: Budget;
  /** Seconds until the budget runs out at the rate so far (absent when unknown). */
  etaSeconds?: number;
  /** Only on a job's last report: why it stopped, e.g. "budget of 5 min reached". */
  stopReason?: string;
  /** The phase the report belongs to (jobs of several phases); the queue carries it on to later reports. */
  phase?: JobPhase;
}

/** used / limit in [0, 1]. */
export function budgetFraction(b: Budget): number {
  if (!(b.limit > 0) || !Number.isFinite(b.used)) return 0;
  return Math.max(0, Math.min(1, b.used / b.limit));
}

/** Fraction done of a progress report: the budget's when it has one, else step / total; null when unknown. */
export function progressFraction(p: { step?: number; total?: number; budget?: Budget; stopReason?: string } | undefined): number | null {
  if (!p) return null;
  if (p.budget) return budgetFraction(p.budget);
  if (p.step !== undefined && p.total !== undefined && p.total > 0) return Math.max(0, Math.min(1, p.step / p.total));
  return null;
}

const UNIT: Record<BudgetKind, [string, string]> = {
  minutes: ['min', 'min'], steps: ['step', 'steps'], epochs: ['epoch', 'epochs'], queries: ['query', 'queries'],
};

function num(kind: BudgetKind, v: number): string {
  if (!Number.isFinite(v)) return '?';
  if (kind !== 'minutes' && kind !== 'epochs') return String(Math.round(v));
  if (Number.isInteger(v) || v >= 100) return v.toFixed(0);
  return v >= 10 ? v.toFixed(1) : String(Number(v.toFixed(2)));
}

/** "5 min", "30 epochs", "1 query". */
export function formatBudgetLimit(b: Pick<Budget, 'kind' | 'limit'>): string {
  return `${num(b.kind, b.limit)} ${UNIT[b.kind][b.limit === 1 ? 0 : 1]}`;
}

/** "2.5 / 5 min", "2.4 / 30 epochs", "1200 / 5000 queries". */
export function formatBudget(b: Budget): string {
  return `${num(b.kind, b.used)} / ${formatBudgetLimit(b)}`;
}

/** The stop reason of a job that used up its budget: "budget of 5 min reached". */
export function budgetReached(b: Pick<Budget, 'kind' | 'limit'>): string {
  return `budget of ${formatBudgetLimit(b)} reached`;
}

/** "2h05m", "4m30s", "12s"; '?' when unknown. */
export function formatSeconds(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  if (h > 0) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** One limit of a running job, with what was already used when this session started (a resumed run). */
export interface BudgetLimit extends Budget {
  usedAtStart?: number;
}

/**
 * The limit that runs out first at the rate of this session (`elapsedSeconds` since it started), with its
 * ETA. Minutes run at one per minute by definition; a count with no progress yet has no ETA. Ties and
 * unknown rates: the limit closest to its end by fraction, then the first listed.
 */
export function governingBudget(limits: readonly BudgetLimit[], elapsedSeconds: number): { budget: Budget; etaSeconds?: number } {
  if (!limits.length) throw new Error('governingBudget: no limits');
  let best: { budget: Budget; eta: number; frac: number } | undefined;
  for (const l of limits) {
    const budget: Budget = { kind: l.kind, used: Math.max(0, l.used), limit: l.limit };
    const left = Math.max(0, l.limit - l.used);
    const gained = l.used - (l.usedAtStart ?? 0);
    const eta = l.kind === 'minutes' ? left * 60
      : left === 0 ? 0
        : gained > 0 && elapsedSeconds > 0 ? (left * elapsedSeconds) / gained : Infinity;
    const frac = budgetFraction(budget);
    if (!best || eta < best.eta || (eta === best.eta && frac > best.frac)) best = { budget, eta, frac };
  }
  const b = best as { budget: Budget; eta: number };
  return Number.isFinite(b.eta) ? { budget: b.budget, etaSeconds: b.eta } : { budget: b.budget };
}
