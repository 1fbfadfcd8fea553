/**
 * Detail the PCA face model cannot hold, borrowed patch by patch from the attacker's own faces: the two-step
 * face hallucination of Liu, Shum & Freeman (IJCV 2007, "Face hallucination: theory and practice") — a global
 * linear model (here the PCA face model the search moved in) and a local, nonparametric residual: at each patch
 * the residual (photo − its own PCA rendering) of the attacker face whose PCA rendering looks most like the
 * reconstruction there. The Markov network that keeps neighbouring patches compatible is approximated as in image
 * quilting (Efros & Freeman 2001): patches are placed in raster order and each choice also pays for disagreeing
 * with the residual already placed in its overlap.
 *
 * Why: the search reaches a point of the PCA model, whose faces are low-pass blends (512 components keep 97 % of
 * the variance but little of the edges, skin texture and eye detail a person or another detector reads). The
 * residual adds what real faces near that point have there; it costs no query. Whether it helps identity beyond
 * the attacked encoder was measured on the validation split (scripts/prior-validation.js, docs/search.md).
 */
import { tf } from '../../tfjs/tf';
import type { PcaFaceModel } from './pca';
import { forEachDotBlock } from '../../math/blockDots';

/** The attacker's faces the detail is borrowed from: [n, S, S, 3] uint8 crops in the model's frame and their latents. */
export interface DetailBank {
  crops: Uint8Array;
  /** Whitened latents [n, k] (PcaFaceModel.project of the same crops). */
  latents: Float32Array;
  n: number;
}

/** How the residual is quilted: patch side and stride in pixels (stride < patch: the overlap is averaged), and the
 * weight of disagreeing with residual already placed in the overlap, against the low-pass match. */
export interface QuiltOptions { patch: number; stride: number; overlapWeight: number }

export const DEFAULT_QUILT: QuiltOptions = { patch: 8, stride: 4, overlapWeight: 1 };

/** Indices of the `k` bank faces nearest `z` (whitened [latentDim]) in σ-weighted distance, i.e. pixel distance of their renderings. */
export function nearestInModel(z: Float32Array, bank: DetailBank, sigma: Float32Array, k: number): number[] {
  return nearestRowsInModel(z, 1, bank, sigma, k)[0];
}

/** σ²-weighted squared norms of the bank's latents, kept per bank (a finish asks for them once per batch of faces). */
const bankNorms = new WeakMap<Float32Array, Float64Array>();

function weightedNorms(bank: DetailBank, w: Float32Array): Float64Array {
  let norms = bankNorms.get(bank.latents);
  if (norms?.length === bank.n) return norms;
  const d = w.length;
  norms = new Float64Array(bank.n);
  for (let j = 0; j < bank.n; j++) { let s = 0; for (let c = 0; c < d; c++) s += w[c] * bank.latents[j * d + c] ** 2; norms[j] = s; }
  bankNorms.set(bank.latents, norms);
  return norms;
}

/**
 * For each of `rows` latents in `z` ([rows, latentDim]), the `k` nearest bank faces as nearestInModel ranks them:
 * ‖z − l‖²_σ² = ‖z‖² − 2 zᵀ diag(σ²) l + ‖l‖², the cross terms of all rows in one matrix product.
 */
export function nearestRowsInModel(z: Float32Array, rows: number, bank: DetailBank, sigma: Float32Array, k: number): number[][] {
  const d = sigma.length;
  const w = Float32Array.from(sigma, (s) => s * s);
  const norms = weightedNorms(bank, w);
  const zw = Float32Array.from(z.subarray(0, rows * d), (v, i) => v * w[i % d]);
  const out: number[][] = [];
  const dist = new Float64Array(bank.n);
  forEachDotBlock(zw, rows, bank.latents, bank.n, d, (_first, count, cross) => {
    for (let r = 0; r < count; r++) {
      for (let j = 0; j < bank.n; j++) dist[j] = norms[j] - 2 * cross[r * bank.n + j];
      out.push(Array.from(dist.keys()).sort((a, b) => dist[a] - dist[b]).slice(0, Math.min(k, bank.n)));
    }
  }, 64);
  return out;
}

/**
 * One reconstruction's residual [S, S, 3] (values in [−1, 1]) from its PCA rendering `base` ([S,S,3] in [0,1]):
 * the candidates are rows `candidates` of `renders` and `residuals` ([n, S, S, 3] each, shared by a group of
 * faces, so nothing is copied per face).
 */
export function quiltResidual(base: Float32Array, renders: Float32Array, residuals: Float32Array, candidates: readonly number[], size: number, o: QuiltOptions = DEFAULT_QUILT): Float32Array {
  const S = size, P = o.patch, plane = S * S * 3;
  const acc = new Float32Array(plane), cnt = new Float32Array(S * S);
  const starts: number[] = [];
  for (let s = 0; s + P <= S; s += o.stride) starts.push(s);
  if (starts[starts.length - 1] !== S - P) starts.push(S - P);
  for (const y0 of starts) for (const x0 of starts) {
    let best = candidates[0], bestCost = Infinity;
    for (const j of candidates) {
      let low = 0, seam = 0;
      for (let y = y0; y < y0 + P; y++) for (let x = x0; x < x0 + P; x++) {
        const p = y * S + x, c = cnt[p];
        for (let ch = 0; ch < 3; ch++) {
          const i = 3 * p + ch;
          const e = base[i] - renders[j * plane + i];
          low += e * e;
          if (c > 0) { const f = acc[i] / c - residuals[j * plane + i]; seam += f * f; }
        }
      }
      const cost = low + o.overlapWeight * seam;
      if (cost < bestCost) { bestCost = cost; best = j; }
    }
    for (let y = y0; y < y0 + P; y++) for (let x = x0; x < x0 + P; x++) {
      const p = y * S + x;
      cnt[p]++;
      for (let ch = 0; ch < 3; ch++) acc[3 * p + ch] += residuals[best * plane + 3 * p + ch];
    }
  }
  for (let p = 0; p < S * S; p++) for (let ch = 0; ch < 3; ch++) acc[3 * p + ch] /= Math.max(1, cnt[p]);
  return acc;
}

/** Renders latents [rows, k] as float [rows, S, S, 3] in [0, 1]. */
async function renderRows(model: PcaFaceModel, z: Float32Array, rows: number): Promise<Float32Array> {
  const t = tf.tidy(() => model.render(tf.tensor2d(z, [rows, model.latentDim])));
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}

/**
 * What a final face borrows from the attacker's photos nearest it (the run config's `faceModel.finish`): their
 * colour contrast (the PCA point is a shrunken, low-contrast mean), their detail at strength `detail` (0: none),
 * from the `neighbours` nearest in the model (σ-weighted latent distance).
 */
export interface FinishOptions { contrast: boolean; detail: number; neighbours: number }

/** Whether `f` changes anything. */
export function finishes(f: FinishOptions | undefined): f is FinishOptions {
  return !!f && (f.contrast || f.detail > 0);
}

/**
 * Finishes rendered faces `faces` ([rows, S, S, 3] uint8, the renderings of whitened latents `z`) in place: the
 * detail of their nearest bank faces at `detail` strength, then those faces' colour contrast.
 */
export async function finishFaces(model: PcaFaceModel, bank: DetailBank, z: Float32Array, rows: number, faces: Uint8Array, f: FinishOptions, quilt: QuiltOptions = DEFAULT_QUILT): Promise<void> {
  const k = model.latentDim, S = model.frame.size, plane = S * S * 3;
  if (bank.latents.length !== bank.n * k || bank.crops.length !== bank.n * plane) throw new Error(`face finish: ${bank.n} bank faces do not fit latents of ${k} and ${S}-px crops`);
  const near = nearestRowsInModel(z, rows, bank, model.sigma, f.neighbours);
  for (let first = 0; first < rows; first += FACES_PER_RENDER) {
    const group = near.slice(first, first + FACES_PER_RENDER);
    const detail = f.detail > 0 ? await neighbourResiduals(model, bank, group) : null;
    group.forEach((nb, g) => {
      const r = first + g;
      const face = Float32Array.from(faces.subarray(r * plane, (r + 1) * plane), (v) => v / 255);
      if (detail) {
        const res = quiltResidual(face, detail.renders, detail.residuals, nb.map((j) => detail.row.get(j) as number), S, quilt);
        for (let q = 0; q < plane; q++) face[q] += f.detail * res[q];
      }
      if (f.contrast) matchSpread(face, nb.map((j) => bank.crops.subarray(j * plane, (j + 1) * plane)));
      faces.set(toBytes(face), r * plane);
    });
  }
}

/** Faces whose neighbours are rendered in one batch: larger batches keep the engine's product busy, at ~0.3 MB a neighbour. */
const FACES_PER_RENDER = 8;

/** The PCA renderings of a group's distinct neighbours and their residuals (photo − rendering), a row per neighbour. */
async function neighbourResiduals(model: PcaFaceModel, bank: DetailBank, group: readonly number[][]): Promise<{ row: Map<number, number>; renders: Float32Array; residuals: Float32Array }> {
  const k = model.latentDim, plane = model.frame.size ** 2 * 3;
  const ids = [...new Set(group.flat())];
  const zl = new Float32Array(ids.length * k);
  ids.forEach((j, i) => zl.set(bank.latents.subarray(j * k, (j + 1) * k), i * k));
  const renders = await renderRows(model, zl, ids.length);
  const residuals = new Float32Array(renders.length);
  ids.forEach((j, i) => {
    for (let q = 0; q < plane; q++) residuals[i * plane + q] = bank.crops[j * plane + q] / 255 - renders[i * plane + q];
  });
  return { row: new Map(ids.map((j, i) => [j, i])), renders, residuals };
}

/** [0, 1] floats as 0..255 bytes. */
function toBytes(x: Float32Array): Uint8Array {
  return Uint8Array.from(x, (v) => Math.max(0, Math.min(255, Math.round(255 * v))));
}

/** The finished faces of whitened latents `z` ([rows, k]) as [S, S, 3] uint8 crops (the validation script's variants). */
export async function detailedFaces(model: PcaFaceModel, bank: DetailBank, z: Float32Array, rows: number, f: FinishOptions, quilt: QuiltOptions = DEFAULT_QUILT): Promise<Uint8Array[]> {
  const plane = model.frame.size ** 2 * 3;
  const faces = toBytes(await renderRows(model, z, rows));
  await finishFaces(model, bank, z, rows, faces, f, quilt);
  return Array.from({ length: rows }, (_, r) => faces.slice(r * plane, (r + 1) * plane));
}

/** Mean and standard deviation of each colour channel of an [S,S,3] image. */
function channelStats(img: ArrayLike<number>): { mean: number[]; sd: number[] } {
  const n = img.length / 3, mean = [0, 0, 0], sq = [0, 0, 0];
  for (let i = 0; i < img.length; i++) { mean[i % 3] += img[i]; sq[i % 3] += img[i] * img[i]; }
  for (let c = 0; c < 3; c++) mean[c] /= n;
  return { mean, sd: mean.map((m, c) => Math.sqrt(Math.max(0, sq[c] / n - m * m))) };
}

/** The average spread (standard deviation, on 0..1) of each colour channel of [S,S,3] uint8 photos. */
export function spreadOf(photos: readonly Uint8Array[]): number[] {
  const want = [0, 0, 0];
  for (const p of photos) channelStats(p).sd.forEach((s, c) => { want[c] += s / 255 / photos.length; });
  return want;
}

/** Scales `face` ([0,1] floats) about its channel means so that each channel's spread is `want[c]`. */
export function applySpread(face: Float32Array, want: readonly number[]): void {
  const own = channelStats(face);
  for (let i = 0; i < face.length; i++) {
    const c = i % 3;
    if (own.sd[c] > 1e-6) face[i] = own.mean[c] + (face[i] - own.mean[c]) * (want[c] / own.sd[c]);
  }
}

/** Scales `face` so each channel's spread is the photos' average spread. */
export function matchSpread(face: Float32Array, photos: readonly Uint8Array[]): void {
  applySpread(face, spreadOf(photos));
}
