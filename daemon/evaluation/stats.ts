/**
 * Uncertainty of success rates. Wilson's score interval (Wilson, JASA 1927; Brown, Cai & DasGupta,
 * "Interval estimation for a binomial proportion", Statistical Science 2001, recommend it over the normal
 * interval for small n and rates near 0 or 1) for independent trials, and a percentile bootstrap over
 * clusters (identities) for rates whose trials share a person, such as type II pairs.
 */
import { mulberry32 } from '../data/split';
import type { Rate } from '../protocol/report';

export const Z95 = 1.959963984540054;

/** Wilson 95 % interval of `successes` out of `trials`; null when there are no trials. */
export function wilson(successes: number, trials: number, z = Z95): [number, number] | null {
  if (!(trials > 0)) return null;
  if (successes < 0 || successes > trials) throw new Error(`wilson: ${successes} successes out of ${trials} trials`);
  const p = successes / trials;
  const z2 = z * z;
  const den = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / den;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function rate(successes: number, trials: number): Rate {
  return { successes, trials, rate: trials > 0 ? successes / trials : null, ci: wilson(successes, trials) };
}

/**
 * Percentile bootstrap (95 %) of a pooled rate Σ successes / Σ trials over clusters resampled with
 * replacement: each cluster is one identity's (successes, trials). Seeded, so reports are reproducible.
 */
export function clusterBootstrap(clusters: readonly { successes: number; trials: number }[], resamples = 2000, seed = 0x5eed): [number, number] | null {
  const k = clusters.length;
  if (k === 0 || clusters.every((c) => c.trials === 0)) return null;
  const rand = mulberry32(seed);
  const values = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    let t = 0;
    for (let i = 0; i < k; i++) {
      const c = clusters[Math.floor(rand() * k)];
      s += c.successes;
      t += c.trials;
    }
    values[b] = t > 0 ? s / t : 0;
  }
  values.sort();
  const at = (q: number) => values[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))];
  return [at(0.025), at(0.975)];
}
