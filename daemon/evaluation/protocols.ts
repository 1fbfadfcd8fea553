/**
 * The three ways a reconstruction reaches a scoring encoder.
 * - `direct` (NbNet's released code: the decoder's output is already an aligned crop and goes straight to the
 *   encoder): same template as the reconstruction's frame → a resize; another template → the crop is pasted
 *   on a canvas and aligned as if it showed the mean training face (meanGeometry.ts), no detector involved.
 * - `redetect` (as a real photo): the crop is pasted in the middle of a canvas twice its size filled with its
 *   own border colour (detectors are trained on faces with surroundings), then detected, given 68 landmarks
 *   and aligned to each encoder's template. A reconstruction with no detectable face fails, with its reason.
 * - `independent`: the same, but with a detector family the attack used in no role — face-api's
 *   SSD MobileNet v1 + 68 landmarks (daemon/data/faceApiDetector.ts) — and the crop on a neutral grey canvas
 *   INDEPENDENT_CANVAS_FACTOR times its side. Why 4×: the SSD resizes every input to 512×512; 4 × 112 = 448 px
 *   is the largest whole multiple of the crop that the detector does not shrink (it is enlarged by 512/448 only),
 *   and the face then spans about a quarter of the frame, inside the range of SSD's default anchors (Liu et al.
 *   2016: scales 0.2–0.95 of the input) rather than at its edges. It was fixed from the detector's geometry, not
 *   tuned on test targets, and the control row (the targets' real aligned crops) gets exactly the same canvas.
 *   Grey rather than the crop's border colour: a neutral fill adds no colour cue that differs between a
 *   reconstruction and a photo.
 * All produce per image an aligned crop for each encoder, or a failure.
 */
import { alignFace, FaceGeometry, warpSimilarity } from '../data/align';
import { FaceAnalyzer, geometryOf } from '../data/faceAnalysis';
import type { FaceApiAnalyzer } from '../data/faceApiDetector';
import type { RgbImage } from '../data/image';
import type { AlignmentSpec } from '../data/templates';
import { tf } from '../tfjs/tf';
import type { Encoder } from '../encoders/types';
import { DetectionCache, type CachedDetection } from './detectionCache';
import { CropEmbeddingCache } from './cropEmbeddingCache';
import { shiftGeometry } from './meanGeometry';
import { padToCanvas } from '../encoders/canvas';

export { padToCanvas };

/** An aligned crop for one encoder, or why there is none. */
export type AlignedOrFailure = { crop: Uint8Array } | { failure: string };

/**
 * `direct`: the crop in `frame` as `spec` wants it. `meanGeometry` is the mean face in `frame` coordinates
 * (only used when the templates differ).
 */
export function directCrop(crop: Uint8Array, frame: AlignmentSpec, spec: AlignmentSpec, meanGeometry: FaceGeometry): Uint8Array {
  if (spec.template === frame.template) {
    // Template points scale linearly with the crop side (templates.ts), so the frames differ by a scale.
    if (spec.size === frame.size) return crop;
    return warpSimilarity({ width: frame.size, height: frame.size, data: crop }, { a: spec.size / frame.size, b: 0, tx: 0, ty: 0 }, spec.size);
  }
  const off = Math.floor(frame.size / 2);
  return alignFace(padToCanvas(crop, frame.size), shiftGeometry(meanGeometry, off, off), spec);
}

export interface Redetected {
  canvas: RgbImage;
  face: FaceGeometry | null;
  failure?: string;
}

/**
 * `redetect`, first half: the face found in each crop's canvas (shared by every encoder). With `cache`, canvases
 * seen before are answered from it (a split's real crops and baselines are the same in every run).
 */
export async function redetect(analyzer: Pick<FaceAnalyzer, 'analyse'>, crops: readonly Uint8Array[], size: number, names: readonly string[], cache?: DetectionCache): Promise<Redetected[]> {
  const geometry = { analyse: async (canvas: RgbImage, name: string) => geometryOf(await analyzer.analyse(canvas, name)) };
  const out: Redetected[] = [];
  for (const [i, crop] of crops.entries()) {
    const canvas = padToCanvas(crop, size);
    const key = cache ? DetectionCache.keyOf(canvas) : '';
    try {
      const d = cache?.get(key) ?? await detectOnce(geometry, canvas, names[i], key, cache);
      out.push('face' in d ? { canvas, face: d.face } : { canvas, face: null, failure: d.failure });
    } catch (err) {
      out.push({ canvas, face: null, failure: (err as Error).message });
    }
  }
  return out;
}

/** Canvas side of the `independent` protocol, in crop sides (see the header for why 4). */
export const INDEPENDENT_CANVAS_FACTOR = 4;
/** Its fill: neutral mid-grey. */
export const INDEPENDENT_CANVAS_FILL: [number, number, number] = [128, 128, 128];

/** An [S,S,3] crop at the centre of a (factor·S)² canvas of one colour. */
export function greyCanvas(crop: Uint8Array, size: number, factor: number, fill: readonly [number, number, number] = INDEPENDENT_CANVAS_FILL): RgbImage {
  if (crop.length !== size * size * 3) throw new Error(`canvas: the crop has ${crop.length} values, expected ${size}×${size}×3`);
  if (!(factor >= 1)) throw new Error(`canvas: factor ${factor} must be at least 1 (the canvas holds the crop)`);
  const W = Math.round(size * factor);
  const data = new Uint8Array(W * W * 3);
  for (let i = 0; i < W * W; i++) { data[3 * i] = fill[0]; data[3 * i + 1] = fill[1]; data[3 * i + 2] = fill[2]; }
  const off = Math.floor((W - size) / 2);
  for (let y = 0; y < size; y++) data.set(crop.subarray(y * size * 3, (y + 1) * size * 3), ((y + off) * W + off) * 3);
  return { width: W, height: W, data };
}

/** `independent`, first half: the face face-api finds in each crop's grey canvas (shared by every encoder). */
export async function detectIndependent(analyzer: Pick<FaceApiAnalyzer, 'analyse'>, crops: readonly Uint8Array[], size: number, names: readonly string[], factor = INDEPENDENT_CANVAS_FACTOR, cache?: DetectionCache): Promise<Redetected[]> {
  const out: Redetected[] = [];
  for (const [i, crop] of crops.entries()) {
    const canvas = greyCanvas(crop, size, factor);
    const key = cache ? DetectionCache.keyOf(canvas) : '';
    const d = cache?.get(key) ?? await detectOnce(analyzer, canvas, names[i], key, cache);
    out.push('face' in d ? { canvas, face: d.face } : { canvas, face: null, failure: d.failure });
  }
  return out;
}

/** One canvas through a detector: its face, or the kind of face failure, kept in `cache`; other errors propagate uncached. */
async function detectOnce(analyzer: { analyse(img: RgbImage, name: string): Promise<FaceGeometry> }, canvas: RgbImage, name: string, key: string, cache?: DetectionCache): Promise<CachedDetection> {
  let d: CachedDetection;
  try {
    d = { face: await analyzer.analyse(canvas, name) };
  } catch (err) {
    const kind = (err as { kind?: string }).kind;
    if (!kind) throw err;
    d = { failure: kind };
  }
  cache?.put(key, d);
  return d;
}

/** What the independent detections of a set of crops will cost before a deadline, measured on the first few. */
export interface IndependentCost { images: number; uncached: number; secondsPerImage: number; needSeconds: number; leftSeconds: number }

/**
 * What the independent detections of `crops` need, and the seconds left before `until` (Date.now() units): the uncached ones
 * are counted, a few of them detected (into the cache, so nothing measured is lost) to time the detector on
 * this machine — after one untimed, whose first run costs more — and the rest estimated from that rate.
 */
export async function independentCost(analyzer: Pick<FaceApiAnalyzer, 'analyse'>, crops: readonly Uint8Array[], size: number, cache: DetectionCache, until: number, probes = 3): Promise<IndependentCost> {
  const uncached = crops.map((c) => greyCanvas(c, size, INDEPENDENT_CANVAS_FACTOR)).filter((c) => !cache.has(DetectionCache.keyOf(c)));
  let secondsPerImage = 0;
  // The detector's first image also pays for its session's first run (buffers, kernels): detected, not timed.
  const warm = uncached.length > 1 ? 1 : 0;
  for (const canvas of uncached.slice(0, warm)) await detectOnce(analyzer, canvas, 'warm-up probe', DetectionCache.keyOf(canvas), cache);
  const timed = uncached.slice(warm, warm + probes);
  if (timed.length) {
    const t0 = Date.now();
    for (const [i, canvas] of timed.entries()) await detectOnce(analyzer, canvas, `probe ${i}`, DetectionCache.keyOf(canvas), cache);
    secondsPerImage = (Date.now() - t0) / 1000 / timed.length;
  }
  const needSeconds = secondsPerImage * (uncached.length - warm - timed.length);
  const leftSeconds = (until - Date.now()) / 1000;
  return { images: crops.length, uncached: uncached.length, secondsPerImage, needSeconds, leftSeconds };
}

/** `redetect` and `independent`, second half: the aligned crop of each found face for one encoder's template. */
export function redetectedCrops(items: readonly Redetected[], spec: AlignmentSpec): AlignedOrFailure[] {
  return items.map((it) => (it.face ? { crop: alignFace(it.canvas, it.face, spec) } : { failure: it.failure ?? 'no-face' }));
}

/**
 * Embeds aligned crops ([S,S,3] uint8, S = spec.size) with one encoder: a row per input, null where it failed.
 * With `cache`, crops embedded before (same pixels, same encoder) are read from it and new ones kept.
 */
export async function embedCrops(encoder: Encoder, items: readonly AlignedOrFailure[], spec: AlignmentSpec, cache?: CropEmbeddingCache, batch = 32): Promise<{ embedding: Float32Array | null; failure?: string }[]> {
  const out: { embedding: Float32Array | null; failure?: string }[] = items.map((it) => ('crop' in it ? { embedding: null } : { embedding: null, failure: it.failure }));
  // Rows still to embed; the cache's key of each, to keep what it gives.
  const rows: number[] = [], keys = new Map<number, string>();
  items.forEach((it, i) => {
    if (!('crop' in it)) return;
    const key = cache ? CropEmbeddingCache.keyOf(it.crop, spec.size) : undefined;
    const known = key === undefined ? undefined : cache?.get(key);
    if (known) { out[i] = { embedding: known }; return; }
    if (key !== undefined) keys.set(i, key);
    rows.push(i);
  });
  const S = spec.size;
  for (let s = 0; s < rows.length; s += batch) {
    const chunk = rows.slice(s, s + batch);
    const pixels = new Float32Array(chunk.length * S * S * 3);
    chunk.forEach((r, k) => {
      const c = (items[r] as { crop: Uint8Array }).crop;
      for (let q = 0; q < c.length; q++) pixels[k * S * S * 3 + q] = c[q] / 255;
    });
    const t = tf.tidy(() => {
      const x = tf.tensor4d(pixels, [chunk.length, S, S, 3]);
      return S === encoder.inputSize ? x : tf.image.resizeBilinear(x, [encoder.inputSize, encoder.inputSize], false, true);
    });
    try {
      const emb = await encoder.embed(t);
      chunk.forEach((r, k) => {
        out[r] = { embedding: emb[k] };
        const key = keys.get(r);
        if (key) cache?.put(key, emb[k]);
      });
    } catch (err) {
      chunk.forEach((r) => { out[r] = { embedding: null, failure: `embed-failed: ${(err as Error).message}` }; });
    } finally {
      t.dispose();
    }
  }
  return out;
}
