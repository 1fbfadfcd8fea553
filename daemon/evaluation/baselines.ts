/**
 * Two answers an attack must beat, because they need no inversion at all.
 * - Nearest training face: for each target template, the attacker's own training photo (always another
 *   person: the split is identity-disjoint) whose template under the attacked encoder has the highest cosine
 *   to the target. Zero queries per target. With ~10^4 faces to choose from, some lookalike nearly always
 *   clears a 1-in-1,000 threshold ("master faces", arXiv 2211.13964), which is why every report shows it.
 * - Mean face: the pixel mean of the attacker's aligned training faces, one picture for every target.
 */

/** Row of `pool` (L2-normalised [m, dim]) with the highest dot product with each target row. */
export function nearestRows(targets: readonly Float32Array[], pool: Float32Array, dim: number): { row: number; cosine: number }[] {
  const m = pool.length / dim;
  if (!Number.isInteger(m) || m === 0) throw new Error(`nearest training face: the attacker's pool is empty or not [n, ${dim}]`);
  return targets.map((t, i) => {
    if (t.length !== dim) throw new Error(`nearest training face: target ${i} has dimension ${t.length}, the pool ${dim}`);
    let best = -Infinity, row = -1;
    for (let r = 0; r < m; r++) {
      let s = 0;
      const o = r * dim;
      for (let k = 0; k < dim; k++) s += t[k] * pool[o + k];
      if (s > best) { best = s; row = r; }
    }
    return { row, cosine: best };
  });
}

/** Pixel mean (rounded) of [n, S, S, 3] uint8 crops. */
export function meanImage(crops: Uint8Array, n: number): Uint8Array {
  if (n === 0) throw new Error('mean face: no training crops');
  const per = crops.length / n;
  const sum = new Float64Array(per);
  for (let i = 0; i < n; i++) for (let k = 0; k < per; k++) sum[k] += crops[i * per + k];
  return Uint8Array.from(sum, (v) => Math.round(v / n));
}
