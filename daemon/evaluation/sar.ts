/**
 * Success attack rates as the template-inversion literature reports them (Mai et al., NbNet, TPAMI 2019;
 * ISO/IEC 30136): a reconstruction "succeeds" when the comparison score between its template and a genuine
 * template of the same person is above the decision threshold set at a false match rate.
 * - type I: against the template of the very image the attacked embedding came from;
 * - type II: against the templates of the person's *other* images, each pair once; a probe that could not be
 *   embedded fails every one of its pairs (it would otherwise drop out of the denominator and flatter the
 *   attack). Reported per pair, averaged per probe and per identity (a few people with many photos dominate
 *   the pairs), with an identity-cluster bootstrap interval;
 * - rank-1: the nearest real test image (the source excluded) is of the same person; only probes whose
 *   identity has another test image can succeed, so only they are counted (the others are reported apart).
 * Scores are cosines of L2-normalised rows (dot products); a comparison succeeds when strictly above the
 * threshold, as thresholds are defined (share of impostor scores strictly above them = the FMR).
 */
import { forEachDotBlock } from '../math/blockDots';
import type { Rate, TypeII } from '../protocol/report';
import { clusterBootstrap, rate } from './stats';

export interface Gallery {
  /** [n, dim] L2-normalised embeddings of the real test images. */
  embeddings: Float32Array;
  dim: number;
  identities: string[];
  rels: string[];
}

export interface Probe {
  /** [dim] embedding of the reconstruction, or null when it could not be embedded (a failed attack). */
  embedding: Float32Array | null;
  /** Why it could not be embedded (`no-face`, `embed-failed`, …), when it could not. */
  failure?: string;
  /** Row in the gallery of the source image. */
  sourceRow: number;
}

export interface SarResult {
  count: number;
  notEmbedded: number;
  failures: Record<string, number>;
  /** One per threshold. */
  typeI: Rate[];
  typeII: TypeII;
  rank1: Rate;
  rank1Excluded: number;
  meanCosine: number | null;
  /** Per-probe cosine to its source; null when not embedded. */
  cosines: (number | null)[];
  /** Per probe, its cosines to the person's other photos (null when not embedded), for the bootstrap. */
  pairScores: (Float64Array | null)[];
  /** Per probe, how many other photos the person has (its type II pairs). */
  pairCounts: number[];
}

function dotRow(e: Float32Array, g: Float32Array, row: number, dim: number): number {
  let s = 0;
  const o = row * dim;
  for (let k = 0; k < dim; k++) s += e[k] * g[o + k];
  return s;
}

/** Rows of the gallery per identity. */
export function rowsByIdentity(identities: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  identities.forEach((id, i) => { const l = m.get(id); if (l) l.push(i); else m.set(id, [i]); });
  return m;
}

/**
 * How many of `ranked` (indices of embedded probes) have, as their nearest gallery image other than their own
 * source, a photo of their own person (a tie goes to the lower row, as a scan would keep it).
 */
function rankOneHits(probes: readonly Probe[], ranked: readonly number[], gallery: Gallery): number {
  const { dim } = gallery;
  const n = gallery.identities.length;
  const P = new Float32Array(ranked.length * dim);
  ranked.forEach((i, k) => P.set(probes[i].embedding as Float32Array, k * dim));
  let hits = 0;
  forEachDotBlock(P, ranked.length, gallery.embeddings, n, dim, (first, count, S) => {
    for (let k = 0; k < count; k++) {
      const source = probes[ranked[first + k]].sourceRow, o = k * n;
      let best = -Infinity, bestRow = -1;
      for (let r = 0; r < n; r++) if (r !== source && S[o + r] > best) { best = S[o + r]; bestRow = r; }
      if (bestRow >= 0 && gallery.identities[bestRow] === gallery.identities[source]) hits++;
    }
  });
  return hits;
}

export function successAttackRates(probes: readonly Probe[], gallery: Gallery, thresholds: readonly number[]): SarResult {
  const { dim } = gallery;
  const n = gallery.identities.length;
  const P = thresholds.length;
  const byIdentity = rowsByIdentity(gallery.identities);
  const t1 = new Array<number>(P).fill(0);
  const pairHits = new Array<number>(P).fill(0);
  const probeShares: number[][] = thresholds.map(() => []);
  /** Per identity and threshold: [hits, pairs]. */
  const perIdentity = new Map<string, { hits: number[]; pairs: number }>();
  let pairs = 0, probesWithPairs = 0, rank1Trials = 0, cosSum = 0, embedded = 0;
  const failures: Record<string, number> = {};
  const cosines: (number | null)[] = probes.map(() => null);
  const pairScores: (Float64Array | null)[] = probes.map(() => null);
  const pairCounts: number[] = probes.map(() => 0);
  /** Embedded probes whose person has another test photo: the rank-1 trials that can succeed. */
  const rankedProbes: number[] = [];
  probes.forEach((p, i) => {
    if (!(p.sourceRow >= 0 && p.sourceRow < n)) throw new Error(`probe ${i}: source row ${p.sourceRow} is outside the gallery (${n} images)`);
    const id = gallery.identities[p.sourceRow];
    const others = (byIdentity.get(id) ?? []).filter((r) => r !== p.sourceRow);
    const hits = new Array<number>(P).fill(0);
    if (p.embedding) {
      if (p.embedding.length !== dim) throw new Error(`probe ${i} has dimension ${p.embedding.length}, gallery ${dim}`);
      embedded++;
      const c = dotRow(p.embedding, gallery.embeddings, p.sourceRow, dim);
      cosines[i] = c;
      cosSum += c;
      thresholds.forEach((t, k) => { if (c > t) t1[k]++; });
      const scores = new Float64Array(others.length);
      others.forEach((r, j) => {
        const s = dotRow(p.embedding as Float32Array, gallery.embeddings, r, dim);
        scores[j] = s;
        thresholds.forEach((t, k) => { if (s > t) hits[k]++; });
      });
      pairScores[i] = scores;
    } else {
      const why = p.failure ?? 'not-embedded';
      failures[why] = (failures[why] ?? 0) + 1;
    }
    pairCounts[i] = others.length;
    if (others.length > 0) {
      pairs += others.length;
      probesWithPairs++;
      hits.forEach((h, k) => { pairHits[k] += h; probeShares[k].push(h / others.length); });
      const acc = perIdentity.get(id) ?? { hits: new Array<number>(P).fill(0), pairs: 0 };
      acc.pairs += others.length;
      hits.forEach((h, k) => { acc.hits[k] += h; });
      perIdentity.set(id, acc);
      rank1Trials++;
      if (p.embedding) rankedProbes.push(i);
    }
  });
  const rank1 = rankOneHits(probes, rankedProbes, gallery);
  const count = probes.length;
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
  const idList = [...perIdentity.values()];
  const typeII: TypeII = {
    perPair: pairHits.map((h) => rate(h, pairs)),
    perPairClusterCi: thresholds.map((_, k) => clusterBootstrap(idList.map((v) => ({ successes: v.hits[k], trials: v.pairs })))),
    perProbe: probeShares.map(mean),
    perIdentity: thresholds.map((_, k) => mean(idList.map((v) => v.hits[k] / v.pairs))),
    pairs,
    probesWithPairs,
    identitiesWithPairs: idList.length,
  };
  return {
    count,
    notEmbedded: count - embedded,
    failures,
    typeI: t1.map((h) => rate(h, count)),
    typeII,
    rank1: rate(rank1, rank1Trials),
    rank1Excluded: count - rank1Trials,
    meanCosine: embedded ? cosSum / embedded : null,
    cosines,
    pairScores,
    pairCounts,
  };
}
