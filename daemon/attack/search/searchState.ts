/**
 * What a query search keeps per target while its method runs: the best candidate so far (every candidate
 * scored is a possible answer), and the acceptance test that keeps the face detector on side. At
 * checkpoints each target's best is shown to the detector; one it no longer finds is replaced by the last
 * best it did find (and the search resumes from there), so answers stay faces a re-detecting pipeline
 * accepts. The checkpoints are spread over the per-target budget, which the pacer may cut while the search
 * runs, so they are recomputed from the oracle's current budget.
 */
import type { FaceModel } from '../faceModel/types';
import type { QueryOracle } from './oracle';
import type { QueryPacer } from './pacer';

export interface SearchStep {
  /** Mean queries spent per target so far. */
  queriesPerTarget: number;
  /** Best cosine so far per target (NaN for a failed target). */
  best: Float32Array;
  /** Latents of the current bests, [n, latentDim]. */
  bestLatents: Float32Array;
  activeTargets: number;
}

export interface SearchHooks {
  /** Which rendered latents the face detector finds; absent = no acceptance test. */
  detect?: (latents: Float32Array, n: number) => Promise<boolean[]>;
  /** Acceptance tests per search (spread over the budget), besides the final one. Default 4. */
  checks?: number;
  onStep?: (s: SearchStep) => void | Promise<void>;
}

export class SearchState {
  readonly k: number;
  readonly best: Float32Array;
  readonly bestCos: Float32Array;
  /** Whether each best passed the last acceptance test (true everywhere without one). */
  readonly detected: boolean[];
  private readonly verified: Float32Array;
  private readonly verifiedCos: Float32Array;
  private checkNo = 0;

  private constructor(readonly oracle: QueryOracle, model: FaceModel, start: Float32Array, startCos: Float32Array,
    private readonly hooks: SearchHooks, private readonly pacer: QueryPacer) {
    this.k = model.latentDim;
    this.best = Float32Array.from(start);
    this.bestCos = Float32Array.from(startCos);
    this.verified = Float32Array.from(start);
    this.verifiedCos = Float32Array.from(startCos);
    this.detected = new Array<boolean>(this.n).fill(true);
  }

  get n(): number { return this.bestCos.length; }

  /** The start's answered templates ([n, dim]), when `open` was asked to keep them (the secant search reads them). */
  startTemplates?: Float32Array;

  /** Scores the (clamped) start with one query per target and runs the first acceptance test. */
  static async open(oracle: QueryOracle, model: FaceModel, start: Float32Array, hooks: SearchHooks, pacer: QueryPacer, keepTemplates = false): Promise<SearchState> {
    const n = start.length / model.latentDim;
    const z = Float32Array.from(start);
    model.clampLatents(z);
    const owners = Array.from({ length: n }, (_, i) => i);
    const answered = keepTemplates ? await oracle.templates(z, owners) : { cos: await oracle.score(z, owners), templates: undefined };
    const s = new SearchState(oracle, model, z, answered.cos, hooks, pacer);
    if (answered.templates) s.startTemplates = answered.templates;
    if (hooks.detect) {
      const found = await hooks.detect(s.best, n);
      found.forEach((f, t) => { s.detected[t] = f; if (!f) s.verifiedCos[t] = -Infinity; });
    }
    return s;
  }

  /** Keeps row `zOff` of `z` as target t's best if its cosine `c` beats it. */
  take(t: number, z: Float32Array, zOff: number, c: number): void {
    if (c > this.bestCos[t]) { this.bestCos[t] = c; this.best.set(z.subarray(zOff, zOff + this.k), t * this.k); }
  }

  /** Targets that can still afford `cost` queries. */
  live(cost: number): number[] {
    return Array.from({ length: this.n }, (_, t) => t).filter((t) => this.oracle.remaining(t) >= cost);
  }

  /**
   * After a step over `live` targets costing `stepQueries` each: paces the budget, runs an acceptance test
   * when one is due (writing restored latents into `current` when given), and reports.
   */
  async afterStep(live: number[], stepQueries: number, current: Float32Array | null): Promise<void> {
    const used = this.oracle.used;
    let spent = 0;
    for (let t = 0; t < this.n; t++) spent += used[t];
    const meanLive = live.reduce((a, t) => a + used[t], 0) / Math.max(1, live.length);
    this.oracle.setBudget(this.pacer.update(spent, meanLive, live.length, stepQueries).budget);
    const checks = Math.max(0, this.hooks.checks ?? 4);
    const dueAt = checks ? Math.ceil(((this.checkNo + 1) * this.oracle.budget) / (checks + 1)) : Infinity;
    if (live.length && Math.min(...live.map((t) => used[t])) >= dueAt) {
      await this.accept(current);
      this.checkNo++;
    }
    await this.report();
  }

  async accept(current: Float32Array | null): Promise<void> {
    if (!this.hooks.detect) return;
    const { k } = this;
    const found = await this.hooks.detect(this.best, this.n);
    for (let t = 0; t < this.n; t++) {
      const row = (a: Float32Array) => a.subarray(t * k, (t + 1) * k);
      if (found[t]) {
        row(this.verified).set(row(this.best));
        this.verifiedCos[t] = this.bestCos[t];
        this.detected[t] = true;
      } else if (this.verifiedCos[t] > -Infinity && this.verifiedCos[t] !== this.bestCos[t]) {
        row(this.best).set(row(this.verified));
        this.bestCos[t] = this.verifiedCos[t];
        current?.set(row(this.verified), t * k);
        this.detected[t] = true;
      } else {
        this.detected[t] = false;
      }
    }
  }

  async report(): Promise<void> {
    if (!this.hooks.onStep) return;
    const o = this.oracle;
    let active = 0, q = 0;
    for (let t = 0; t < this.n; t++) { if (o.remaining(t) > 0) active++; q += o.used[t]; }
    await this.hooks.onStep({ queriesPerTarget: q / this.n, best: this.bestCos.map((c, t) => (o.failure[t] ? NaN : c)), bestLatents: this.best, activeTargets: active });
  }
}
