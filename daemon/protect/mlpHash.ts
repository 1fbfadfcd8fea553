/**
 * MLP-Hash — Otroshi Shahreza, Krivokuća Hahn & Marcel, "MLP-Hash: protecting face templates via hashing of
 * randomized multi-layer perceptron", EUSIPCO 2023 (arXiv 2204.11054).
 *
 * Key: the weights of a user-specific random MLP (Gaussian, variance 1/fan-in), d → hidden… → bits, with ReLU
 * between layers. Protected template: the MLP's output binarised at 0 (the paper binarises the MLP output;
 * the choice of ReLU hidden layers and a zero threshold is this implementation's). Comparator: Hamming
 * similarity.
 *
 * Stolen-key inversion: the MLP is known, so the attack optimises through it with the sign relaxed to a
 * sigmoid (maximise Σ log σ(β s_i y_i(e)), s_i = ±1 the stored bits), from the attacker's mean embedding on
 * the unit sphere.
 */
import { KeyStream } from './keys';
import { bitTemplateFeatures, checkEmbedding, checkInt, checkKeyLength, checkTemplate, compareBits, logSigmoid, ProtectionInputError, type ProtectedTemplate, type ProtectionScheme } from './types';

export const MLPHASH_PAPER = 'Otroshi Shahreza, Krivokuća Hahn & Marcel, "MLP-Hash: protecting face templates via hashing of randomized multi-layer perceptron", EUSIPCO 2023 (arXiv 2204.11054)';

export interface MlpHashParams { hidden: number[]; bits: number }
/** One [out, in] row-major matrix per layer. */
export interface MlpHashKey { readonly layers: Float32Array[] }

export class MlpHash implements ProtectionScheme<MlpHashKey> {
  readonly id = 'mlphash';
  readonly paper = MLPHASH_PAPER;
  readonly output = 'bits' as const;
  readonly outputDim: number;
  readonly featureDim: number;
  readonly label: string;
  readonly sizes: number[];
  constructor(readonly inputDim: number, readonly params: MlpHashParams) {
    checkInt('MLP-Hash', 'embedding dimension', inputDim, 1, 1 << 20);
    if (!Array.isArray(params.hidden) || params.hidden.length < 1) throw new ProtectionInputError('MLP-Hash: give at least one hidden layer width (e.g. "hidden": [512])');
    params.hidden.forEach((h, i) => checkInt('MLP-Hash', `hidden[${i}]`, h, 1, 1 << 14));
    checkInt('MLP-Hash', 'bits', params.bits, 1, 1 << 14);
    const last = params.hidden[params.hidden.length - 1];
    if (params.bits > last) throw new ProtectionInputError(`MLP-Hash: ${params.bits} bits from a ${last}-wide last hidden layer: bits beyond ${last} are signs of linear combinations of the others (lower "bits" or widen the layer)`);
    this.sizes = [inputDim, ...params.hidden, params.bits];
    this.outputDim = params.bits;
    this.featureDim = params.bits;
    this.label = `MLP-Hash (${params.hidden.join('-')} → ${params.bits} bits)`;
  }

  keyFromSeed(seed: number): MlpHashKey {
    const s = new KeyStream(seed);
    const layers: Float32Array[] = [];
    for (let l = 0; l + 1 < this.sizes.length; l++) layers.push(s.normals(this.sizes[l + 1] * this.sizes[l], 1 / Math.sqrt(this.sizes[l])));
    return { layers };
  }

  checkKey(key: MlpHashKey): void {
    const n = this.sizes.length - 1;
    if (!key || !Array.isArray(key.layers) || key.layers.length !== n) throw new ProtectionInputError(`MLP-Hash key: ${key?.layers?.length ?? 0} weight matrices, expected ${n} (${this.sizes.join(' → ')})`);
    key.layers.forEach((w, l) => checkKeyLength(`MLP-Hash key layer ${l}`, w, this.sizes[l + 1] * this.sizes[l], `${this.sizes[l + 1]} × ${this.sizes[l]}`));
  }

  /** Activations of every layer (input first, pre-binarisation output last). */
  forward(e: ArrayLike<number>, key: MlpHashKey): Float64Array[] {
    const acts: Float64Array[] = [Float64Array.from(e)];
    for (let l = 0; l < key.layers.length; l++) {
      const W = key.layers[l], n = this.sizes[l], out = this.sizes[l + 1], x = acts[l];
      const y = new Float64Array(out);
      const last = l === key.layers.length - 1;
      for (let r = 0; r < out; r++) {
        let s = 0;
        const o = r * n;
        for (let k = 0; k < n; k++) s += W[o + k] * x[k];
        y[r] = last ? s : Math.max(0, s);
      }
      acts.push(y);
    }
    return acts;
  }

  enrol(embedding: Float32Array, key: MlpHashKey): ProtectedTemplate {
    checkEmbedding('MLP-Hash', embedding, this.inputDim);
    this.checkKey(key);
    const y = this.forward(embedding, key).pop() as Float64Array;
    return { kind: 'bits', bits: Uint8Array.from(y, (v) => (v > 0 ? 1 : 0)) };
  }

  compare(a: ProtectedTemplate, b: ProtectedTemplate): number {
    return compareBits('MLP-Hash', a, b, this.outputDim);
  }

  features(t: ProtectedTemplate): Float32Array {
    return bitTemplateFeatures('MLP-Hash', t, this.outputDim);
  }

  attack(t: ProtectedTemplate, key: MlpHashKey, mean: Float32Array): { start: Float64Array; loss: (e: Float64Array, g: Float64Array) => number } {
    checkTemplate('MLP-Hash', t, 'bits', this.outputDim);
    this.checkKey(key);
    const bits = (t as { bits: Uint8Array }).bits;
    const L = key.layers.length;
    const loss = (e: Float64Array, g: Float64Array): number => {
      const acts = this.forward(e, key);
      const y = acts[L];
      // Output scale: β makes the relaxed sign sharp relative to the outputs' spread.
      let sq = 0;
      for (let i = 0; i < y.length; i++) sq += y[i] * y[i];
      const beta = 4 / (Math.sqrt(sq / y.length) + 1e-12);
      let delta = new Float64Array(y.length);
      let value = 0;
      for (let i = 0; i < y.length; i++) {
        const s = bits[i] ? 1 : -1;
        const ls = logSigmoid(beta * s * y[i]);
        value -= ls.value;
        delta[i] = (-ls.grad * beta * s) / y.length;
      }
      for (let l = L - 1; l >= 0; l--) {
        const W = key.layers[l], n = this.sizes[l], out = this.sizes[l + 1];
        const prev = new Float64Array(n);
        for (let r = 0; r < out; r++) {
          const dr = delta[r];
          if (dr === 0) continue;
          const o = r * n;
          for (let k = 0; k < n; k++) prev[k] += dr * W[o + k];
        }
        if (l > 0) { const a = acts[l]; for (let k = 0; k < n; k++) if (a[k] <= 0) prev[k] = 0; }
        delta = prev;
      }
      g.set(delta);
      return value / y.length;
    };
    return { start: Float64Array.from(mean), loss };
  }
}
