/**
 * Black-box search per target in the face model's latent space, using only the encoder's answers (never its
 * gradients), from a learned start, under a query budget per target, all targets together so every encoder
 * call carries many candidates.
 * - `zeroth-order` (Park, Park, Dong & Teoh, ICIP 2023, "Face reconstruction … black-box", their
 *   reconstruct.py): a gradient estimate from `directions` antithetic Gaussian probe pairs around the current
 *   point, f(u ± σd), plus the point itself (4 + 1 queries a step for 2 pairs), fed to Adam.
 * - `genetic` (Dong et al., BIOSIG 2021 / Computers & Security 2023, "generating HD face images from deep
 *   templates … genetic algorithm"): a population around the start; elitism, tournament selection, uniform
 *   crossover, Gaussian mutation whose scale shrinks over the generations.
 * Objective: cosine to the target template. Every candidate scored is a candidate answer: the best so far is
 * kept. With `detect`, an acceptance test keeps the face detector on side: at checkpoints each target's
 * best is shown to the detector, and one it no longer finds is replaced by the last best it did find (and the
 * search resumes from there), so answers stay faces a re-detecting pipeline accepts.
 */
import { mulberry32 } from '../../data/split';
import { ADAM_DEFAULTS, adamUpdate } from '../../nets/layers/adam';
import type { FaceModel } from '../faceModel/types';
import { QueryOracle } from './oracle';

export interface QuerySearchOptions {
  method: 'zeroth-order' | 'genetic';
  /** Latent standard deviations: probe radius (zeroth-order) or initial mutation scale (genetic). */
  sigma: number;
  /** zeroth-order: Adam step size in latent standard deviations. */
  learningRate: number;
  directions: number;
  population: number;
  seed?: number;
  /** Which rendered latents the face detector finds; absent = no acceptance test. */
  detect?: (latents: Float32Array, n: number) => Promise<boolean[]>;
  /** Acceptance tests per search (spread over the budget), besides the final one. Default 4. */
  checks?: number;
  signal?: AbortSignal;
  onStep?: (s: SearchStep) => void | Promise<void>;
}

export interface SearchStep {
  /** Mean queries spent per target so far. */
  queriesPerTarget: number;
  /** Best cosine so far per target (NaN for a failed target). */
  best: Float32Array;
  /** Latents of the current bests, [n, latentDim]. */
  bestLatents: Float32Array;
  activeTargets: number;
}

export interface SearchResult {
  bestLatents: Float32Array;
  bestCos: Float32Array;
  startCos: Float32Array;
  queries: Int32Array;
  failure: (string | undefined)[];
  /** Whether each answer passed the last acceptance test (true everywhere without one). */
  detected: boolean[];
  aborted: boolean;
}

function gaussian(seed: number): () => number {
  const rand = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export async function querySearch(oracle: QueryOracle, model: FaceModel, start: Float32Array, o: QuerySearchOptions): Promise<SearchResult> {
  const k = model.latentDim;
  const n = start.length / k;
  if (!Number.isInteger(n) || n < 1) throw new Error(`query search: start latents (${start.length} values) are not rows of ${k}`);
  if (!(o.sigma > 0) || !(o.learningRate > 0)) throw new Error('query search: sigma and learningRate must be > 0');
  const scale = model.latentScale;
  const randn = gaussian(o.seed ?? 0);
  const best = Float32Array.from(start);
  model.clampLatents(best);
  const startCos = await oracle.score(best, Array.from({ length: n }, (_, i) => i));
  const bestCos = Float32Array.from(startCos);
  // Acceptance test state: the last best the detector found, per target.
  const verified = Float32Array.from(best);
  const verifiedCos = Float32Array.from(bestCos);
  const detected = new Array<boolean>(n).fill(true);
  let aborted = false;

  const take = (t: number, z: Float32Array, zOff: number, c: number) => {
    if (c > bestCos[t]) { bestCos[t] = c; best.set(z.subarray(zOff, zOff + k), t * k); }
  };

  const accept = async (current: Float32Array | null): Promise<void> => {
    if (!o.detect) return;
    const found = await o.detect(best, n);
    for (let t = 0; t < n; t++) {
      if (found[t]) {
        verified.set(best.subarray(t * k, (t + 1) * k), t * k);
        verifiedCos[t] = bestCos[t];
        detected[t] = true;
      } else if (verifiedCos[t] > -Infinity && verifiedCos[t] !== bestCos[t]) {
        best.set(verified.subarray(t * k, (t + 1) * k), t * k);
        bestCos[t] = verifiedCos[t];
        current?.set(verified.subarray(t * k, (t + 1) * k), t * k);
        detected[t] = true;
      } else {
        detected[t] = false;
      }
    }
  };
  if (o.detect) {
    const found = await o.detect(best, n);
    found.forEach((f, t) => { detected[t] = f; if (!f) verifiedCos[t] = -Infinity; });
  }
  const checks = Math.max(0, o.checks ?? 4);
  const nextCheckAt = (done: number) => (checks ? Math.ceil(((done + 1) * oracle.budget) / (checks + 1)) : Infinity);
  let checkNo = 0;
  let checkAt = nextCheckAt(0);
  const report = async () => {
    if (!o.onStep) return;
    let active = 0;
    for (let t = 0; t < n; t++) if (oracle.remaining(t) > 0) active++;
    let q = 0;
    for (let t = 0; t < n; t++) q += oracle.used[t];
    await o.onStep({ queriesPerTarget: q / n, best: bestCos.map((c, t) => (oracle.failure[t] ? NaN : c)), bestLatents: best, activeTargets: active });
  };

  if (o.method === 'zeroth-order') {
    const q = o.directions;
    const per = 2 * q + 1;
    const u = Float32Array.from(best);
    const m1 = new Float32Array(n * k), v1 = new Float32Array(n * k);
    const sigma = o.sigma * scale;
    const adam = { learningRate: o.learningRate * scale, beta1: ADAM_DEFAULTS.beta1, beta2: ADAM_DEFAULTS.beta2, epsilon: 1e-12 };
    for (let step = 1; ; step++) {
      if (o.signal?.aborted) { aborted = true; break; }
      const live = Array.from({ length: n }, (_, t) => t).filter((t) => oracle.remaining(t) >= per);
      if (!live.length) break;
      const cand = new Float32Array(live.length * per * k);
      const owners: number[] = [];
      const dirs = new Float32Array(live.length * q * k);
      live.forEach((t, i) => {
        const base = (i * per) * k;
        cand.set(u.subarray(t * k, (t + 1) * k), base);
        owners.push(t);
        for (let j = 0; j < q; j++) {
          const d = dirs.subarray((i * q + j) * k, (i * q + j + 1) * k);
          for (let c = 0; c < k; c++) d[c] = randn();
          for (const [sgn, slot] of [[1, 1 + 2 * j], [-1, 2 + 2 * j]] as const) {
            const off = (i * per + slot) * k;
            for (let c = 0; c < k; c++) cand[off + c] = u[t * k + c] + sgn * sigma * d[c];
            owners.push(t);
          }
        }
      });
      model.clampLatents(cand);
      const f = await oracle.score(cand, owners);
      live.forEach((t, i) => {
        if (oracle.failure[t]) return;
        for (let s = 0; s < per; s++) take(t, cand, (i * per + s) * k, f[i * per + s]);
        const g = new Float32Array(k);
        for (let j = 0; j < q; j++) {
          const w = (f[i * per + 1 + 2 * j] - f[i * per + 2 + 2 * j]) / (2 * sigma * q);
          const d = dirs.subarray((i * q + j) * k, (i * q + j + 1) * k);
          for (let c = 0; c < k; c++) g[c] += w * d[c];
        }
        // Ascent on the cosine: Adam descends on −g.
        for (let c = 0; c < k; c++) g[c] = -g[c];
        const row = (a: Float32Array) => a.subarray(t * k, (t + 1) * k);
        adamUpdate(row(u), row(m1), row(v1), g, adam, step);
      });
      model.clampLatents(u);
      const spent = Math.min(...live.map((t) => oracle.used[t]));
      if (spent >= checkAt) { await accept(u); checkNo++; checkAt = nextCheckAt(checkNo); }
      await report();
    }
  } else {
    const P = o.population;
    const elites = Math.max(1, Math.floor(P / 8));
    const pop = new Float32Array(n * P * k);
    const fit = new Float32Array(n * P).fill(-Infinity);
    const owners: number[] = [];
    for (let t = 0; t < n; t++) {
      for (let p = 0; p < P; p++) {
        const off = (t * P + p) * k;
        for (let c = 0; c < k; c++) pop[off + c] = best[t * k + c] + (p === 0 ? 0 : o.sigma * scale * randn());
        if (p > 0) owners.push(t);
      }
      fit[t * P] = bestCos[t];
    }
    model.clampLatents(pop);
    const rand = mulberry32((o.seed ?? 0) ^ 0x6a09e667);
    const evaluate = async (rows: number[]) => {
      const live = rows.filter((r) => oracle.remaining(Math.floor(r / P)) > 0);
      const z = new Float32Array(live.length * k);
      live.forEach((r, i) => z.set(pop.subarray(r * k, (r + 1) * k), i * k));
      const f = await oracle.score(z, live.map((r) => Math.floor(r / P)));
      live.forEach((r, i) => { fit[r] = Number.isFinite(f[i]) ? f[i] : -Infinity; take(Math.floor(r / P), z, i * k, f[i]); });
    };
    // Generation 0: the start (already scored) and P − 1 mutants of it.
    const first: number[] = [];
    for (let t = 0; t < n; t++) for (let p = 1; p < P; p++) if (oracle.remaining(t) > 0) first.push(t * P + p);
    const rowsFitting = (rows: number[]) => {
      const per = new Map<number, number>();
      return rows.filter((r) => { const t = Math.floor(r / P); const c = (per.get(t) ?? 0) + 1; per.set(t, c); return c <= oracle.remaining(t); });
    };
    await evaluate(rowsFitting(first));
    const generations = Math.max(1, Math.floor((oracle.budget - 1) / Math.max(1, P - elites)));
    for (let gen = 1; ; gen++) {
      if (o.signal?.aborted) { aborted = true; break; }
      const live = Array.from({ length: n }, (_, t) => t).filter((t) => oracle.remaining(t) > 0);
      if (!live.length) break;
      const mut = o.sigma * scale * Math.max(0.15, 1 - gen / generations);
      const children: number[] = [];
      const next = new Float32Array(P * k);
      for (const t of live) {
        const order = Array.from({ length: P }, (_, p) => p).sort((a, b) => fit[t * P + b] - fit[t * P + a]);
        const tournament = () => {
          let w = Math.floor(rand() * P);
          for (let r = 0; r < 2; r++) { const c = Math.floor(rand() * P); if (fit[t * P + c] > fit[t * P + w]) w = c; }
          return w;
        };
        for (let p = 0; p < P; p++) {
          const dst = next.subarray(p * k, (p + 1) * k);
          if (p < elites) { dst.set(pop.subarray((t * P + order[p]) * k, (t * P + order[p] + 1) * k)); continue; }
          const a = (t * P + tournament()) * k, b = (t * P + tournament()) * k;
          for (let c = 0; c < k; c++) dst[c] = (rand() < 0.5 ? pop[a + c] : pop[b + c]) + mut * randn();
        }
        const eliteFit = order.slice(0, elites).map((p) => fit[t * P + p]);
        pop.set(next, t * P * k);
        for (let p = 0; p < P; p++) fit[t * P + p] = p < elites ? eliteFit[p] : -Infinity;
        for (let p = elites; p < P; p++) children.push(t * P + p);
      }
      model.clampLatents(pop);
      await evaluate(rowsFitting(children));
      const spent = Math.min(...live.map((t) => oracle.used[t]));
      if (spent >= checkAt) {
        await accept(null);
        checkNo++;
        checkAt = nextCheckAt(checkNo);
      }
      await report();
    }
  }
  await accept(null);
  await report();
  return { bestLatents: best, bestCos, startCos, queries: Int32Array.from(oracle.used), failure: oracle.failure.slice(), detected, aborted };
}
