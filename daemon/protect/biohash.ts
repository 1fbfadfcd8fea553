/**
 * BioHashing — Teoh, Ngo & Goh, "BioHashing: two factor authentication featuring fingerprint data and
 * tokenised random numbers", Pattern Recognition 37(11), 2004.
 *
 * Key: m pseudo-random vectors from the subject's token (uniform in [0, 1), as in the paper), made
 * orthonormal by Gram–Schmidt → W, [m, d] with W Wᵀ = I (so m ≤ d). Protected template: m bits
 * b_i = [⟨w_i, e⟩ > τ] with τ = 0 for the project's L2-normalised (zero-centred) embeddings. Comparator:
 * Hamming similarity 1 − HD/m.
 *
 * Stolen-key inversion: W is known and linear, so the bits fix the sign of each projection z = W e. The
 * least-squares embedding with z_i = s_i · c (c the expected |z_i| of a unit vector, √(2/π)/√d) in the row
 * space of W and the attacker's mean embedding in its null space, e = Wᵀ z + (I − WᵀW) μ, satisfies every
 * bit by construction; the loss (squared hinge on the signs) is there for the optimiser to keep them.
 */
import { KeyStream } from './keys';
import { bitTemplateFeatures, checkEmbedding, checkInt, checkKeyLength, checkTemplate, compareBits, ProtectionInputError, type ProtectedTemplate, type ProtectionScheme } from './types';

export const BIOHASH_PAPER = 'Teoh, Ngo & Goh, "BioHashing: two factor authentication featuring fingerprint data and tokenised random numbers", Pattern Recognition 37(11), 2004';

export interface BioHashParams { bits: number }
/** [m, d] row-major, orthonormal rows. */
export interface BioHashKey { readonly matrix: Float32Array }

export class BioHash implements ProtectionScheme<BioHashKey> {
  readonly id = 'biohash';
  readonly paper = BIOHASH_PAPER;
  readonly output = 'bits' as const;
  readonly outputDim: number;
  readonly featureDim: number;
  readonly label: string;
  constructor(readonly inputDim: number, readonly params: BioHashParams) {
    checkInt('BioHashing', 'embedding dimension', inputDim, 1, 1 << 20);
    if (!Number.isInteger(params.bits) || params.bits < 1) throw new ProtectionInputError(`BioHashing: bits must be a whole number ≥ 1, got ${params.bits}`);
    if (params.bits > inputDim) throw new ProtectionInputError(`BioHashing: ${params.bits} bits need ${params.bits} orthonormal projections, a ${inputDim}-d embedding supports at most ${inputDim} (lower "bits")`);
    this.outputDim = params.bits;
    this.featureDim = params.bits;
    this.label = `BioHashing (${params.bits} bits)`;
  }

  keyFromSeed(seed: number): BioHashKey {
    const m = this.outputDim, d = this.inputDim;
    const s = new KeyStream(seed);
    const W = new Float64Array(m * d);
    for (let i = 0; i < W.length; i++) W[i] = s.uniform();
    // Modified Gram–Schmidt, row by row.
    for (let i = 0; i < m; i++) {
      const oi = i * d;
      for (let j = 0; j < i; j++) {
        const oj = j * d;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += W[oi + k] * W[oj + k];
        for (let k = 0; k < d; k++) W[oi + k] -= dot * W[oj + k];
      }
      let n = 0;
      for (let k = 0; k < d; k++) n += W[oi + k] * W[oi + k];
      n = Math.sqrt(n);
      if (!(n > 1e-9)) throw new ProtectionInputError(`BioHashing: token vector ${i} is dependent on the previous ones (seed ${seed})`);
      for (let k = 0; k < d; k++) W[oi + k] /= n;
    }
    return { matrix: Float32Array.from(W) };
  }

  checkKey(key: BioHashKey): void {
    checkKeyLength('BioHashing key matrix', key?.matrix, this.outputDim * this.inputDim, `${this.outputDim} bits × ${this.inputDim} dimensions`);
  }

  project(e: Float32Array | Float64Array, key: BioHashKey, out = new Float64Array(this.outputDim)): Float64Array {
    const d = this.inputDim, W = key.matrix;
    for (let i = 0; i < this.outputDim; i++) {
      let s = 0;
      const o = i * d;
      for (let k = 0; k < d; k++) s += W[o + k] * e[k];
      out[i] = s;
    }
    return out;
  }

  enrol(embedding: Float32Array, key: BioHashKey): ProtectedTemplate {
    checkEmbedding('BioHashing', embedding, this.inputDim);
    this.checkKey(key);
    const z = this.project(embedding, key);
    return { kind: 'bits', bits: Uint8Array.from(z, (v) => (v > 0 ? 1 : 0)) };
  }

  compare(a: ProtectedTemplate, b: ProtectedTemplate): number {
    return compareBits('BioHashing', a, b, this.outputDim);
  }

  features(t: ProtectedTemplate): Float32Array {
    return bitTemplateFeatures('BioHashing', t, this.outputDim);
  }

  attack(t: ProtectedTemplate, key: BioHashKey, mean: Float32Array): { start: Float64Array; loss: (e: Float64Array, g: Float64Array) => number } {
    checkTemplate('BioHashing', t, 'bits', this.outputDim);
    this.checkKey(key);
    const bits = (t as { bits: Uint8Array }).bits;
    const m = this.outputDim, d = this.inputDim, W = key.matrix;
    const c = Math.sqrt(2 / Math.PI) / Math.sqrt(d);
    // e = μ − Wᵀ(W μ) + Wᵀ z*
    const zMu = this.project(mean, key);
    const start = Float64Array.from(mean);
    for (let i = 0; i < m; i++) {
      const coef = (bits[i] ? c : -c) - zMu[i];
      const o = i * d;
      for (let k = 0; k < d; k++) start[k] += coef * W[o + k];
    }
    const margin = c / 2;
    const z = new Float64Array(m);
    const loss = (e: Float64Array, g: Float64Array): number => {
      this.project(e, key, z);
      g.fill(0);
      let L = 0;
      for (let i = 0; i < m; i++) {
        const s = bits[i] ? 1 : -1;
        const h = margin - s * z[i];
        if (h <= 0) continue;
        L += h * h;
        const o = i * d;
        for (let k = 0; k < d; k++) g[k] += -2 * h * s * W[o + k];
      }
      return L / (margin * margin * m);
    };
    return { start, loss: (e, g) => { const L = loss(e, g); const s = 1 / (margin * margin * m); for (let k = 0; k < d; k++) g[k] *= s; return L; } };
  }
}
