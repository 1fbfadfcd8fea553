/**
 * Success attack rates as the template-inversion literature reports them (Mai et al., NbNet, TPAMI 2018;
 * ISO/IEC 30136): a reconstruction "succeeds" when the system's comparison score between its template and a
 * genuine template of the same person reaches the decision threshold set at a false match rate.
 * - type I: against the template of the very image the attacked embedding came from;
 * - type II: against the templates of the person's *other* images (every such pair counts once);
 * - rank-1: nearest enrolled image (all test images but the source) belongs to the right person.
 * Scores are cosine similarities of L2-normalised rows (dot products).
 */

export interface Gallery {
  /** [n, dim] L2-normalised embeddings of the real test images. */
  embeddings: Float32Array;
  dim: number;
  identities: string[];
  rels: string[];
}

export interface Probe {
  /** [dim] embedding of the reconstruction, or null when it could not be embedded (counts as a failure). */
  embedding: Float32Array | null;
  /** Row in the gallery of the source image. */
  sourceRow: number;
}

export interface SarResult {
  count: number;
  notEmbedded: number;
  typeI: { fmr1e2: number; fmr1e3: number };
  /** null when no probe's identity has another image. */
  typeII: { fmr1e2: number | null; fmr1e3: number | null };
  typeIIPairs: number;
  rank1: number;
  meanCosine: number;
  /** Per-probe cosine to its source (NaN when not embedded). */
  cosines: Float32Array;
}

function dotRow(e: Float32Array, g: Float32Array, row: number, dim: number): number {
  let s = 0;
  const o = row * dim;
  for (let k = 0; k < dim; k++) s += e[k] * g[o + k];
  return s;
}

export function successAttackRates(probes: readonly Probe[], gallery: Gallery, thresholds: { fmr1e2: number; fmr1e3: number }): SarResult {
  const { dim } = gallery;
  const n = gallery.identities.length;
  const byIdentity = new Map<string, number[]>();
  gallery.identities.forEach((id, i) => { const l = byIdentity.get(id); if (l) l.push(i); else byIdentity.set(id, [i]); });
  let t1e2 = 0, t1e3 = 0, p1e2 = 0, p1e3 = 0, pairs = 0, rank1 = 0, cosSum = 0, embedded = 0;
  const cosines = new Float32Array(probes.length).fill(NaN);
  probes.forEach((p, i) => {
    if (!p.embedding) return;
    if (p.embedding.length !== dim) throw new Error(`probe ${i} has dimension ${p.embedding.length}, gallery ${dim}`);
    embedded++;
    const c = dotRow(p.embedding, gallery.embeddings, p.sourceRow, dim);
    cosines[i] = c;
    cosSum += c;
    if (c >= thresholds.fmr1e2) t1e2++;
    if (c >= thresholds.fmr1e3) t1e3++;
    const id = gallery.identities[p.sourceRow];
    for (const r of byIdentity.get(id) ?? []) {
      if (r === p.sourceRow) continue;
      const s = dotRow(p.embedding, gallery.embeddings, r, dim);
      pairs++;
      if (s >= thresholds.fmr1e2) p1e2++;
      if (s >= thresholds.fmr1e3) p1e3++;
    }
    let best = -Infinity, bestRow = -1;
    for (let r = 0; r < n; r++) {
      if (r === p.sourceRow) continue;
      const s = dotRow(p.embedding, gallery.embeddings, r, dim);
      if (s > best) { best = s; bestRow = r; }
    }
    if (bestRow >= 0 && gallery.identities[bestRow] === id) rank1++;
  });
  const count = probes.length;
  return {
    count,
    notEmbedded: count - embedded,
    typeI: { fmr1e2: t1e2 / count, fmr1e3: t1e3 / count },
    typeII: pairs ? { fmr1e2: p1e2 / pairs, fmr1e3: p1e3 / pairs } : { fmr1e2: null, fmr1e3: null },
    typeIIPairs: pairs,
    rank1: rank1 / count,
    meanCosine: embedded ? cosSum / embedded : NaN,
    cosines,
  };
}
