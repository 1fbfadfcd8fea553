/**
 * Adam (Kingma & Ba 2015) over a fixed list of variables, with its state (m, v, step) exposed so a model
 * file can save and restore it exactly:
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  θ ← θ − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε)
 */
import { tf } from '../../engine/tf';

export interface AdamOptions { learningRate: number; beta1: number; beta2: number; epsilon: number }

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
    const { learningRate: lr, beta1: b1, beta2: b2, epsilon } = this.opts;
    const t = this.step;
    // lr·√(1−β2^t)/(1−β1^t) and ε·√(1−β2^t): the same update with the bias corrections folded into scalars.
    const c2 = Math.sqrt(1 - Math.pow(b2, t));
    const stepSize = (lr * c2) / (1 - Math.pow(b1, t));
    const epsHat = epsilon * c2;
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
