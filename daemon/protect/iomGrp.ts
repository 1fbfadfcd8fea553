/**
 * Index-of-Max hashing, Gaussian random projection (IoM-GRP) — Jin, Hwang, Lai, Kim & Teoh, "Ranking-based
 * locality sensitive hashing-enabled cancelable biometrics: Index-of-Max hashing", IEEE TIFS 13(2), 2018.
 *
 * Key: m independent Gaussian matrices W_j, [q, d] each (stored [m, q, d]). Protected template: m indices
 * h_j = argmax_k ⟨W_j[k], e⟩ ∈ [0, q). Comparator: the share of equal indices (the paper's Hamming-type
 * similarity on the index vector).
 *
 * Stolen-key inversion: each index is q − 1 linear inequalities (W_j[h_j] − W_j[k]) e > 0. The attack
 * maximises the softmax likelihood of the observed argmaxes (a smooth version of the constraints) from the
 * sum of the winning directions, on the unit sphere.
 */
import { KeyStream } from './keys';
import { checkEmbedding, checkInt, checkKeyLength, checkTemplate, ProtectionInputError, type ProtectedTemplate, type ProtectionScheme } from './types';

export const IOM_PAPER = 'Jin, Hwang, Lai, Kim & Teoh, "Ranking-based locality sensitive hashing-enabled cancelable biometrics: Index-of-Max hashing", IEEE TIFS 13(2), 2018';

export interface IomGrpParams { hashes: number; projections: number }
/** [m, q, d] row-major Gaussian projections. */
export interface IomGrpKey { readonly projections: Float32Array }

/** Share of equal entries of two index templates. */
export function indexSimilarity(a: Int32Array, b: Int32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) s++;
  return s / a.length;
}

/** One-hot features of an index template, [m · range]. */
export function oneHot(values: Int32Array, range: number): Float32Array {
  const out = new Float32Array(values.length * range);
  for (let j = 0; j < values.length; j++) out[j * range + values[j]] = 1;
  return out;
}

export class IomGrp implements ProtectionScheme<IomGrpKey> {
  readonly id = 'iom-grp';
  readonly paper = IOM_PAPER;
  readonly output = 'indices' as const;
  get indexRange(): number { return this.params.projections; }
  readonly outputDim: number;
  readonly featureDim: number;
  readonly label: string;
  constructor(readonly inputDim: number, readonly params: IomGrpParams) {
    checkInt('IoM-GRP', 'embedding dimension', inputDim, 1, 1 << 20);
    checkInt('IoM-GRP', 'hashes', params.hashes, 1, 1 << 16);
    if (!Number.isInteger(params.projections) || params.projections < 2) throw new ProtectionInputError(`IoM-GRP: projections (q) must be a whole number ≥ 2 (an argmax over one value is always 0), got ${params.projections}`);
    if (params.projections > inputDim) throw new ProtectionInputError(`IoM-GRP: ${params.projections} projections per hash exceed the ${inputDim}-d embedding (at most ${inputDim} independent directions; lower "projections")`);
    this.outputDim = params.hashes;
    this.featureDim = params.hashes * params.projections;
    this.label = `IoM-GRP (${params.hashes} hashes, q = ${params.projections})`;
  }

  keyFromSeed(seed: number): IomGrpKey {
    return { projections: new KeyStream(seed).normals(this.params.hashes * this.params.projections * this.inputDim) };
  }

  checkKey(key: IomGrpKey): void {
    const { hashes: m, projections: q } = this.params;
    checkKeyLength('IoM-GRP key projections', key?.projections, m * q * this.inputDim, `${m} hashes × ${q} projections × ${this.inputDim} dimensions`);
  }

  /** [m, q] projections of e. */
  scores(e: ArrayLike<number>, key: IomGrpKey, out = new Float64Array(this.params.hashes * this.params.projections)): Float64Array {
    const d = this.inputDim, W = key.projections;
    for (let r = 0; r < out.length; r++) {
      let s = 0;
      const o = r * d;
      for (let k = 0; k < d; k++) s += W[o + k] * e[k];
      out[r] = s;
    }
    return out;
  }

  enrol(embedding: Float32Array, key: IomGrpKey): ProtectedTemplate {
    checkEmbedding('IoM-GRP', embedding, this.inputDim);
    this.checkKey(key);
    const { hashes: m, projections: q } = this.params;
    const s = this.scores(embedding, key);
    const values = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      let best = 0;
      for (let k = 1; k < q; k++) if (s[j * q + k] > s[j * q + best]) best = k;
      values[j] = best;
    }
    return { kind: 'indices', values, range: q };
  }

  compare(a: ProtectedTemplate, b: ProtectedTemplate): number {
    checkTemplate('IoM-GRP', a, 'indices', this.outputDim, this.params.projections, 'first template');
    checkTemplate('IoM-GRP', b, 'indices', this.outputDim, this.params.projections, 'second template');
    return indexSimilarity((a as { values: Int32Array }).values, (b as { values: Int32Array }).values);
  }

  features(t: ProtectedTemplate): Float32Array {
    checkTemplate('IoM-GRP', t, 'indices', this.outputDim, this.params.projections);
    return oneHot((t as { values: Int32Array }).values, this.params.projections);
  }

  attack(t: ProtectedTemplate, key: IomGrpKey, mean: Float32Array): { start: Float64Array; loss: (e: Float64Array, g: Float64Array) => number } {
    checkTemplate('IoM-GRP', t, 'indices', this.outputDim, this.params.projections);
    this.checkKey(key);
    const idx = (t as { values: Int32Array }).values;
    const { hashes: m, projections: q } = this.params;
    const d = this.inputDim, W = key.projections;
    const start = new Float64Array(d);
    for (let j = 0; j < m; j++) {
      for (let k = 0; k < q; k++) {
        const w = (k === idx[j] ? 1 : 0) - 1 / q;
        const o = (j * q + k) * d;
        for (let i = 0; i < d; i++) start[i] += w * W[o + i];
      }
    }
    let n = 0;
    for (let i = 0; i < d; i++) n += start[i] * start[i];
    n = Math.sqrt(n) || 1;
    for (let i = 0; i < d; i++) start[i] = start[i] / n + mean[i];
    // Projections of a unit vector are N(0, 1): β sets how sharp the softmax is.
    const beta = 4;
    const s = new Float64Array(m * q);
    const loss = (e: Float64Array, g: Float64Array): number => {
      this.scores(e, key, s);
      g.fill(0);
      let L = 0;
      for (let j = 0; j < m; j++) {
        let mx = -Infinity;
        for (let k = 0; k < q; k++) mx = Math.max(mx, beta * s[j * q + k]);
        let z = 0;
        for (let k = 0; k < q; k++) z += Math.exp(beta * s[j * q + k] - mx);
        L += -(beta * s[j * q + idx[j]] - mx - Math.log(z));
        for (let k = 0; k < q; k++) {
          const p = Math.exp(beta * s[j * q + k] - mx) / z;
          const w = beta * (p - (k === idx[j] ? 1 : 0)) / m;
          if (Math.abs(w) < 1e-12) continue;
          const o = (j * q + k) * d;
          for (let i = 0; i < d; i++) g[i] += w * W[o + i];
        }
      }
      return L / m;
    };
    return { start, loss };
  }
}
