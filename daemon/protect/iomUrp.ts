/**
 * Index-of-Max hashing, uniformly random permutations (IoM-URP) — Jin, Hwang, Lai, Kim & Teoh, "Ranking-based
 * locality sensitive hashing-enabled cancelable biometrics: Index-of-Max hashing", IEEE TIFS 13(2), 2018.
 *
 * Key: for each of m hashes, p random permutations of the d embedding elements (stored [m, p, d]). Protected
 * template: for hash j, the first `window` (k) elements of each permuted embedding are multiplied element-wise
 * across the p permutations, and h_j is the index of the largest product, in [0, k). Comparator: the share of
 * equal indices.
 *
 * Stolen-key inversion: as IoM-GRP, the softmax likelihood of the observed argmaxes, here of products of p
 * embedding elements (a polynomial of degree p), optimised from the attacker's mean embedding on the unit
 * sphere; the softmax temperature follows the spread of each hash's products.
 */
import { KeyStream } from './keys';
import { IOM_PAPER, indexSimilarity, oneHot } from './iomGrp';
import { checkEmbedding, checkInt, checkKeyLength, checkTemplate, ProtectionInputError, type ProtectedTemplate, type ProtectionScheme } from './types';

export interface IomUrpParams { hashes: number; window: number; permutations: number }
/** [m, p, d] permutations of 0..d−1. */
export interface IomUrpKey { readonly permutations: Int32Array }

export class IomUrp implements ProtectionScheme<IomUrpKey> {
  readonly id = 'iom-urp';
  readonly paper = IOM_PAPER;
  readonly output = 'indices' as const;
  get indexRange(): number { return this.params.window; }
  readonly outputDim: number;
  readonly featureDim: number;
  readonly label: string;
  constructor(readonly inputDim: number, readonly params: IomUrpParams) {
    checkInt('IoM-URP', 'embedding dimension', inputDim, 1, 1 << 20);
    checkInt('IoM-URP', 'hashes', params.hashes, 1, 1 << 16);
    checkInt('IoM-URP', 'permutations', params.permutations, 1, 16);
    if (!Number.isInteger(params.window) || params.window < 2) throw new ProtectionInputError(`IoM-URP: window (k) must be a whole number ≥ 2 (an argmax over one value is always 0), got ${params.window}`);
    if (params.window > inputDim) throw new ProtectionInputError(`IoM-URP: a window of ${params.window} elements is longer than the ${inputDim}-d embedding (lower "window")`);
    this.outputDim = params.hashes;
    this.featureDim = params.hashes * params.window;
    this.label = `IoM-URP (${params.hashes} hashes, k = ${params.window}, p = ${params.permutations})`;
  }

  keyFromSeed(seed: number): IomUrpKey {
    const { hashes: m, permutations: p } = this.params;
    const s = new KeyStream(seed);
    const out = new Int32Array(m * p * this.inputDim);
    for (let r = 0; r < m * p; r++) out.set(s.permutation(this.inputDim), r * this.inputDim);
    return { permutations: out };
  }

  checkKey(key: IomUrpKey): void {
    const { hashes: m, permutations: p } = this.params;
    const d = this.inputDim;
    checkKeyLength('IoM-URP key permutations', key?.permutations, m * p * d, `${m} hashes × ${p} permutations × ${d} dimensions`);
    const P = key.permutations;
    for (let i = 0; i < P.length; i++) if (!(P[i] >= 0 && P[i] < d && Number.isInteger(P[i]))) throw new ProtectionInputError(`IoM-URP key permutations: value ${i} is ${P[i]}, not an index in [0, ${d})`);
  }

  /** [m, k] products of e. */
  products(e: ArrayLike<number>, key: IomUrpKey, out = new Float64Array(this.params.hashes * this.params.window)): Float64Array {
    const { hashes: m, window: k, permutations: p } = this.params;
    const d = this.inputDim, P = key.permutations;
    for (let j = 0; j < m; j++) {
      for (let c = 0; c < k; c++) {
        let v = 1;
        for (let l = 0; l < p; l++) v *= e[P[(j * p + l) * d + c]];
        out[j * k + c] = v;
      }
    }
    return out;
  }

  enrol(embedding: Float32Array, key: IomUrpKey): ProtectedTemplate {
    checkEmbedding('IoM-URP', embedding, this.inputDim);
    this.checkKey(key);
    const { hashes: m, window: k } = this.params;
    const s = this.products(embedding, key);
    const values = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (s[j * k + c] > s[j * k + best]) best = c;
      values[j] = best;
    }
    return { kind: 'indices', values, range: k };
  }

  compare(a: ProtectedTemplate, b: ProtectedTemplate): number {
    checkTemplate('IoM-URP', a, 'indices', this.outputDim, this.params.window, 'first template');
    checkTemplate('IoM-URP', b, 'indices', this.outputDim, this.params.window, 'second template');
    return indexSimilarity((a as { values: Int32Array }).values, (b as { values: Int32Array }).values);
  }

  features(t: ProtectedTemplate): Float32Array {
    checkTemplate('IoM-URP', t, 'indices', this.outputDim, this.params.window);
    return oneHot((t as { values: Int32Array }).values, this.params.window);
  }

  attack(t: ProtectedTemplate, key: IomUrpKey, mean: Float32Array): { start: Float64Array; loss: (e: Float64Array, g: Float64Array) => number } {
    checkTemplate('IoM-URP', t, 'indices', this.outputDim, this.params.window);
    this.checkKey(key);
    const idx = (t as { values: Int32Array }).values;
    const { hashes: m, window: k, permutations: p } = this.params;
    const d = this.inputDim, P = key.permutations;
    const s = new Float64Array(m * k);
    const loss = (e: Float64Array, g: Float64Array): number => {
      this.products(e, key, s);
      g.fill(0);
      let L = 0;
      for (let j = 0; j < m; j++) {
        let mean0 = 0, sq = 0;
        for (let c = 0; c < k; c++) { mean0 += s[j * k + c]; sq += s[j * k + c] ** 2; }
        mean0 /= k;
        const sd = Math.sqrt(Math.max(sq / k - mean0 * mean0, 0)) + 1e-12;
        const beta = 4 / sd;
        let mx = -Infinity;
        for (let c = 0; c < k; c++) mx = Math.max(mx, beta * s[j * k + c]);
        let z = 0;
        for (let c = 0; c < k; c++) z += Math.exp(beta * s[j * k + c] - mx);
        L += -(beta * s[j * k + idx[j]] - mx - Math.log(z));
        for (let c = 0; c < k; c++) {
          const prob = Math.exp(beta * s[j * k + c] - mx) / z;
          const w = beta * (prob - (c === idx[j] ? 1 : 0)) / m;
          if (Math.abs(w) < 1e-12) continue;
          // ∂(Π_l e[π_l(c)])/∂e[π_l(c)] = product of the others.
          for (let l = 0; l < p; l++) {
            let others = 1;
            for (let l2 = 0; l2 < p; l2++) if (l2 !== l) others *= e[P[(j * p + l2) * d + c]];
            g[P[(j * p + l) * d + c]] += w * others;
          }
        }
      }
      return L / m;
    };
    return { start: Float64Array.from(mean), loss };
  }
}
