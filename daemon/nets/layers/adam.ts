/**
 * Adam (Kingma & Ba 2015), the one update every optimiser here uses (decoder training on TF.js or ONNX Runtime,
 * the white-box latent search, the black-box zeroth-order search):
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  θ ← θ − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
 * computed as θ ← θ − α_t·m / (√v + ε̂_t) with α_t = lr·√(1−β2^t)/(1−β1^t) and ε̂_t = ε·√(1−β2^t) (`adamScalars`).
 * Two forms: `Adam` over TF.js variables, with its state (m, v, step) exposed so a model file can save and
 * restore it exactly; `adamUpdate` on host arrays, m and v rounded to float32 after each update as the TF.js
 * form stores them. A host gradient may come in another element order than θ (`gather[i]` = index of θ's
 * element i in g), so a graph can hand over a weight gradient before its final transpose at no extra cost.
 */
import { tf } from '../../tfjs/tf';

export type AdamOptions = AdamConstants;

export class Adam {
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];
  /** Number of updates applied so far (t in the formula). */
  step = 0;

  constructor(readonly params: tf.Variable[], readonly opts: AdamOptions) {
    if (!(opts.learningRate > 0)) throw new Error(`Adam: learningRate must be > 0, got ${opts.learningRate}`);
    for (const [k, b] of [['beta1', opts.beta1], ['beta2', opts.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam: ${k} must be in [0, 1), got ${b}`);
    }
    // tidy disposes the zerosLike initial values; variables survive tidy.
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false, `${p.name}/adam_m`)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false, `${p.name}/adam_v`)));
  }

  /** Applies one update; `grads[i]` belongs to `params[i]` (not disposed here). */
  apply(grads: tf.Tensor[]): void {
    if (grads.length !== this.params.length) throw new Error(`Adam.apply: ${grads.length} gradients for ${this.params.length} variables`);
    this.step += 1;
    const { beta1: b1, beta2: b2 } = this.opts;
    const t = this.step;
    const { stepSize, epsHat } = adamScalars(this.opts, t);
    tf.tidy(() => {
      grads.forEach((g, i) => {
        const m = tf.add(tf.mul(this.m[i], b1), tf.mul(g, 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        this.params[i].assign(tf.sub(this.params[i], tf.mul(tf.div(m, tf.add(tf.sqrt(v), epsHat)), stepSize)));
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
  }
}

export interface AdamConstants { learningRate: number; beta1: number; beta2: number; epsilon: number }

/** Kingma & Ba's defaults, used by every Adam here unless a caller says otherwise. */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/** The constants of a decoder's Adam: its options' learning rate and betas over the defaults. */
export function adamConstantsOf(o: { learningRate: number; beta1?: number; beta2?: number }): AdamConstants {
  return { learningRate: o.learningRate, beta1: o.beta1 ?? ADAM_DEFAULTS.beta1, beta2: o.beta2 ?? ADAM_DEFAULTS.beta2, epsilon: ADAM_DEFAULTS.epsilon };
}

/** Step size and ε̂ of update number `t` (1-based). */
export function adamScalars(c: AdamConstants, t: number): { stepSize: number; epsHat: number } {
  const c2 = Math.sqrt(1 - Math.pow(c.beta2, t));
  return { stepSize: (c.learningRate * c2) / (1 - Math.pow(c.beta1, t)), epsHat: c.epsilon * c2 };
}

/** One in-place update of θ, m, v from g (same length), update number t. */
export function adamUpdate(theta: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, c: AdamConstants, t: number, gather?: Int32Array): void {
  const n = theta.length;
  if (m.length !== n || v.length !== n || g.length !== n || (gather && gather.length !== n)) {
    throw new Error(`adamUpdate: θ has ${n} values, m ${m.length}, v ${v.length}, g ${g.length}${gather ? `, gather ${gather.length}` : ''}`);
  }
  const { stepSize, epsHat } = adamScalars(c, t);
  const b1 = c.beta1; const b2 = c.beta2; const c1 = 1 - b1; const c2 = 1 - b2;
  if (gather) {
    for (let i = 0; i < n; i++) {
      const gi = g[gather[i]];
      const mi = Math.fround(b1 * m[i] + c1 * gi);
      const vi = Math.fround(b2 * v[i] + c2 * gi * gi);
      m[i] = mi; v[i] = vi;
      theta[i] -= (stepSize * mi) / (Math.sqrt(vi) + epsHat);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const gi = g[i];
      const mi = Math.fround(b1 * m[i] + c1 * gi);
      const vi = Math.fround(b2 * v[i] + c2 * gi * gi);
      m[i] = mi; v[i] = vi;
      theta[i] -= (stepSize * mi) / (Math.sqrt(vi) + epsHat);
    }
  }
}

/**
 * Gather map for θ = reshape(transpose(G, perm)) with G of shape `shape`: out[i] = flat index in G of θ's
 * element i.
 */
export function transposeGather(shape: number[], perm: number[]): Int32Array {
  const r = shape.length;
  const stride = new Array<number>(r);
  let s = 1;
  for (let k = r - 1; k >= 0; k--) { stride[k] = s; s *= shape[k]; }
  const tShape = perm.map((p) => shape[p]);
  const tStride = perm.map((p) => stride[p]);
  const out = new Int32Array(s);
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let i = 0; i < s; i++) {
    out[i] = off;
    for (let k = r - 1; k >= 0; k--) {
      idx[k]++;
      off += tStride[k];
      if (idx[k] < tShape[k]) break;
      off -= tStride[k] * tShape[k];
      idx[k] = 0;
    }
  }
  return out;
}
