/**
 * White-box inversion by latent search: optimise latent vectors z so that E(crop(G(z))) matches the
 * target embeddings, back-propagating through the encoder E and the generator G to z (the "optimisation-based"
 * attack family of e.g. Zhmoginov & Sandler, "Inverting face embeddings with convolutional neural networks",
 * 2016, and Vendrow & Vendrow, "Realistic face reconstruction from deep embeddings", 2021).
 *
 *   loss_i = 1 − cos(E(crop(G(z_i))), t_i) + priorWeight · ‖z_i‖²,   Adam on all targets as one batch.
 *
 * Targets are independent rows of one batch: a target whose loss turns NaN/∞ is frozen at its best z and
 * reported as diverged; the others continue unaffected (Adam's update is masked per row, so no NaN can leak).
 * The default generator is the black-box decoder, whose input space is the embedding space: `init: 'estimate'`
 * with `estimate = targets` starts from the decoder's own answer.
 */
import { tf } from '../tfjs/tf';
import { matMulConstLeft } from '../onnx/ops/matmulGrad';
import { ADAM_DEFAULTS, adamScalars, adamUpdate } from './layers/adam';

export interface LatentSearchOptions {
  /** Adam steps (default 200 in callers' config). */
  steps: number;
  learningRate: number;
  init: 'normal' | 'zeros' | 'estimate';
  /** Weight of the ‖z‖² prior (0 = none). */
  priorWeight: number;
  /** Seed of the 'normal' initialisation. */
  seed?: number;
  /** Maps every updated latent back into the generator's domain (e.g. a clamp); returns a new tensor. */
  project?: (z: tf.Tensor2D) => tf.Tensor2D;
  /** The same for latentSearchOn, on the host array [N, latentDim], in place. */
  projectHost?: (z: Float32Array) => void;
}

/** [N,D] latents → [N,S,S,3] float32 images in [0,1]. */
export type Generator = (z: tf.Tensor2D) => tf.Tensor4D;
/** [N,s,s,3] float32 in [0,1] → [N,d] L2-normalised embeddings; differentiable. */
export type DiffEncoder = (img: tf.Tensor4D) => tf.Tensor2D;

/**
 * How G's output maps onto E's input. Both are usually the same alignment template (e.g. `arcface-5pt`:
 * G renders it at 128, E wants it at 112), which is a pure resize: `box` = [0,0,1,1] (the default).
 * In general E's input is the box [y1, x1, y2, x2] of G's image (normalised: 0 = top/left edge, 1 =
 * bottom/right edge), i.e. scale = y2 − y1 and offset = (y1, x1); it must lie inside G's image, since G
 * produces no pixels outside it. Sampling is bilinear with pixel centres at (i + ½)/size, written as two
 * interpolation matrices (one per axis), so it is exactly differentiable w.r.t. the image on every
 * backend (TF.js has no gradient for tf.image.cropAndResize). No anti-aliasing: keep downscaling ≤ ~1.5×.
 */
export interface CropSpec {
  /** E's input side in pixels. */
  size: number;
  /** [y1, x1, y2, x2] in G-image units; default [0, 0, 1, 1]. */
  box?: [number, number, number, number];
}

export interface StepInfo {
  /** 1-based step number. */
  step: number;
  steps: number;
  /** Mean loss over targets still optimised. */
  loss: number;
  /** Mean cosine over targets still optimised. */
  meanCosine: number;
  /** Current cosine per target (NaN for a diverged target). */
  cosine: number[];
  /** Best cosine so far per target. */
  bestCosine: number[];
  diverged: boolean[];
}

export interface LatentSearchResult {
  /** Best z per target (the one that gave `cosine`). */
  z: Float32Array[];
  /** G(best z): [N,S,S,3] in [0,1]; the caller owns (disposes) it. */
  images: tf.Tensor4D;
  /** Best cosine per target. */
  cosine: number[];
  /** Targets frozen because their loss became NaN/∞. */
  diverged: boolean[];
  /** Steps actually run (fewer when aborted). */
  stepsRun: number;
  aborted: boolean;
}

/**
 * 1-D bilinear interpolation matrix [out, inSize] (row-major) for the segment [a, b] of an axis of length
 * inSize: the crop-and-resize of the white box as two matrix products, on either engine.
 */
export function interpMatrix(out: number, inSize: number, a: number, b: number): Float32Array {
  const m = new Float32Array(out * inSize);
  for (let i = 0; i < out; i++) {
    const u = (a + ((i + 0.5) / out) * (b - a)) * inSize - 0.5;
    const uc = Math.min(Math.max(u, 0), inSize - 1);
    const lo = Math.floor(uc);
    const hi = Math.min(lo + 1, inSize - 1);
    const f = uc - lo;
    m[i * inSize + lo] += 1 - f;
    m[i * inSize + hi] += f;
  }
  return m;
}

/** Checks a crop spec; throws naming the problem. */
export function validateCrop(crop: CropSpec, genSize: number): void {
  const box = crop.box ?? [0, 0, 1, 1];
  if (!Number.isInteger(crop.size) || crop.size < 1) throw new Error(`latentSearch: crop.size must be a positive integer, got ${crop.size}`);
  if (box.length !== 4 || box.some((v) => !Number.isFinite(v))) throw new Error(`latentSearch: crop.box must be 4 finite numbers, got [${box}]`);
  const [y1, x1, y2, x2] = box;
  if (y2 <= y1 || x2 <= x1) throw new Error(`latentSearch: crop.box [${box}] has no area (need y2 > y1 and x2 > x1)`);
  const tol = 1e-6;
  if (y1 < -tol || x1 < -tol || y2 > 1 + tol || x2 > 1 + tol) {
    throw new Error(`latentSearch: crop.box [${box}] reaches outside the generator's ${genSize}×${genSize} image; `
      + 'the generator produces no pixels there (use a generator template that contains the encoder crop)');
  }
}

/**
 * Differentiable crop + bilinear resize [N,S,S,C] → [N,size,size,C] (see CropSpec). Call inside tf.tidy (or a
 * gradient function): the small interpolation matrices it creates are left to the caller's scope.
 */
export function cropResize(img: tf.Tensor4D, crop: CropSpec): tf.Tensor4D {
  const [n, h, w, c] = img.shape;
  if (h !== w) throw new Error(`latentSearch: generator images must be square, got ${h}×${w}`);
  validateCrop(crop, h);
  const [y1, x1, y2, x2] = crop.box ?? [0, 0, 1, 1];
  const s = crop.size;
  if (s === h && y1 === 0 && x1 === 0 && y2 === 1 && x2 === 1) return img;
  const ry = tf.tensor2d(interpMatrix(s, h, y1, y2), [s, h]);
  const rx = tf.tensor2d(interpMatrix(s, w, x1, x2), [s, w]);
  // rows: [H, N·W·C] → [s, N·W·C]; columns: [W, s·N·C] → [s, s·N·C]. (Gradients use Rᵀ precomputed.)
  const a = matMulConstLeft(ry, tf.transpose(ry), tf.reshape(tf.transpose(img, [1, 0, 2, 3]), [h, n * w * c]));
  const b = tf.transpose(tf.reshape(a, [s, n, w, c]), [2, 0, 1, 3]);
  const d = matMulConstLeft(rx, tf.transpose(rx), tf.reshape(b, [w, s * n * c]));
  return tf.transpose(tf.reshape(d, [s, s, n, c]), [2, 1, 0, 3]) as tf.Tensor4D;
}

function l2normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (!(n > 0)) return Float32Array.from(v, () => NaN);
  return Float32Array.from(v, (x) => x / n);
}

function checkOptions(targets: Float32Array[], latentDim: number, o: LatentSearchOptions & { estimate?: Float32Array[] }): void {
  if (targets.length === 0) throw new Error('latentSearch: no targets');
  const d = targets[0].length;
  targets.forEach((t, i) => {
    if (t.length !== d) throw new Error(`latentSearch: target ${i} has ${t.length} values, target 0 has ${d}`);
  });
  if (!Number.isInteger(latentDim) || latentDim < 1) throw new Error(`latentSearch: latentDim must be a positive integer, got ${latentDim}`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new Error(`latentSearch: steps must be an integer ≥ 0, got ${o.steps}`);
  if (!(o.learningRate > 0)) throw new Error(`latentSearch: learningRate must be > 0, got ${o.learningRate}`);
  if (!(o.priorWeight >= 0)) throw new Error(`latentSearch: priorWeight must be ≥ 0, got ${o.priorWeight}`);
  if (!['normal', 'zeros', 'estimate'].includes(o.init)) throw new Error(`latentSearch: unknown init '${o.init}'`);
  if (o.init === 'estimate') {
    if (!o.estimate || o.estimate.length !== targets.length) {
      throw new Error(`latentSearch: init 'estimate' needs one estimate per target (${targets.length}), got ${o.estimate?.length ?? 0}`);
    }
    o.estimate.forEach((e, i) => {
      if (e.length !== latentDim) throw new Error(`latentSearch: estimate ${i} has ${e.length} values, latentDim is ${latentDim}`);
    });
  }
}

const ADAM = ADAM_DEFAULTS;

/**
 * The search on an engine other than TF.js (daemon/ort/search.ts): per-target loss, cosine and ∂loss/∂z at z
 * (rows with active = 0 give loss 0), and renders G(z). Host arrays, row-major: z [n, latentDim],
 * targets [n, d] (unit rows), images [n, S, S, 3].
 */
export interface SearchEngine {
  readonly outputSize: number;
  lossAndGrad(z: Float32Array, targets: Float32Array, active: Float32Array, n: number): Promise<{ loss: Float32Array; cos: Float32Array; grad: Float32Array }>;
  render(z: Float32Array, n: number): Promise<Float32Array>;
}

/**
 * latentSearch with the loss and gradients from `engine`: the same initialisation (TF.js's seeded normal
 * draw), Adam (β1 0.9, β2 0.999, ε 1e-8, masked per row), best-cosine tracking, per-target freezing of
 * diverged rows (a non-finite loss, cosine or gradient freezes the row at its best z), abort and step reports.
 */
export async function latentSearchOn(engine: SearchEngine, targets: Float32Array[], latentDim: number,
  opts: LatentSearchOptions & { estimate?: Float32Array[]; onStep?: (s: StepInfo) => void; signal?: AbortSignal },
): Promise<LatentSearchResult> {
  checkOptions(targets, latentDim, opts);
  const n = targets.length;
  const d = targets[0].length;
  const D = latentDim;
  const tNorm = targets.map((t) => l2normalise(t));
  const diverged = tNorm.map((t) => t.some((x) => !Number.isFinite(x)));
  const T = new Float32Array(n * d);
  tNorm.forEach((t, i) => T.set(t.map((x) => (Number.isFinite(x) ? x : 0)), i * d));
  let z: Float32Array;
  if (opts.init === 'zeros') z = new Float32Array(n * D);
  else if (opts.init === 'normal') z = tf.tidy(() => tf.randomNormal([n, D], 0, 1, 'float32', opts.seed).dataSync() as Float32Array).slice();
  else { z = new Float32Array(n * D); opts.estimate!.forEach((e, i) => z.set(e, i * D)); }
  const m = new Float32Array(n * D);
  const v = new Float32Array(n * D);
  const best = z.slice();
  const bestCos = new Array<number>(n).fill(-Infinity);
  let stepsRun = 0;
  let aborted = false;
  for (let step = 1; step <= opts.steps + 1; step++) {
    if (opts.signal?.aborted) { aborted = true; break; }
    const final = step === opts.steps + 1;
    const active = Float32Array.from(diverged, (x) => (x ? 0 : 1));
    const { loss, cos, grad } = await engine.lossAndGrad(z, T, active, n);
    for (let i = 0; i < n; i++) {
      if (diverged[i]) continue;
      if (!Number.isFinite(loss[i]) || !Number.isFinite(cos[i])) { diverged[i] = true; continue; }
      if (cos[i] > bestCos[i]) { bestCos[i] = cos[i]; best.set(z.subarray(i * D, (i + 1) * D), i * D); }
      if (!final) {
        for (let k = i * D; k < (i + 1) * D; k++) {
          if (!Number.isFinite(grad[k])) { diverged[i] = true; break; }
        }
      }
    }
    if (!final) {
      const adam = { ...ADAM, learningRate: opts.learningRate };
      for (let i = 0; i < n; i++) {
        if (diverged[i]) continue;
        const row = (a: Float32Array) => a.subarray(i * D, (i + 1) * D);
        adamUpdate(row(z), row(m), row(v), row(grad), adam, step);
      }
      if (opts.projectHost) {
        // Frozen rows keep their values: project a copy of each live row only.
        for (let i = 0; i < n; i++) if (!diverged[i]) opts.projectHost(z.subarray(i * D, (i + 1) * D));
      }
      stepsRun = step;
      if (opts.onStep) {
        const live = diverged.map((x, i) => (x ? -1 : i)).filter((i) => i >= 0);
        const mean = (x: ArrayLike<number>): number => (live.length ? live.reduce((p, i) => p + x[i], 0) / live.length : NaN);
        opts.onStep({
          step, steps: opts.steps, loss: mean(loss), meanCosine: mean(cos),
          cosine: Array.from(cos, (x, i) => (diverged[i] ? NaN : x)), bestCosine: bestCos.slice(), diverged: diverged.slice(),
        });
      }
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  const S = engine.outputSize;
  const px = await engine.render(best, n);
  const images = tf.tensor4d(px, [n, S, S, 3]);
  return {
    z: Array.from({ length: n }, (_, i) => best.slice(i * D, (i + 1) * D)), images,
    cosine: bestCos.map((x) => (x === -Infinity ? NaN : x)), diverged: diverged.slice(), stepsRun, aborted,
  };
}

export async function latentSearch(G: Generator, E: DiffEncoder, targets: Float32Array[], latentDim: number,
  opts: LatentSearchOptions & { estimate?: Float32Array[]; onStep?: (s: StepInfo) => void; signal?: AbortSignal; crop?: CropSpec },
): Promise<LatentSearchResult> {
  checkOptions(targets, latentDim, opts);
  const n = targets.length;
  const d = targets[0].length;
  const tNorm = targets.map((t) => l2normalise(t));
  const diverged = tNorm.map((t) => t.some((x) => !Number.isFinite(x)));
  const T = tf.tensor2d(tNorm.map((t) => Array.from(t, (x) => (Number.isFinite(x) ? x : 0))), [n, d]);
  let z: tf.Tensor2D = opts.init === 'zeros' ? tf.zeros([n, latentDim])
    : opts.init === 'normal' ? tf.randomNormal([n, latentDim], 0, 1, 'float32', opts.seed)
      : tf.tensor2d(opts.estimate!.map((e) => Array.from(e)), [n, latentDim]);
  let m: tf.Tensor2D = tf.zerosLike(z);
  let v: tf.Tensor2D = tf.zerosLike(z);
  let best: tf.Tensor2D = tf.clone(z);
  const bestCos = new Array<number>(n).fill(-Infinity);
  const prior = opts.priorWeight;
  const crop = opts.crop;

  /** Per-target loss [N] (0 for frozen rows) and cosine [N]. */
  const lossFn = (zz: tf.Tensor2D, active: tf.Tensor1D): { loss: tf.Tensor1D; cos: tf.Tensor1D } => {
    const img = G(zz);
    if (img.rank !== 4 || img.shape[0] !== n || img.shape[3] !== 3) {
      throw new Error(`latentSearch: the generator returned shape [${img.shape}], expected [${n},S,S,3]`);
    }
    const input = crop ? cropResize(img, crop) : img;
    let e: tf.Tensor2D;
    try {
      e = E(input);
    } catch (err) {
      throw new Error(`latentSearch: the encoder cannot take the generator's [${input.shape}] images (${(err as Error).message.split('\n')[0]}); map them to the encoder's input with \`crop\``);
    }
    if (e.rank !== 2 || e.shape[0] !== n || e.shape[1] !== d) {
      throw new Error(`latentSearch: the encoder returned shape [${e.shape}], expected [${n},${d}] (the targets' dimension)`);
    }
    const cos = tf.div(tf.sum(tf.mul(e, T), 1), tf.add(tf.norm(e, 2, 1), 1e-12)) as tf.Tensor1D;
    let loss = tf.sub(1, cos) as tf.Tensor1D;
    if (prior > 0) loss = tf.add(loss, tf.mul(prior, tf.sum(tf.square(zz), 1)));
    return { loss: tf.where(tf.cast(active, 'bool'), loss, tf.zerosLike(loss)) as tf.Tensor1D, cos };
  };

  let stepsRun = 0;
  let aborted = false;
  const b1 = ADAM.beta1; const b2 = ADAM.beta2;
  try {
    for (let step = 1; step <= opts.steps + 1; step++) {
      if (opts.signal?.aborted) { aborted = true; break; }
      const final = step === opts.steps + 1; // last pass only scores the final z
      const activeArr = diverged.map((x) => (x ? 0 : 1));
      const active = tf.tensor1d(activeArr);
      let cosT: tf.Tensor1D; let lossT: tf.Tensor1D; let grad: tf.Tensor2D | null = null;
      if (final) {
        ({ cos: cosT, loss: lossT } = tf.tidy(() => lossFn(z, active)));
      } else {
        const res = tf.tidy(() => {
          let cosKeep: tf.Tensor1D | null = null;
          const { value, grad: g } = tf.valueAndGrad((zz: tf.Tensor) => {
            const r = lossFn(zz as tf.Tensor2D, active);
            cosKeep = tf.keep(r.cos);
            return r.loss;
          })(z);
          return { cos: cosKeep! as tf.Tensor1D, loss: value as tf.Tensor1D, grad: g as tf.Tensor2D };
        });
        cosT = res.cos; lossT = res.loss; grad = res.grad;
      }
      const [cosArr, lossArr] = await Promise.all([cosT.data(), lossT.data()]);
      // Rows whose loss (or gradient, checked via the new z below) is not finite are frozen from now on.
      const improved = new Array<number>(n).fill(0);
      for (let i = 0; i < n; i++) {
        if (diverged[i]) continue;
        if (!Number.isFinite(lossArr[i]) || !Number.isFinite(cosArr[i])) { diverged[i] = true; continue; }
        if (cosArr[i] > bestCos[i]) { bestCos[i] = cosArr[i]; improved[i] = 1; }
      }
      const imp = tf.tensor2d(improved.map((x) => [x]), [n, 1], 'bool' as never);
      const newBest = tf.tidy(() => tf.where(tf.cast(imp, 'bool'), z, best) as tf.Tensor2D);
      best.dispose(); best = newBest;
      imp.dispose();
      const live = diverged.map((x) => !x);
      if (grad && !final) {
        const t = step;
        const upd = tf.tidy(() => {
          const keepRow = tf.tensor2d(live.map((x) => [x ? 1 : 0]), [n, 1]);
          const mask = tf.cast(keepRow, 'bool');
          const g = grad as tf.Tensor2D;
          const m1 = tf.add(tf.mul(b1, m), tf.mul(1 - b1, g));
          const v1 = tf.add(tf.mul(b2, v), tf.mul(1 - b2, tf.square(g)));
          const { stepSize, epsHat } = adamScalars({ ...ADAM, learningRate: opts.learningRate }, t);
          const stepT = tf.div(tf.mul(stepSize, m1), tf.add(tf.sqrt(v1), epsHat));
          const z1 = tf.sub(z, stepT);
          return {
            z: tf.where(mask, z1, z) as tf.Tensor2D, m: tf.where(mask, m1, m) as tf.Tensor2D, v: tf.where(mask, v1, v) as tf.Tensor2D,
          };
        });
        tf.dispose([z, m, v, grad]);
        m = upd.m; v = upd.v;
        if (opts.project) {
          const projected = tf.tidy(() => (opts.project as (x: tf.Tensor2D) => tf.Tensor2D)(upd.z));
          upd.z.dispose();
          z = projected;
        } else {
          z = upd.z;
        }
        stepsRun = step;
      }
      active.dispose();
      tf.dispose([cosT, lossT]);
      if (!final && opts.onStep) {
        const liveIdx = live.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
        const mean = (a: ArrayLike<number>): number => (liveIdx.length ? liveIdx.reduce((s, i) => s + a[i], 0) / liveIdx.length : NaN);
        opts.onStep({
          step, steps: opts.steps, loss: mean(lossArr), meanCosine: mean(cosArr),
          cosine: Array.from(cosArr, (c, i) => (diverged[i] ? NaN : c)), bestCosine: bestCos.slice(), diverged: diverged.slice(),
        });
      }
      if (!final) await new Promise<void>((r) => setImmediate(r));
    }
    const images = tf.tidy(() => G(best));
    const zs = await best.array();
    return {
      z: zs.map((r) => Float32Array.from(r)), images,
      cosine: bestCos.map((c) => (c === -Infinity ? NaN : c)), diverged: diverged.slice(), stepsRun, aborted,
    };
  } finally {
    tf.dispose([z, m, v, best, T]);
  }
}
