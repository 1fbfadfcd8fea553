/**
 * Synthesised candidates for the decision oracle past the attacker's photo pool (issue 25): "master faces"
 * (Shmelkin, Friedlander & Wolf, "Generating master faces for dictionary attacks with a network-assisted
 * latent space evolution", FG 2021) — faces built in a generator's latent space to be accepted for many
 * identities, each next one aimed at the identities the earlier ones left uncovered (a greedy set cover).
 *
 * Why master faces and not morphs or wolves: a morph (Ferrara et al. 2014) blends two *known* faces and a
 * wolf (Une, Otsuka & Imai 2007) is a sample found by chance; both need the targets or luck, and this
 * attacker has neither — only its own photos, its own identities and its copy of the encoder, with free
 * queries. Master faces use exactly that: coverage of the attacker's *own* identities stands in for coverage
 * of the system's unknown subjects, as the hub order's does for the photos (./decisionSearch.ts).
 *
 * Here the generator is the attacker's PCA face model (../faceModel/pca.ts). Instead of Shmelkin et al.'s
 * evolution, each face starts from a closed-form inverse: a ridge map from template to latent
 * (../../math/ridge.ts), fitted on random latents rendered and encoded by the copy (no crops needed),
 * applied to the centroid of a few own identities that no photo covers; a zeroth-order refinement (antithetic
 * pairs, free copy queries) then raises the group's lowest cosines toward the threshold. Every kept face's
 * template is the copy's template of the rendered face, computed once; the caller merges the faces into the
 * hub order (`HubOrderOptions.extra`), where each is submitted like a photo (one counted system query).
 */
import { fitRidge, applyRidge } from '../../math/ridge';
import { mulberry32 } from '../../data/split';

/** The attacker's encoder copy on rendered faces: latents [n, latentDim] → templates [n, dim] (unit rows); each row one free copy query. */
export type EmbedLatents = (latents: Float32Array, n: number) => Promise<Float32Array>;

export interface MasterFaceOptions {
  /** Synthesised faces to return (fewer when every own identity is covered first). */
  count: number;
  /** The system's threshold on the copy's cosine (the attacker's estimate, from its own impostor pairs). */
  threshold: number;
  /** Uncovered own identities whose centroid a face aims at. */
  groupSize: number;
  /** Random latents rendered and encoded to fit the template → latent ridge map. */
  pairs: number;
  /** Ridge penalty. */
  lambda: number;
  /** Zeroth-order refinement steps per face (each 1 + 2·directions copy queries); 0: the ridge start only. */
  steps: number;
  directions: number;
  /** Probe radius and step length, in latent standard deviations. */
  sigma: number;
  learningRate: number;
  /** The refinement stops rewarding a group member's cosine this far above the threshold. */
  margin: number;
  /** Faces built (and encoded) together. */
  batch: number;
  seed: number;
  /** Puts latents back into the face model's range, in place. */
  clamp?: (z: Float32Array) => void;
}

export const MASTER_FACE_DEFAULTS: Omit<MasterFaceOptions, 'count' | 'threshold'> = {
  groupSize: 3, pairs: 3000, lambda: 1, steps: 0, directions: 2, sigma: 0.5, learningRate: 0.1, margin: 0.05, batch: 64, seed: 0,
};

export interface MasterFaces {
  dim: number;
  latentDim: number;
  /** [n, latentDim]: render these to submit the faces. */
  latents: Float32Array;
  /** [n, dim]: the copy's template of each rendered face (computed once). */
  templates: Float32Array;
  /** `master:k`, the identity of face k for the hub order (no one's). */
  ids: string[];
  /** Own identities each face covered that neither the photos nor the earlier faces did. */
  gains: Int32Array;
  /** Own identities no photo of another identity covers, before and after the faces. */
  uncoveredBefore: number;
  uncoveredAfter: number;
  /** Free copy queries spent (ridge pairs, starts, refinement). */
  copyQueries: number;
}

const dot = (a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number => {
  let s = 0;
  const x = i * dim, y = j * dim;
  for (let d = 0; d < dim; d++) s += a[x + d] * b[y + d];
  return s;
};

/** Population rows ([m, dim]) that no pool row ([n, dim]) of another identity reaches at `threshold`. */
export function uncoveredRows(pool: Float32Array, poolIds: readonly string[], population: Float32Array, popIds: readonly string[], dim: number, threshold: number): number[] {
  const out: number[] = [];
  for (let q = 0; q < popIds.length; q++) {
    let hit = false;
    for (let p = 0; p < poolIds.length && !hit; p++) if (poolIds[p] !== popIds[q] && dot(pool, p, population, q, dim) >= threshold) hit = true;
    if (!hit) out.push(q);
  }
  return out;
}

/**
 * Greedy master faces over the attacker's own identities: the photos' coverage first, then faces aimed at
 * groups of the identities still uncovered, until `count` faces. Deterministic for a seed and a deterministic `embed`.
 */
/** Where the seeding of groups stands: the seeded order of uncovered identities, the next one, this round's gain. */
interface GroupCursor { seedOrder: number[]; next: number; roundGain: number; seeded: Uint8Array }

/** A batch of groups: an uncovered seed and its nearest uncovered identities not yet grouped (rows of `uT`). */
function nextGroups(c: GroupCursor, uT: Float32Array, dim: number, covered: Uint8Array, groupSize: number, want: number): number[][] {
  const U = c.seedOrder.length, groups: number[][] = [];
  while (groups.length < want) {
    if (c.next === U) {
      // Every uncovered identity has been aimed at: another round at those still uncovered, while rounds gain.
      if (!c.roundGain || groups.length) break;
      c.roundGain = 0;
      c.next = 0;
      c.seeded.fill(0);
    }
    const s = c.seedOrder[c.next++];
    if (covered[s] || c.seeded[s]) continue;
    const near: [number, number][] = [];
    for (let j = 0; j < U; j++) if (j !== s && !covered[j] && !c.seeded[j]) near.push([dot(uT, s, uT, j, dim), j]);
    near.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const g = [s, ...near.slice(0, groupSize - 1).map(([, j]) => j)];
    g.forEach((j) => { c.seeded[j] = 1; });
    groups.push(g);
  }
  return groups;
}

/** The unit centroid of each group's templates, [groups, dim]. */
function groupCentroids(groups: readonly number[][], uT: Float32Array, dim: number): Float32Array {
  const centroid = new Float32Array(groups.length * dim);
  groups.forEach((g, k) => {
    for (const j of g) for (let d = 0; d < dim; d++) centroid[k * dim + d] += uT[j * dim + d];
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += centroid[k * dim + d] ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < dim; d++) centroid[k * dim + d] /= norm;
  });
  return centroid;
}

/** What the refinement needs of the synthesis: the counted copy, the seeded noise, the clamp, the uncovered templates. */
interface RefineContext {
  ask(z: Float32Array, n: number): Promise<Float32Array>;
  gauss(): number;
  clamp(z: Float32Array): void;
  uT: Float32Array;
  o: MasterFaceOptions;
  latentDim: number;
  dim: number;
}

/** Raises each group's cosines up to threshold + margin: antithetic zeroth-order steps on the copy; the best latents kept. */
async function refineGroups(ctx: RefineContext, z0: Float32Array, e0: Float32Array, groups: number[][]): Promise<{ z: Float32Array; e: Float32Array }> {
  const { ask, gauss, clamp, uT, o, latentDim: K, dim } = ctx;
  const n = groups.length;
  const score = (e: Float32Array, k: number, row: number) => {
    let s = 0;
    for (const j of groups[k]) s += Math.min(dot(e, row, uT, j, dim), o.threshold + o.margin);
    return s / groups[k].length;
  };
  const z = Float32Array.from(z0), best = Float32Array.from(z0), bestE = Float32Array.from(e0);
  const bestS = Float64Array.from({ length: n }, (_, k) => score(e0, k, k));
  for (let step = 0; step < o.steps; step++) {
    const D = o.directions, probes = new Float32Array(n * 2 * D * K), dirs = new Float32Array(n * D * K);
    for (let i = 0; i < dirs.length; i++) dirs[i] = gauss();
    for (let k = 0; k < n; k++) for (let d = 0; d < D; d++) for (let c = 0; c < K; c++) {
      const u = dirs[(k * D + d) * K + c] * o.sigma, zc = z[k * K + c];
      probes[((k * D + d) * 2) * K + c] = zc + u;
      probes[((k * D + d) * 2 + 1) * K + c] = zc - u;
    }
    clamp(probes);
    const pe = await ask(probes, n * 2 * D);
    for (let k = 0; k < n; k++) {
      const g = new Float64Array(K);
      for (let d = 0; d < D; d++) {
        const r = (k * D + d) * 2, diff = score(pe, k, r) - score(pe, k, r + 1);
        for (let c = 0; c < K; c++) g[c] += diff * dirs[(k * D + d) * K + c];
      }
      let norm = 0;
      for (let c = 0; c < K; c++) norm += g[c] * g[c];
      norm = Math.sqrt(norm);
      if (norm > 0) for (let c = 0; c < K; c++) z[k * K + c] += (o.learningRate * Math.sqrt(K) * g[c]) / norm;
    }
    clamp(z);
    const ce = await ask(z, n);
    for (let k = 0; k < n; k++) {
      const s = score(ce, k, k);
      if (s > bestS[k]) { bestS[k] = s; best.set(z.subarray(k * K, (k + 1) * K), k * K); bestE.set(ce.subarray(k * dim, (k + 1) * dim), k * dim); }
    }
  }
  return { z: best, e: bestE };
}

export async function synthesiseMasterFaces(embed: EmbedLatents, latentDim: number, pool: Float32Array, poolIds: readonly string[], population: Float32Array, popIds: readonly string[], dim: number, opts: Partial<MasterFaceOptions> & Pick<MasterFaceOptions, 'count' | 'threshold'>): Promise<MasterFaces> {
  const o: MasterFaceOptions = { ...MASTER_FACE_DEFAULTS, ...opts };
  if (!(Number.isInteger(o.count) && o.count >= 0)) throw new Error(`master faces: count must be a whole number ≥ 0, got ${o.count}`);
  if (!(Number.isInteger(o.groupSize) && o.groupSize >= 1)) throw new Error(`master faces: group size must be a whole number ≥ 1, got ${o.groupSize}`);
  if (!(o.pairs > dim)) throw new Error(`master faces: ${o.pairs} ridge pairs cannot fit a map from ${dim}-d templates (need more than ${dim})`);
  if (pool.length !== poolIds.length * dim || population.length !== popIds.length * dim) throw new Error(`master faces: ${poolIds.length} / ${popIds.length} rows do not fit ${pool.length} / ${population.length} values of ${dim}`);
  const rand = mulberry32(o.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const clamp = o.clamp ?? (() => undefined);
  let copyQueries = 0;
  const ask = async (z: Float32Array, n: number): Promise<Float32Array> => {
    const e = await embed(z, n);
    if (e.length !== n * dim) throw new Error(`master faces: the copy answered ${e.length} values for ${n} faces of ${dim}`);
    copyQueries += n;
    return e;
  };

  // 1. Template → latent: ridge on random faces of the model, rendered and encoded by the copy.
  const Z = Float32Array.from({ length: o.pairs * latentDim }, gauss);
  clamp(Z);
  const map = fitRidge(await ask(Z, o.pairs), Z, o.pairs, dim, latentDim, o.lambda);

  // 2. The own identities the photos leave uncovered, and their cosines to each other (for grouping).
  const open = uncoveredRows(pool, poolIds, population, popIds, dim, o.threshold);
  const U = open.length;
  const uT = new Float32Array(U * dim);
  open.forEach((q, i) => uT.set(population.subarray(q * dim, (q + 1) * dim), i * dim));
  const covered = new Uint8Array(U);
  // Seeds in a seeded order, so different seeds give different faces.
  const seedOrder = Array.from({ length: U }, (_, i) => i);
  for (let i = U - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [seedOrder[i], seedOrder[j]] = [seedOrder[j], seedOrder[i]]; }
  const cursor: GroupCursor = { seedOrder, next: 0, roundGain: 0, seeded: new Uint8Array(U) };

  const latents: number[] = [], templates: number[] = [], gains: number[] = [];
  while (gains.length < o.count) {
    // 3. A batch of groups: an uncovered seed and its nearest uncovered, not yet grouped identities.
    const groups = nextGroups(cursor, uT, dim, covered, o.groupSize, Math.min(o.batch, o.count - gains.length));
    if (!groups.length) break;
    const n = groups.length;
    const centroid = groupCentroids(groups, uT, dim);
    const z = applyRidge(map, centroid, n);
    clamp(z);
    let e = await ask(z, n), zz = z;
    // 4. Refinement (refineGroups).
    if (o.steps > 0) ({ z: zz, e } = await refineGroups({ ask, gauss, clamp, uT, o, latentDim, dim }, z, e, groups));
    // 5. Keep every face; count what it newly covers among the uncovered own identities.
    for (let k = 0; k < n; k++) {
      let gain = 0;
      for (let j = 0; j < U; j++) if (!covered[j] && dot(e, k, uT, j, dim) >= o.threshold) { covered[j] = 1; gain++; }
      gains.push(gain);
      cursor.roundGain += gain;
      for (let d = 0; d < latentDim; d++) latents.push(zz[k * latentDim + d]);
      for (let d = 0; d < dim; d++) templates.push(e[k * dim + d]);
    }
  }

  const count = gains.length;
  return {
    dim, latentDim,
    latents: Float32Array.from(latents), templates: Float32Array.from(templates),
    ids: Array.from({ length: count }, (_, k) => `master:${k}`), gains: Int32Array.from(gains),
    uncoveredBefore: U, uncoveredAfter: U - covered.reduce((a, b) => a + b, 0), copyQueries,
  };
}
