/**
 * A wall-clock budget for a query search (`search.minutes`). Machines of one kind differ 2–4× in speed, so a
 * budget in queries alone is a promise in minutes that holds only on the machine that set it. The pacer
 * measures what a query really costs here — rendering, the encoder call, surrogate gradients, acceptance
 * tests, everything between two steps — and after every step sets the queries each live target may still
 * spend so that the search ends within its minutes, never above the configured maximum. The cut, and why,
 * is kept for the report.
 */

export interface PaceDecision {
  /** Queries per target the search may spend in all (start included). */
  budget: number;
  /** Measured seconds per query (wall time of the search so far over the queries it spent), when known. */
  secondsPerQuery?: number;
  /** Why the budget is below the configured maximum, in words; absent when it is not cut. */
  cut?: string;
}

export class QueryPacer {
  /** When the budget began (a warm-up before the first query included). */
  private readonly t0: number;
  /** When the queries began: the rate is measured from here, so one-off work before them is not taken for a per-query cost. */
  private readonly tQueries: number;
  private decision: PaceDecision;

  constructor(
    /** Configured maximum queries per target. */
    private readonly maxQueries: number,
    /** Wall-clock budget of the search in seconds; undefined = queries only. */
    private readonly seconds: number | undefined,
    private readonly now: () => number = Date.now,
    /** When the budgeted work began (a surrogate warm-up before the first query counts too); default now. */
    startedAt?: number,
  ) {
    if (seconds !== undefined && !(seconds > 0)) throw new Error(`search.minutes must be > 0, got ${seconds / 60}`);
    this.tQueries = now();
    this.t0 = startedAt ?? this.tQueries;
    this.decision = { budget: maxQueries };
  }

  get current(): PaceDecision { return this.decision; }

  elapsedSeconds(): number { return (this.now() - this.t0) / 1000; }

  /**
   * After a step: `spent` queries in all so far, `meanUsed` per live target, `live` targets still searching,
   * `stepQueries` queries one more step costs each live target. Returns the budget per target.
   */
  update(spent: number, meanUsed: number, live: number, stepQueries: number): PaceDecision {
    if (this.seconds === undefined || spent <= 0 || live <= 0) return this.decision;
    const elapsed = this.elapsedSeconds();
    const perQuery = (this.now() - this.tQueries) / 1000 / spent;
    const left = this.seconds - elapsed;
    const affordable = Math.floor(meanUsed + Math.max(0, left) / (perQuery * live));
    const minutes = `${+(this.seconds / 60).toFixed(2)}`;
    if (affordable >= this.maxQueries) {
      this.decision = { budget: this.maxQueries, secondsPerQuery: perQuery };
    } else {
      const stepSeconds = perQuery * live * stepQueries;
      if (meanUsed <= 1 && left < stepSeconds) {
        throw new Error(`search.minutes ${minutes} is too small for one search step here: ${elapsed.toFixed(1)} s went before the first step, and one step of ` +
          `${live} targets takes ≈ ${stepSeconds.toFixed(1)} s (${(1 / perQuery).toFixed(0)} queries/s); set search.minutes to at least ${Math.ceil(((elapsed + stepSeconds) / 60) * 10) / 10}`);
      }
      this.decision = {
        budget: Math.max(Math.ceil(meanUsed), affordable), secondsPerQuery: perQuery,
        cut: `cut from ${this.maxQueries} to ${affordable} queries per target to fit search.minutes ${minutes} ` +
          `(measured ${(1 / perQuery).toFixed(0)} queries/s on this machine, all search work included)`,
      };
    }
    return this.decision;
  }
}
