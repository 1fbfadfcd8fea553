/**
 * A decision (hard-label) oracle without a template (issue 25, item 4): the system answers only accept /
 * reject for a submitted face and a claimed subject. Before any boundary walk (HopSkipJump, Chen, Jordan &
 * Wainwright, IEEE S&P 2020; Sign-OPT, Cheng et al., ICLR 2020) can start, the attacker needs one accepted
 * face — and a reject says nothing about the direction to the subject, so the first accept is a search over
 * whole faces. At FMR f a random impostor face is accepted with probability f, so a random order of real
 * photos needs ~1/f queries (the naive baseline of docs/oracles.md).
 *
 * What the attacker's encoder (a copy or another one) buys here is *hubness*: some faces are close to many
 * identities. `hubOrder` ranks the attacker's photos by how many of its *own* identities (never the photo's
 * own) each would be accepted for — greedy coverage at the system's threshold (each next photo covers the
 * most identities not covered yet), then, for photos covering nothing new, the count at a looser threshold
 * — and submits them in that fixed order, the same for every subject (non-adaptive: no template is needed).
 * An accepted face *is* a face the system accepts for the subject (type I at the system's FMR); the walk
 * inward from it, which raises its score (type II / transfer), is ./boundaryWalk.ts (in the audit through ./decisionWalk.ts).
 */
import { SubjectOracleError } from '../../protocol/verifierApi';
import { exactRowDots } from '../../math/blockDots';

/** Accept / reject of pool photo `photo` for `subject` (one counted query). */
export type DecideFn = (subject: string, photo: number) => Promise<boolean>;

export interface HubOrderOptions {
  /** The system's acceptance thresholds on the attacker's encoder's cosine (estimated by the attacker): one order each. */
  thresholds: readonly number[];
  /** Looser threshold whose neighbour count ranks the photos that cover nothing new. */
  looser: number;
  /** Candidates beyond the pool (e.g. synthesised faces, ./masterFaces.ts), ranked with it: order index poolN + j is extra row j. */
  extra?: ExtraCandidates;
}

/** Faces beyond the attacker's photos, each submitted like a photo (one counted query). */
export interface ExtraCandidates {
  /** [m, dim] unit rows: the attacker's encoder's templates of the faces as submitted. */
  templates: Float32Array;
  /** Each row's identity (a face never covers its own): e.g. `master:3` for a synthesised face, which is no one's. */
  ids: readonly string[];
}

/**
 * Orders of `poolIds.length` photos ([n, dim] unit rows), and of `o.extra`'s candidates after them, by greedy
 * coverage of the population templates ([m, dim] unit rows), one per threshold; `poolIds` / `popIds` name each
 * row's identity (a photo never covers its own).
 */
export function hubOrders(pool: Float32Array, poolIds: readonly string[], population: Float32Array, popIds: readonly string[], dim: number, o: HubOrderOptions): Int32Array[] {
  if (o.extra) {
    if (o.extra.templates.length !== o.extra.ids.length * dim) throw new Error(`hub order: ${o.extra.ids.length} extra candidates do not fit ${o.extra.templates.length} values of ${dim}`);
    const both = new Float32Array(pool.length + o.extra.templates.length);
    both.set(pool);
    both.set(o.extra.templates, pool.length);
    pool = both;
    poolIds = [...poolIds, ...o.extra.ids];
  }
  const poolN = poolIds.length, popN = popIds.length;
  if (pool.length !== poolN * dim || population.length !== popN * dim) throw new Error(`hub order: ${poolN} / ${popN} rows do not fit ${pool.length} / ${population.length} values of ${dim}`);
  if (o.thresholds.some((t) => !(o.looser <= t))) throw new Error(`hub order: the looser threshold ${o.looser} is above a threshold (${o.thresholds.join(', ')})`);
  const covers: number[][][] = o.thresholds.map(() => []);
  const loose = new Float64Array(poolN);
  for (let p = 0; p < poolN; p++) {
    const c: number[][] = o.thresholds.map(() => []);
    const visit = (q: number, s: number) => {
      if (popIds[q] === poolIds[p] || s < o.looser) return;
      loose[p]++;
      o.thresholds.forEach((t, k) => { if (s >= t) c[k].push(q); });
    };
    // Exact double sums, as the orders were first measured with (every decision figure rests on them).
    exactRowDots(pool, p * dim, population, popN, dim, visit);
    c.forEach((x, k) => covers[k].push(x));
  }
  return covers.map((cv) => greedyCover(cv, loose, popN));
}

function greedyCover(covers: number[][], loose: Float64Array, popN: number): Int32Array {
  const n = covers.length;
  const covered = new Uint8Array(popN);
  const taken = new Uint8Array(n);
  const order: number[] = [];
  const gain = covers.map((c) => c.length);
  for (;;) {
    let best = -1;
    for (let p = 0; p < n; p++) {
      if (taken[p] || gain[p] === 0) continue;
      if (best < 0 || gain[p] > gain[best] || (gain[p] === gain[best] && loose[p] > loose[best])) best = p;
    }
    if (best < 0) break;
    taken[best] = 1;
    order.push(best);
    for (const q of covers[best]) {
      if (covered[q]) continue;
      covered[q] = 1;
      // Lower the gain of every photo that also covered q (covers are short lists: a linear pass is cheap).
      for (let p = 0; p < n; p++) if (!taken[p] && gain[p] > 0 && covers[p].includes(q)) gain[p]--;
    }
  }
  const rest = Array.from({ length: n }, (_, p) => p).filter((p) => !taken[p]).sort((a, b) => loose[b] - loose[a] || a - b);
  return Int32Array.from([...order, ...rest]);
}

export interface FirstAccept {
  subject: string;
  /** Pool index of the first accepted photo, or -1. */
  photo: number;
  /** Queries spent (the accepted one included). */
  queries: number;
  /** Why the subject stopped early (locked out, unknown, changed threshold), when it did. */
  error?: string;
}

/** Submits `order` for each subject until an accept or `budget` queries; a subject error ends that subject only. */
export async function firstAccepts(subjects: readonly string[], order: Int32Array, decide: DecideFn, budget: number, signal?: AbortSignal): Promise<FirstAccept[]> {
  const out: FirstAccept[] = [];
  for (const subject of subjects) {
    const r: FirstAccept = { subject, photo: -1, queries: 0 };
    try {
      for (let k = 0; k < Math.min(budget, order.length); k++) {
        if (signal?.aborted) break;
        r.queries++;
        if (await decide(subject, order[k])) { r.photo = order[k]; break; }
      }
    } catch (e) {
      if (!(e instanceof SubjectOracleError)) throw e;
      r.error = e.message;
    }
    out.push(r);
  }
  return out;
}
