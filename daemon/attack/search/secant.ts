/**
 * Secant search for an embedding oracle. The zeroth-order search (./zerothOrder.ts) reads one number per
 * query — the cosine — although the encoder answers a whole template: each query shows how the template
 * moved in every output direction. Here every query is a step and a measurement at once:
 *
 * - The Jacobian J of the template in the face model's latent starts as the encoder's mean Jacobian A
 *   (./forwardModel.ts, fitted once on the attacker's own queries) and is corrected per target by every pair
 *   (step s, template change y) its queries produce: J = A + R·C·Dᵀ with D the recent steps, R their residuals
 *   y − A·s and C = (DᵀD + εI)⁻¹ — the least change to A that reproduces each observed change (Broyden's
 *   "good" update, Broyden 1965, in its multi-secant form, Fang & Saad 2009).
 * - The step is Gauss–Newton toward the target template t: d = Jᵀ·P·(t − e), P the forward model's
 *   output metric, cut to a trust radius that grows after a step that raised the cosine and shrinks after
 *   one that did not (a rejected step still teaches J). One query per step, no probes.
 *
 * Radii are in the face model's latent standard deviations (whitened latents: the Euclidean norm of the step).
 */
import { SECANT_SETTINGS } from '../../protocol/runConfig';
import type { FaceModel } from '../faceModel/types';
import type { ForwardModel } from './forwardModel';
import type { SearchState } from './searchState';

export interface SecantOptions {
  /** First trust radius (norm of a step in latent SDs). */
  radius: number;
  /** Steps and changes kept per target for the correction of J. */
  window: number;
  signal?: AbortSignal;
}

export const SECANT_DEFAULTS = { ...SECANT_SETTINGS, grow: 1.5, shrink: 0.5, minRadius: 0.02, maxRadius: 8 } as const;

/** What the search keeps per target besides the point: its template and the secant pairs seen. */
export class TargetMemory {
  readonly steps: Float32Array[] = [];
  readonly residuals: Float32Array[] = [];
  /** steps[i]·steps[j], kept as pairs come and go (recomputing it each step cost as much as the step itself). */
  readonly gram: number[][] = [];
  constructor(readonly template: Float32Array, public cos: number, public radius: number) {}

  /** Adds a pair, the oldest out first when the window is full. */
  push(step: Float32Array, residual: Float32Array, window: number): void {
    if (this.steps.length >= window) { this.steps.shift(); this.residuals.shift(); this.gram.shift(); for (const row of this.gram) row.shift(); }
    const dots = this.steps.map((s) => dot(s, step));
    this.gram.forEach((row, i) => row.push(dots[i]));
    this.gram.push([...dots, dot(step, step)]);
    this.steps.push(step);
    this.residuals.push(residual);
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** out = M·x for M row-major with `rows` rows of x's length. */
function rowsTimes<T extends Float32Array | Float64Array>(M: Float32Array, rows: number, x: Float64Array, out: T): T {
  const n = x.length;
  for (let i = 0; i < rows; i++) out[i] = dot(M.subarray(i * n, (i + 1) * n), x);
  return out;
}

/** Runs until no target can afford a query; returns whether it was aborted. */
export async function secantSearch(state: SearchState, model: FaceModel, fm: ForwardModel, targets: readonly Float32Array[], o: SecantOptions): Promise<boolean> {
  const { k, n, oracle } = state;
  if (fm.k !== k) throw new Error(`secant search: the forward model has ${fm.k} latent coordinates, the face model ${k}`);
  const u = Float32Array.from(state.best);
  const startT = state.startTemplates;
  const mem: (TargetMemory | null)[] = Array.from({ length: n }, (_, t) => (startT
    ? new TargetMemory(startT.slice(t * fm.dim, (t + 1) * fm.dim), state.bestCos[t], o.radius) : null));
  for (;;) {
    if (o.signal?.aborted) return true;
    const live = state.live(1);
    if (!live.length) return false;
    // A target without a template here yet (a point the acceptance test restored) is asked there first.
    const cand = new Float32Array(live.length * k);
    live.forEach((t, i) => {
      const z = u.subarray(t * k, (t + 1) * k);
      const m = mem[t];
      if (!m) { cand.set(z, i * k); return; }
      const d = gaussNewtonStep(fm, m, targets[t]);
      for (let c = 0; c < k; c++) cand[i * k + c] = z[c] + d[c];
    });
    model.clampLatents(cand);
    const ans = await oracle.templates(cand, live);
    live.forEach((t, i) => {
      if (oracle.failure[t]) return;
      const zNew = cand.subarray(i * k, (i + 1) * k);
      const eNew = ans.templates.subarray(i * fm.dim, (i + 1) * fm.dim);
      const f = ans.cos[i];
      state.take(t, cand, i * k, f);
      const m = mem[t];
      if (!m) { mem[t] = new TargetMemory(Float32Array.from(eNew), f, o.radius); return; }
      remember(fm, m, u.subarray(t * k, (t + 1) * k), zNew, eNew, o.window);
      if (f > m.cos) {
        u.set(zNew, t * k);
        m.template.set(eNew);
        m.cos = f;
        m.radius = Math.min(SECANT_DEFAULTS.maxRadius, m.radius * SECANT_DEFAULTS.grow);
      } else {
        m.radius = Math.max(SECANT_DEFAULTS.minRadius, m.radius * SECANT_DEFAULTS.shrink);
      }
    });
    const before = Float32Array.from(u);
    await state.afterStep(live, 1, u);
    for (const t of live) if (!sameRow(before, u, t, k)) mem[t] = null;
  }
}

/** Adds the pair (z1 − z0, e1 − e0) as a step and its residual against the forward model, oldest out first. */
function remember(fm: ForwardModel, m: TargetMemory, z0: Float32Array, z1: Float32Array, e1: Float32Array, window: number): void {
  const { k, dim, slope } = fm;
  const s = new Float32Array(k);
  let moved = 0;
  for (let c = 0; c < k; c++) { s[c] = z1[c] - z0[c]; moved += s[c] * s[c]; }
  if (moved < 1e-12) return;
  const r = new Float32Array(dim);
  for (let c = 0; c < dim; c++) r[c] = e1[c] - m.template[c];
  for (let i = 0; i < k; i++) {
    const si = s[i];
    if (si === 0) continue;
    const row = slope.subarray(i * dim, (i + 1) * dim);
    for (let c = 0; c < dim; c++) r[c] -= si * row[c];
  }
  m.push(s, r, window);
}

/** d = Jᵀ·P·(t − e), J = A + R·C·Dᵀ, cut to the target's trust radius. */
export function gaussNewtonStep(fm: ForwardModel, m: TargetMemory, target: Float32Array): Float32Array {
  const { k, dim, slope, metric } = fm;
  const r = new Float64Array(dim);
  for (let c = 0; c < dim; c++) r[c] = target[c] - m.template[c];
  const y = rowsTimes(metric, dim, r, new Float64Array(dim));
  const d = rowsTimes(slope, k, y, new Float32Array(k));
  const w = m.steps.length;
  if (w) {
    const ry = m.residuals.map((res) => dot(res, y));
    const v = solveGram(m.gram, ry);
    for (let j = 0; j < w; j++) { const sj = m.steps[j]; for (let i = 0; i < k; i++) d[i] += v[j] * sj[i]; }
  }
  let norm = 0;
  for (let i = 0; i < k; i++) norm += d[i] * d[i];
  norm = Math.sqrt(norm);
  const f = norm > m.radius ? m.radius / norm : 1;
  for (let i = 0; i < k; i++) d[i] *= f;
  return d;
}

/** v = (DᵀD + εI)⁻¹·b for the steps' Gram matrix DᵀD, by Gaussian elimination on the small w×w system. */
function solveGram(gram: number[][], b: number[]): Float64Array {
  const w = gram.length;
  const G = new Float64Array(w * w);
  let trace = 0;
  for (let i = 0; i < w; i++) { for (let j = 0; j < w; j++) G[i * w + j] = gram[i][j]; trace += gram[i][i]; }
  const eps = 1e-3 * (trace / w);
  for (let i = 0; i < w; i++) G[i * w + i] += eps;
  const v = Float64Array.from(b);
  for (let p = 0; p < w; p++) {
    const piv = G[p * w + p];
    for (let r = p + 1; r < w; r++) {
      const f = G[r * w + p] / piv;
      if (f === 0) continue;
      for (let c = p; c < w; c++) G[r * w + c] -= f * G[p * w + c];
      v[r] -= f * v[p];
    }
  }
  for (let p = w - 1; p >= 0; p--) {
    let s = v[p];
    for (let c = p + 1; c < w; c++) s -= G[p * w + c] * v[c];
    v[p] = s / G[p * w + p];
  }
  return v;
}

function sameRow(a: Float32Array, b: Float32Array, t: number, k: number): boolean {
  for (let c = t * k; c < (t + 1) * k; c++) if (a[c] !== b[c]) return false;
  return true;
}
