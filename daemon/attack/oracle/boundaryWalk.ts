/**
 * The decision search's second phase (issue 25, item 4): a hard-label walk from the first accepted face
 * (./decisionSearch.ts) deeper into the subject's acceptance region, with only accept / reject answers.
 *
 * Follows HopSkipJump (Chen, Jordan & Wainwright, IEEE S&P 2020): the direction is the Monte-Carlo estimate
 * of the decision function's gradient from the signs of the answers on random perturbations,
 * ĝ = Σ (φ_i − φ̄) u_i (φ = +1 accept / −1 reject, the mean φ̄ subtracted as HSJ's baseline), and the step is
 * taken along ĝ and halved until the face is accepted again. Two changes, each for this setting:
 *
 * - HSJ estimates at a boundary point with a tiny radius δ; here the walk estimates at the *current accepted*
 *   face with a radius that reaches the boundary. For a half-space {w·z > τ} and perturbations uniform on a
 *   sphere, E[φ(z + δu) u] is parallel to w at any δ (symmetry), so no binary search to the boundary is spent;
 *   δ is kept where both answers occur (doubled when nearly all accept — the boundary is farther —, halved
 *   when nearly all reject). As the face goes deeper δ grows: it is the walk's own depth gauge.
 * - The perturbations may be drawn in the top `subspace` components of the PCA face model (whitened latents),
 *   after the low-dimensional sampling of QEBA (Li et al., CVPR 2020): a sign estimate in d dimensions from m
 *   answers has a cosine to the true gradient of order √(m/d). On the attacker's own identities a small subspace
 *   stalled (every answer "accept" at the radius cap), so the default is every component (`DEFAULT_WALK`).
 *   Directions go in antithetic pairs (±u) as in the project's zeroth-order search.
 *
 * Every submitted face is one counted query; the face at each query budget is the last accepted one whose step
 * fit within that budget (the walk never answers with a face it has not seen accepted).
 */
import { mulberry32 } from '../../data/split';

/** Accept / reject of `n` faces given as latents ([n, dim] rows): one counted query each. */
export type DecideLatents = (latents: Float32Array, n: number) => Promise<boolean[]>;

export interface WalkOptions {
  /** Walk queries to record the face at (beyond the first accept), ascending; the walk stops at the last. */
  budgets: readonly number[];
  /** Perturbations per gradient estimate (even: antithetic pairs). */
  directions: number;
  /** Leading latent components the perturbations use (≤ the latent dimension). */
  subspace: number;
  /** First perturbation radius, in whitened latent units (the sphere's radius). */
  radius: number;
  /** Largest radius (the model's range: past it every probe is clamped to the same box corners). */
  maxRadius: number;
  /** Step along ĝ as a multiple of the current radius. */
  stepScale: number;
  /** Halvings of a rejected step before the step is given up (each one query). */
  halvings: number;
  seed: number;
  /** After each step: queries so far, the share of perturbations accepted, the radius now, steps moved. */
  onStep?: (s: { queries: number; share: number; radius: number; moved: number }) => void;
  /** Keeps a proposal inside the model's range (e.g. the PCA clamp), in place. */
  clamp?: (z: Float32Array) => void;
  /**
   * Errors of the system that end this subject's walk (a lock-out, an unknown subject) rather than the run: the
   * walk stops, every budget not reached keeps the last accepted face, and the error's message is returned.
   */
  stopOn?: (e: unknown) => boolean;
}

export interface WalkResult {
  /** The accepted face (latent) at each budget of `budgets`, in order. */
  snapshots: Float32Array[];
  /** Queries spent. */
  queries: number;
  /** Steps whose move was accepted, and steps given up. */
  moved: number;
  givenUp: number;
  /** The perturbation radius at the end (the depth gauge). */
  radius: number;
  /** The system's error that ended the walk early (`stopOn`), if one did. */
  error?: string;
}

/**
 * Settings chosen on the attacker's own identities (daemon/bench/oracleWalk.ts --validate, docs/oracles.md): all
 * 512 components beat 64 and 16 (the small subspaces saturate at the radius cap), step 0.5 beat 1, a cap of 16
 * beat 32, 40 directions did not beat 20. `subspace` is cut to the model's latent size by walkFromPhoto.
 */
export const DEFAULT_WALK: Omit<WalkOptions, 'budgets' | 'seed'> = { directions: 20, subspace: 512, radius: 4, maxRadius: 16, stepScale: 0.5, halvings: 2 };

/** Walks from `start` (a latent the system accepted) with `decide` until the last budget is spent. */
export async function boundaryWalk(start: Float32Array, dim: number, decide: DecideLatents, o: WalkOptions): Promise<WalkResult> {
  checkOptions(start, dim, o);
  const rand = mulberry32(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const last = o.budgets[o.budgets.length - 1];
  let z: Float32Array = Float32Array.from(start), radius = o.radius, queries = 0, moved = 0, givenUp = 0;
  const snapshots: Float32Array[] = [];
  // Before n more queries: every budget they would pass gets the face as it stands (accepted, within that budget).
  const record = (n: number) => { while (snapshots.length < o.budgets.length && o.budgets[snapshots.length] < queries + n) snapshots.push(Float32Array.from(z)); };
  const ask = async (zs: Float32Array, n: number) => { record(n); queries += n; return decide(zs, n); };
  let error: string | undefined;
  try {
    // A step costs the estimate and at least one check; stop when that no longer fits.
    while (queries + o.directions + 1 <= last) {
      const u = directions(o.directions, o.subspace, gauss);
      const probes = new Float32Array(o.directions * dim);
      for (let i = 0; i < o.directions; i++) {
        const p = probes.subarray(i * dim, (i + 1) * dim);
        p.set(z);
        for (let j = 0; j < o.subspace; j++) p[j] += radius * u[i * o.subspace + j];
        o.clamp?.(p);
      }
      const phi = (await ask(probes, o.directions)).map((a) => (a ? 1 : -1));
      const share = phi.filter((v) => v > 0).length / phi.length;
      const g = signGradient(phi, u, o.subspace);
      if (share > 0.8) radius = Math.min(o.maxRadius, radius * 2); else if (share < 0.2) radius /= 2;
      if (g) {
        const ok = await stepAlong(z, g, radius * o.stepScale, dim, o, (c) => ask(c, 1).then((a) => a[0]), () => queries + 1 <= last);
        if (ok) { z = ok; moved++; } else givenUp++;
      }
      o.onStep?.({ queries, share, radius, moved });
    }
  } catch (e) {
    if (!o.stopOn?.(e)) throw e;
    error = (e as Error).message;
  }
  record(Infinity);
  return { snapshots, queries, moved, givenUp, radius, ...(error !== undefined ? { error } : {}) };
}

function checkOptions(start: Float32Array, dim: number, o: WalkOptions): void {
  if (start.length !== dim) throw new Error(`boundary walk: the start has ${start.length} values, the latent ${dim}`);
  if (!o.budgets.length || o.budgets.some((b, k) => !(b >= 0) || (k > 0 && b < o.budgets[k - 1]))) throw new Error(`boundary walk: budgets must be ascending and non-negative (${o.budgets.join(', ')})`);
  if (!(o.directions >= 2) || o.directions % 2) throw new Error(`boundary walk: directions must be an even number ≥ 2 (antithetic pairs), not ${o.directions}`);
  if (!(o.subspace >= 1 && o.subspace <= dim)) throw new Error(`boundary walk: subspace ${o.subspace} is outside 1…${dim}`);
  if (!(o.radius > 0 && o.maxRadius >= o.radius && o.stepScale > 0) || !(o.halvings >= 0)) throw new Error('boundary walk: radius and step scale must be positive, the radius at most maxRadius, halvings ≥ 0');
}

/** `n` unit directions in `d` dimensions, in antithetic pairs (u, −u). */
function directions(n: number, d: number, gauss: () => number): Float32Array {
  const u = new Float32Array(n * d);
  for (let i = 0; i < n; i += 2) {
    let s = 0;
    for (let j = 0; j < d; j++) { const v = gauss(); u[i * d + j] = v; s += v * v; }
    const k = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) { u[i * d + j] *= k; u[(i + 1) * d + j] = -u[i * d + j]; }
  }
  return u;
}

/** HSJ's baseline-subtracted sign average, unit length; null when every answer agreed (no direction). */
export function signGradient(phi: readonly number[], u: Float32Array, d: number): Float32Array | null {
  const mean = phi.reduce((a, b) => a + b, 0) / phi.length;
  const g = new Float32Array(d);
  phi.forEach((p, i) => { const w = p - mean; if (w) for (let j = 0; j < d; j++) g[j] += w * u[i * d + j]; });
  const n = Math.hypot(...g);
  if (!(n > 1e-12)) return null;
  return g.map((v) => v / n);
}

/** z + ξĝ (ĝ on the leading components), ξ halved while rejected; the accepted proposal, or null. */
async function stepAlong(z: Float32Array, g: Float32Array, xi: number, dim: number, o: WalkOptions, accepts: (c: Float32Array) => Promise<boolean>, canAsk: () => boolean): Promise<Float32Array | null> {
  for (let h = 0; h <= o.halvings && canAsk(); h++, xi /= 2) {
    const c = Float32Array.from(z);
    for (let j = 0; j < g.length; j++) c[j] += xi * g[j];
    o.clamp?.(c);
    if (c.length !== dim) throw new Error('boundary walk: a proposal changed size');
    if (await accepts(c)) return c;
  }
  return null;
}
