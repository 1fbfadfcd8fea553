/**
 * PolyProtect — Krivokuća Hahn & Marcel, "Towards protecting face embeddings in mobile face verification
 * scenarios", IEEE T-BIOM 4(1), 2022 (arXiv 2110.00434).
 *
 * Key: m distinct non-zero integer coefficients C in [−R, R] and the exponents E, a permutation of 1..m.
 * Protected template: the embedding (zero-padded so the windows fit) is read in windows of m consecutive
 * elements, successive windows overlapping by o; each window v gives one value Σ_i C_i · v_i^E_i. Output
 * length ⌊(d + pad − m)/(m − o)⌋ + 1. Comparator: cosine similarity of the protected vectors.
 *
 * Stolen-key inversion: nonlinear least squares, min ‖P(e) − t‖² / ‖t‖² on the unit sphere (embeddings are
 * L2-normalised), from the attacker's mean embedding; the gradient is the polynomial's Jacobian.
 */
import { KeyStream } from './keys';
import { checkEmbedding, checkInt, checkKeyLength, checkTemplate, ProtectionInputError, type ProtectedTemplate, type ProtectionScheme } from './types';

export const POLYPROTECT_PAPER = 'Krivokuća Hahn & Marcel, "Towards protecting face embeddings in mobile face verification scenarios", IEEE T-BIOM 4(1), 2022';

export interface PolyProtectParams { order: number; overlap: number; coefficientRange: number }
export interface PolyProtectKey { readonly coefficients: Float32Array; readonly exponents: Int32Array }

export class PolyProtect implements ProtectionScheme<PolyProtectKey> {
  readonly id = 'polyprotect';
  readonly paper = POLYPROTECT_PAPER;
  readonly output = 'floats' as const;
  readonly outputDim: number;
  readonly featureDim: number;
  readonly label: string;
  readonly step: number;
  readonly padded: number;
  constructor(readonly inputDim: number, readonly params: PolyProtectParams) {
    checkInt('PolyProtect', 'embedding dimension', inputDim, 1, 1 << 20);
    const { order: m, overlap: o, coefficientRange: R } = params;
    checkInt('PolyProtect', 'order (m)', m, 1, 32);
    if (m > inputDim) throw new ProtectionInputError(`PolyProtect: windows of ${m} elements are longer than the ${inputDim}-d embedding`);
    if (!Number.isInteger(o) || o < 0 || o >= m) throw new ProtectionInputError(`PolyProtect: overlap must be a whole number in [0, ${m - 1}] for order ${m} (an overlap of ${m} or more never moves the window), got ${o}`);
    if (!Number.isInteger(R) || 2 * R < m) throw new ProtectionInputError(`PolyProtect: ${m} distinct non-zero coefficients need a coefficientRange of at least ${Math.ceil(m / 2)}, got ${R}`);
    this.step = m - o;
    const rest = (inputDim - m) % this.step;
    this.padded = inputDim + (rest === 0 ? 0 : this.step - rest);
    this.outputDim = (this.padded - m) / this.step + 1;
    this.featureDim = this.outputDim;
    this.label = `PolyProtect (m = ${m}, overlap ${o})`;
  }

  keyFromSeed(seed: number): PolyProtectKey {
    const { order: m, coefficientRange: R } = this.params;
    const s = new KeyStream(seed);
    const range = s.permutation(2 * R);
    const coefficients = new Float32Array(m);
    for (let i = 0; i < m; i++) { const v = range[i] - R; coefficients[i] = v >= 0 ? v + 1 : v; }
    const perm = s.permutation(m);
    return { coefficients, exponents: Int32Array.from(perm, (v) => v + 1) };
  }

  checkKey(key: PolyProtectKey): void {
    const m = this.params.order;
    checkKeyLength('PolyProtect key coefficients', key?.coefficients, m, `order ${m}`);
    checkKeyLength('PolyProtect key exponents', key?.exponents, m, `order ${m}`);
    const seen = new Set<number>();
    for (let i = 0; i < m; i++) {
      const e = key.exponents[i];
      if (!Number.isInteger(e) || e < 1 || e > m || seen.has(e)) throw new ProtectionInputError(`PolyProtect key exponents: must be a permutation of 1..${m}, got [${Array.from(key.exponents).join(', ')}]`);
      seen.add(e);
      if (key.coefficients[i] === 0) throw new ProtectionInputError(`PolyProtect key coefficients: coefficient ${i} is 0 (the paper's coefficients are non-zero)`);
    }
  }

  forward(e: ArrayLike<number>, key: PolyProtectKey, out = new Float64Array(this.outputDim)): Float64Array {
    const { order: m } = this.params;
    const C = key.coefficients, E = key.exponents, d = this.inputDim;
    for (let w = 0; w < this.outputDim; w++) {
      let s = 0;
      const o = w * this.step;
      for (let i = 0; i < m; i++) { const x = o + i < d ? e[o + i] : 0; s += C[i] * x ** E[i]; }
      out[w] = s;
    }
    return out;
  }

  enrol(embedding: Float32Array, key: PolyProtectKey): ProtectedTemplate {
    checkEmbedding('PolyProtect', embedding, this.inputDim);
    this.checkKey(key);
    return { kind: 'floats', values: Float32Array.from(this.forward(embedding, key)) };
  }

  compare(a: ProtectedTemplate, b: ProtectedTemplate): number {
    checkTemplate('PolyProtect', a, 'floats', this.outputDim, undefined, 'first template');
    checkTemplate('PolyProtect', b, 'floats', this.outputDim, undefined, 'second template');
    const x = (a as { values: Float32Array }).values, y = (b as { values: Float32Array }).values;
    let xy = 0, xx = 0, yy = 0;
    for (let i = 0; i < x.length; i++) { xy += x[i] * y[i]; xx += x[i] * x[i]; yy += y[i] * y[i]; }
    return xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : 0;
  }

  features(t: ProtectedTemplate): Float32Array {
    checkTemplate('PolyProtect', t, 'floats', this.outputDim);
    return (t as { values: Float32Array }).values;
  }

  attack(t: ProtectedTemplate, key: PolyProtectKey, mean: Float32Array): { start: Float64Array; loss: (e: Float64Array, g: Float64Array) => number } {
    checkTemplate('PolyProtect', t, 'floats', this.outputDim);
    this.checkKey(key);
    const target = (t as { values: Float32Array }).values;
    const { order: m } = this.params;
    const C = key.coefficients, E = key.exponents, d = this.inputDim;
    let tt = 0;
    for (let i = 0; i < target.length; i++) tt += target[i] * target[i];
    const norm = tt > 0 ? tt : 1;
    const p = new Float64Array(this.outputDim);
    const loss = (e: Float64Array, g: Float64Array): number => {
      this.forward(e, key, p);
      g.fill(0);
      let L = 0;
      for (let w = 0; w < this.outputDim; w++) {
        const r = p[w] - target[w];
        L += r * r;
        const o = w * this.step;
        for (let i = 0; i < m; i++) {
          if (o + i >= d) continue;
          const x = e[o + i];
          g[o + i] += (2 * r * C[i] * E[i] * (E[i] > 1 ? x ** (E[i] - 1) : 1)) / norm;
        }
      }
      return L / norm;
    };
    return { start: Float64Array.from(mean), loss };
  }
}
