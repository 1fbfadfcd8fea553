/**
 * A linear face model (eigenfaces: Turk & Pentland, "Eigenfaces for recognition", J. Cognitive Neuroscience
 * 1991; used as a black-box inversion prior by Razzhigaev et al., "Darker than black-box", 2021): the mean
 * of the attacker's own aligned training faces plus k principal components, built in seconds on the CPU.
 *
 *   x = mean + Σ_i (σ_i · u_i) · v_i      u ∈ [−clamp, clamp]^k (whitened latent),  x: [S, S, 3] on 0..255
 *
 * The components come from a randomized SVD (Halko, Martinsson & Tropp, SIAM Review 2011, Alg. 4.4 with one
 * power iteration, orthonormalised after every product; CholeskyQR2 for that) of the centred [n, S·S·3] face matrix, whose
 * products run on the tensor engine in chunks of rows so the matrix never exists in float32 at once.
 * Saved in the run folder: facemodel/pca.json (description) + facemodel/pca.bin (float32: mean [D],
 * σ [k], components [k, D]); `loadPcaFaceModel` checks them against each other.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AlignmentSpec } from '../../data/templates';
import { tf } from '../../tfjs/tf';
import { writeFileAtomic, writeJsonAtomic } from '../../runs/runFolder';
import { cholesky, invertUpper, symmetricEigen } from '../../math/linalg';
import { pcaGenerator, type OrtGenerator } from '../../ort/generators';
import type { FaceModel } from './types';
import { finishes, finishFaces, type DetailBank, type FinishOptions } from './detail';

export interface PcaDescription {
  format: 'faceinv-pca-face-model';
  version: 1;
  frame: AlignmentSpec;
  components: number;
  /** Values per face, S·S·3. */
  dim: number;
  /** Training faces the model was built from. */
  faces: number;
  /** Share of the training faces' pixel variance the components keep. */
  varianceKept: number;
  clamp: number;
  seed: number;
  seconds: number;
  createdAt: string;
}

export const PCA_FILES = { description: path.join('facemodel', 'pca.json'), weights: path.join('facemodel', 'pca.bin') } as const;

export class PcaFaceModel implements FaceModel {
  readonly kind = 'pca' as const;
  readonly latentDim: number;
  readonly latentScale = 1;
  private readonly comps: tf.Tensor2D;
  private readonly meanT: tf.Tensor1D;
  private readonly sigmaT: tf.Tensor1D;
  private disposed = false;
  private finish: { bank: DetailBank; options: FinishOptions } | null = null;

  constructor(readonly description: PcaDescription, readonly mean: Float32Array, readonly sigma: Float32Array, readonly components: Float32Array) {
    const { dim, components: k } = description;
    if (mean.length !== dim || sigma.length !== k || components.length !== k * dim) {
      throw new Error(`PCA face model: mean ${mean.length}, σ ${sigma.length}, components ${components.length} do not fit k=${k}, D=${dim}`);
    }
    this.latentDim = k;
    this.comps = tf.tensor2d(components, [k, dim]);
    this.meanT = tf.tensor1d(mean);
    this.sigmaT = tf.tensor1d(sigma);
  }

  get frame(): AlignmentSpec {
    return this.description.frame;
  }

  render(z: tf.Tensor2D): tf.Tensor4D {
    if (this.disposed) throw new Error('PCA face model used after dispose()');
    if (z.shape[1] !== this.latentDim) throw new Error(`PCA face model: latents have ${z.shape[1]} values, the model ${this.latentDim}`);
    const S = this.frame.size;
    const x = tf.add(tf.matMul(tf.mul(z, this.sigmaT), this.comps), this.meanT);
    return tf.clipByValue(tf.div(tf.reshape(x, [z.shape[0], S, S, 3]), 255), 0, 1) as tf.Tensor4D;
  }

  /** Whitened latents of [n, S, S, 3] uint8 faces (their projection onto the components). */
  async project(faces: Uint8Array, n: number): Promise<Float32Array> {
    const out = new Float32Array(n * this.latentDim);
    const D = this.description.dim;
    const chunk = 256;
    for (let s = 0; s < n; s += chunk) {
      const m = Math.min(chunk, n - s);
      const u = tf.tidy(() => tf.div(tf.matMul(tf.sub(tf.tensor2d(faces.subarray(s * D, (s + m) * D), [m, D], 'float32'), this.meanT), this.comps, false, true), this.sigmaT));
      out.set(await u.data() as Float32Array, s * this.latentDim);
      u.dispose();
    }
    return out;
  }

  /** From now on final faces borrow from `bank`, the attacker's faces in this model (./detail.ts); `options` that change nothing detach it. */
  useFinish(bank: DetailBank, options: FinishOptions | undefined): void {
    this.finish = finishes(options) ? { bank, options } : null;
  }

  async finishFaces(latents: Float32Array, n: number, faces: Uint8Array): Promise<void> {
    if (this.finish) await finishFaces(this, this.finish.bank, latents, n, faces, this.finish.options);
  }

  clampLatents(z: Float32Array): void {
    const c = this.description.clamp;
    for (let i = 0; i < z.length; i++) z[i] = z[i] > c ? c : z[i] < -c ? -c : z[i];
  }

  async ortGenerator(): Promise<OrtGenerator> {
    // The same x = (mean + (σ ⊙ u)·V) / 255 clipped to [0, 1], with σ/255 folded into the components.
    const { dim: D, components: k } = this.description;
    const comps = new Float32Array(k * D);
    for (let j = 0; j < k; j++) {
      const s = this.sigma[j] / 255;
      for (let d = 0; d < D; d++) comps[j * D + d] = this.components[j * D + d] * s;
    }
    return pcaGenerator({ mean: Float32Array.from(this.mean, (v) => v / 255), components: comps, k, size: this.frame.size, layout: 'nhwc', clip: true });
  }

  clampTensor(z: tf.Tensor2D): tf.Tensor2D {
    return tf.clipByValue(z, -this.description.clamp, this.description.clamp);
  }

  describe(): string {
    const d = this.description;
    const f = this.finish?.options;
    const finish = f ? `; final faces take ${[f.detail > 0 ? `the detail (strength ${f.detail})` : '', f.contrast ? 'the colour contrast' : ''].filter(Boolean).join(' and ')} of the ${f.neighbours} nearest attacker photos` : '';
    return `PCA face model, ${d.components} components of ${d.faces.toLocaleString('en-US')} training faces (${(100 * d.varianceKept).toFixed(1)} % of their variance; built in ${d.seconds.toFixed(0)} s, once per split), ${d.frame.template} ${d.frame.size} px${finish}`;
  }

  async save(runDir: string): Promise<void> {
    const buf = new Uint8Array((this.mean.length + this.sigma.length + this.components.length) * 4);
    const f = new Float32Array(buf.buffer);
    f.set(this.mean, 0);
    f.set(this.sigma, this.mean.length);
    f.set(this.components, this.mean.length + this.sigma.length);
    writeFileAtomic(path.join(runDir, PCA_FILES.weights), buf);
    writeJsonAtomic(path.join(runDir, PCA_FILES.description), this.description);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([this.comps, this.meanT, this.sigmaT]);
  }
}

/** The saved model of a run folder, or null when it has none. Throws naming the file when it is damaged. */
export function loadPcaFaceModel(runDir: string): PcaFaceModel | null {
  const descFile = path.join(runDir, PCA_FILES.description);
  const binFile = path.join(runDir, PCA_FILES.weights);
  if (!fs.existsSync(descFile) || !fs.existsSync(binFile)) return null;
  let d: PcaDescription;
  try {
    d = JSON.parse(fs.readFileSync(descFile, 'utf8')) as PcaDescription;
  } catch (err) {
    throw new Error(`${descFile} is not valid JSON (${(err as Error).message}); delete the facemodel folder to rebuild it`);
  }
  if (d.format !== 'faceinv-pca-face-model' || d.version !== 1 || !(d.components > 0) || !(d.dim > 0)) {
    throw new Error(`${descFile} is not a PCA face model description; delete the facemodel folder to rebuild it`);
  }
  const b = fs.readFileSync(binFile);
  const want = (d.dim + d.components + d.components * d.dim) * 4;
  if (b.byteLength !== want) throw new Error(`${binFile} has ${b.byteLength} bytes, ${want} expected for ${d.components} components of ${d.dim} values; delete the facemodel folder to rebuild it`);
  const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return new PcaFaceModel(d, all.subarray(0, d.dim), all.subarray(d.dim, d.dim + d.components), all.subarray(d.dim + d.components));
}

export interface BuildPcaOptions {
  components: number;
  clamp: number;
  seed?: number;
  /** Oversampling of the randomized SVD (default 32). */
  oversample?: number;
  /** Power iterations (default 1). */
  powerIterations?: number;
  log?: (m: string) => void;
  signal?: AbortSignal;
}

/** Modified Gram–Schmidt in float64 on the host: slower, but defined for rank-deficient Y (small data). */
async function gramSchmidt(Y: tf.Tensor2D): Promise<tf.Tensor2D> {
  const [n, l] = Y.shape;
  const a = Float64Array.from(await Y.data());
  for (let j = 0; j < l; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let r = 0; r < n; r++) d += a[r * l + i] * a[r * l + j];
        for (let r = 0; r < n; r++) a[r * l + j] -= d * a[r * l + i];
      }
    }
    let s = 0;
    for (let r = 0; r < n; r++) s += a[r * l + j] * a[r * l + j];
    const inv = s > 1e-20 ? 1 / Math.sqrt(s) : 0;
    for (let r = 0; r < n; r++) a[r * l + j] *= inv;
  }
  return tf.tensor2d(Float32Array.from(a), [n, l]);
}

/** Q with orthonormal columns spanning those of Y [n, l]: CholeskyQR applied twice (Gram–Schmidt if Y is rank-deficient). */
async function orthonormalise(Y: tf.Tensor2D): Promise<tf.Tensor2D> {
  let Q = Y;
  for (let pass = 0; pass < 2; pass++) {
    const l = Q.shape[1];
    const G = tf.matMul(Q, Q, true, false);
    const g = Float64Array.from(await G.data());
    G.dispose();
    // A small shift keeps float32 rounding from breaking the factorisation of a well-conditioned Gram matrix.
    let tr = 0;
    for (let i = 0; i < l; i++) tr += g[i * l + i];
    for (let i = 0; i < l; i++) g[i * l + i] += 1e-7 * tr / l;
    let L: Float64Array;
    try {
      L = cholesky(g, l, 'randomized SVD (CholeskyQR)');
    } catch {
      const q = await gramSchmidt(Q);
      if (Q !== Y) Q.dispose();
      return q;
    }
    const U = new Float64Array(l * l);
    for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) U[i * l + j] = L[j * l + i];
    const Ui = tf.tensor2d(Float32Array.from(invertUpper(U, l)), [l, l]);
    const next = tf.matMul(Q, Ui) as tf.Tensor2D;
    Ui.dispose();
    if (Q !== Y || pass > 0) Q.dispose();
    Q = next;
  }
  return Q;
}

/** Builds the model from [n, S, S, 3] uint8 faces in `frame`. */
export async function buildPcaFaceModel(faces: Uint8Array, n: number, frame: AlignmentSpec, o: BuildPcaOptions): Promise<PcaFaceModel> {
  const t0 = Date.now();
  const D = frame.size * frame.size * 3;
  if (faces.length !== n * D) throw new Error(`PCA face model: ${faces.length} values are not ${n} faces of ${frame.size}×${frame.size}×3`);
  const k = o.components;
  if (n < k + 1) throw new Error(`PCA face model: ${k} components need more than ${k} training faces, the attacker has ${n}; lower faceModel.components to at most ${n - 1}`);
  // Centred data has rank ≤ n − 1: more sample directions than that are noise.
  const l = Math.min(n - 1, k + (o.oversample ?? 32));
  const log = o.log ?? (() => undefined);
  const mean = new Float64Array(D);
  const sq = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let d = 0; d < D; d++) { const v = faces[i * D + d]; mean[d] += v; sq[d] += v * v; }
  let total = 0;
  for (let d = 0; d < D; d++) { mean[d] /= n; total += sq[d] - n * mean[d] * mean[d]; }
  const meanT = tf.tensor1d(Float32Array.from(mean));
  const CH = 1024;
  const chunk = (s: number): tf.Tensor2D => tf.tidy(() => tf.sub(tf.tensor2d(faces.subarray(s * D, Math.min(n, s + CH) * D), [Math.min(CH, n - s), D], 'float32'), meanT));
  const check = () => { if (o.signal?.aborted) throw new Error('cancelled'); };
  /** X·M for M [D, l]: [n, l]. */
  const times = async (M: tf.Tensor2D): Promise<tf.Tensor2D> => {
    const parts: tf.Tensor2D[] = [];
    for (let s = 0; s < n; s += CH) {
      check();
      const c = chunk(s);
      parts.push(tf.matMul(c, M));
      c.dispose();
      await tf.nextFrame?.();
    }
    const y = tf.concat(parts, 0) as tf.Tensor2D;
    tf.dispose(parts);
    return y;
  };
  /** Xᵀ·Q for Q [n, l]: [D, l]. */
  const timesT = async (Q: tf.Tensor2D): Promise<tf.Tensor2D> => {
    let acc: tf.Tensor2D = tf.zeros([D, Q.shape[1]]);
    for (let s = 0; s < n; s += CH) {
      check();
      const c = chunk(s);
      const q = tf.slice(Q, [s, 0], [c.shape[0], Q.shape[1]]);
      const next = tf.tidy(() => tf.add(acc, tf.matMul(c, q, true, false))) as tf.Tensor2D;
      tf.dispose([c, q, acc]);
      acc = next;
    }
    return acc;
  };
  try {
    // TF.js takes a seed of 0 for none (Math.random): seed + 1, so the same seed builds the same model.
    const omega = tf.randomNormal([D, l], 0, 1, 'float32', (o.seed ?? 0) + 1) as tf.Tensor2D;
    let Y = await times(omega);
    omega.dispose();
    let Q = await orthonormalise(Y);
    Y.dispose();
    for (let it = 0; it < (o.powerIterations ?? 1); it++) {
      const Zr = await timesT(Q);
      Q.dispose();
      const Z = await orthonormalise(Zr);
      Zr.dispose();
      Y = await times(Z);
      Z.dispose();
      Q = await orthonormalise(Y);
      Y.dispose();
    }
    const Bt = await timesT(Q); // [D, l] = Xᵀ Q, i.e. B = Qᵀ X
    Q.dispose();
    const BBt = tf.matMul(Bt, Bt, true, false);
    const { values, vectors } = symmetricEigen(Float64Array.from(await BBt.data()), l);
    BBt.dispose();
    const Ub = new Float32Array(l * k);
    for (let j = 0; j < k; j++) {
      const s = Math.sqrt(Math.max(values[j], 1e-12));
      for (let r = 0; r < l; r++) Ub[r * k + j] = vectors[r * l + j] / s;
    }
    const UbT = tf.tensor2d(Ub, [l, k]);
    const Vt = tf.tidy(() => tf.transpose(tf.matMul(Bt, UbT))); // [k, D], orthonormal rows
    const components = Float32Array.from(await Vt.data());
    tf.dispose([Vt, UbT, Bt]);
    const sigma = Float32Array.from({ length: k }, (_, j) => Math.sqrt(Math.max(values[j], 0) / n));
    let kept = 0;
    for (let j = 0; j < k; j++) kept += Math.max(values[j], 0);
    const seconds = (Date.now() - t0) / 1000;
    const description: PcaDescription = {
      format: 'faceinv-pca-face-model', version: 1, frame, components: k, dim: D, faces: n,
      varianceKept: total > 0 ? kept / total : 0, clamp: o.clamp, seed: o.seed ?? 0, seconds, createdAt: new Date().toISOString(),
    };
    log(`PCA face model: ${k} components of ${n} faces in ${seconds.toFixed(1)} s (${(100 * description.varianceKept).toFixed(1)} % of the variance)`);
    return new PcaFaceModel(description, Float32Array.from(mean), sigma, components);
  } finally {
    meanT.dispose();
  }
}
