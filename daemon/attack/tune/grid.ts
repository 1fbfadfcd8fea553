/**
 * The settings `faceinv tune` tries for the zeroth-order search (daemon/attack/search/zerothOrder.ts): probe
 * radius σ, Adam step, and, with a surrogate, its weight and warm-up steps; the face model's size as an outer
 * option. Two grids:
 *   small — the config's own point and one step along one axis at a time (σ ×½ and ×2, step ×2, surrogate
 *           weight ×2): 4–5 searches. One search of 64 targets × 100 queries took 396 s on the 2-core machine
 *           shared with other jobs (load average ≈ 9), so --targets 32 there. The warm-up and weight 0 are left
 *           out: docs/search.md's validation table measured both for the main job;
 *   full  — the product of three values per axis (27 or 81 searches: an overnight job).
 */
import type { SearchConfig } from '../../protocol/runConfig';

export const GRID_NAMES = ['small', 'full'] as const;
export type GridName = (typeof GRID_NAMES)[number];

export function isGridName(v: unknown): v is GridName {
  return typeof v === 'string' && (GRID_NAMES as readonly string[]).includes(v);
}

/** One search's settings. `weight`/`warmupSteps` are absent when the search runs on queries alone. */
export interface GridPoint {
  components: number;
  sigma: number;
  learningRate: number;
  weight?: number;
  warmupSteps?: number;
}

/** The settings a grid is centred on: the input config's (weight and warm-up only with a surrogate). */
export interface GridCentre {
  sigma: number;
  learningRate: number;
  surrogate?: { weight: number; warmupSteps: number };
}

export function gridCentre(search: SearchConfig, withSurrogate: boolean, defaults: { weight: number; warmupSteps: number }): GridCentre {
  const s = search.surrogate;
  return {
    sigma: search.sigma, learningRate: search.learningRate,
    ...(withSurrogate ? { surrogate: { weight: s?.weight ?? defaults.weight, warmupSteps: s?.warmupSteps ?? defaults.warmupSteps } } : {}),
  };
}

const round = (x: number): number => Number(x.toPrecision(3));

/** The small grid for one face-model size: the centre first, then one axis at a time. */
function smallGrid(c: GridCentre, components: number): GridPoint[] {
  const base: GridPoint = { components, sigma: c.sigma, learningRate: c.learningRate, ...(c.surrogate ? { weight: c.surrogate.weight, warmupSteps: c.surrogate.warmupSteps } : {}) };
  const out: GridPoint[] = [base, { ...base, sigma: round(c.sigma / 2) }, { ...base, sigma: round(c.sigma * 2) }, { ...base, learningRate: round(c.learningRate * 2) }];
  if (c.surrogate) {
    out.push({ ...base, weight: round(c.surrogate.weight > 0 ? c.surrogate.weight * 2 : 0.5) });
  }
  return out;
}

/** The full grid for one face-model size: every combination of three values per axis. */
function fullGrid(c: GridCentre, components: number): GridPoint[] {
  const three = (x: number) => [round(x / 2), x, round(x * 2)];
  const out: GridPoint[] = [];
  for (const sigma of three(c.sigma)) {
    for (const learningRate of three(c.learningRate)) {
      if (!c.surrogate) { out.push({ components, sigma, learningRate }); continue; }
      const weights = c.surrogate.weight > 0 ? three(c.surrogate.weight) : [0, 0.5, 1];
      const warmups = [0, c.surrogate.warmupSteps || 10, 3 * (c.surrogate.warmupSteps || 10)];
      for (const weight of weights) for (const warmupSteps of warmups) out.push({ components, sigma, learningRate, weight, warmupSteps });
    }
  }
  return out;
}

/** The grid's points, face-model sizes outermost (each size is one face model, built once). */
export function gridPoints(name: GridName, centre: GridCentre, components: readonly number[]): GridPoint[] {
  return components.flatMap((k) => (name === 'small' ? smallGrid(centre, k) : fullGrid(centre, k)));
}

/** A point in words, for logs and tables. */
export function describePoint(p: GridPoint): string {
  const sur = p.weight !== undefined ? `, surrogate weight ${p.weight}, ${p.warmupSteps} warm-up steps` : ', queries only';
  return `${p.components} components, σ ${p.sigma}, step ${p.learningRate}${sur}`;
}
