/**
 * Genetic search (Dong et al., BIOSIG 2021 / Computers & Security 2023, "generating HD face images from deep
 * templates … genetic algorithm"): a population around the start; elitism, tournament selection, uniform
 * crossover, Gaussian mutation whose scale shrinks over the generations. Every child scored may become the
 * answer (./searchState.ts keeps the best).
 */
import { mulberry32 } from '../../data/split';
import type { FaceModel } from '../faceModel/types';
import { gaussian } from './gaussian';
import type { SearchState } from './searchState';

export interface GeneticOptions {
  /** Initial mutation scale in latent standard deviations. */
  sigma: number;
  population: number;
  seed?: number;
  signal?: AbortSignal;
}

/** Runs until no target has a query left; returns whether it was aborted. */
export async function genetic(state: SearchState, model: FaceModel, o: GeneticOptions): Promise<boolean> {
  const { k, n, oracle } = state;
  const P = o.population;
  const elites = Math.max(1, Math.floor(P / 8));
  const randn = gaussian(o.seed ?? 0);
  const pop = new Float32Array(n * P * k);
  const fit = new Float32Array(n * P).fill(-Infinity);
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < P; p++) {
      const off = (t * P + p) * k;
      for (let c = 0; c < k; c++) pop[off + c] = state.best[t * k + c] + (p === 0 ? 0 : o.sigma * model.latentScale * randn());
    }
    fit[t * P] = state.bestCos[t];
  }
  model.clampLatents(pop);
  const rand = mulberry32((o.seed ?? 0) ^ 0x6a09e667);
  const evaluate = async (rows: number[]) => {
    const live = rows.filter((r) => oracle.remaining(Math.floor(r / P)) > 0);
    const z = new Float32Array(live.length * k);
    live.forEach((r, i) => z.set(pop.subarray(r * k, (r + 1) * k), i * k));
    const f = await oracle.score(z, live.map((r) => Math.floor(r / P)));
    live.forEach((r, i) => { fit[r] = Number.isFinite(f[i]) ? f[i] : -Infinity; state.take(Math.floor(r / P), z, i * k, f[i]); });
  };
  const rowsFitting = (rows: number[]) => {
    const per = new Map<number, number>();
    return rows.filter((r) => { const t = Math.floor(r / P); const c = (per.get(t) ?? 0) + 1; per.set(t, c); return c <= oracle.remaining(t); });
  };
  // Generation 0: the start (already scored) and P − 1 mutants of it.
  const first: number[] = [];
  for (let t = 0; t < n; t++) for (let p = 1; p < P; p++) if (oracle.remaining(t) > 0) first.push(t * P + p);
  await evaluate(rowsFitting(first));
  for (let gen = 1; ; gen++) {
    if (o.signal?.aborted) return true;
    const live = state.live(1);
    if (!live.length) return false;
    const generations = Math.max(1, Math.floor((oracle.budget - 1) / Math.max(1, P - elites)));
    const mut = o.sigma * model.latentScale * Math.max(0.15, 1 - gen / generations);
    const children: number[] = [];
    for (const t of live) children.push(...breed(t, pop, fit, P, elites, k, mut, rand, randn));
    model.clampLatents(pop);
    await evaluate(rowsFitting(children));
    await state.afterStep(live, P - elites, null);
  }
}

/** Replaces target t's population by its elites and P − elites children; returns the children's rows. */
function breed(t: number, pop: Float32Array, fit: Float32Array, P: number, elites: number, k: number, mut: number, rand: () => number, randn: () => number): number[] {
  const order = Array.from({ length: P }, (_, p) => p).sort((a, b) => fit[t * P + b] - fit[t * P + a]);
  const tournament = () => {
    let w = Math.floor(rand() * P);
    for (let r = 0; r < 2; r++) { const c = Math.floor(rand() * P); if (fit[t * P + c] > fit[t * P + w]) w = c; }
    return w;
  };
  const next = new Float32Array(P * k);
  for (let p = 0; p < P; p++) {
    const dst = next.subarray(p * k, (p + 1) * k);
    if (p < elites) { dst.set(pop.subarray((t * P + order[p]) * k, (t * P + order[p] + 1) * k)); continue; }
    const a = (t * P + tournament()) * k, b = (t * P + tournament()) * k;
    for (let c = 0; c < k; c++) dst[c] = (rand() < 0.5 ? pop[a + c] : pop[b + c]) + mut * randn();
  }
  const eliteFit = order.slice(0, elites).map((p) => fit[t * P + p]);
  pop.set(next, t * P * k);
  const children: number[] = [];
  for (let p = 0; p < P; p++) {
    fit[t * P + p] = p < elites ? eliteFit[p] : -Infinity;
    if (p >= elites) children.push(t * P + p);
  }
  return children;
}
