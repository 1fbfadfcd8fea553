/**
 * The two ways a reconstruction reaches a scoring encoder.
 * - `direct` (NbNet's released code: the decoder's output is already an aligned crop and goes straight to the
 *   encoder): same template as the reconstruction's frame → a resize; another template → the crop is pasted
 *   on a canvas and aligned as if it showed the mean training face (meanGeometry.ts), no detector involved.
 * - `redetect` (as a real photo): the crop is pasted in the middle of a canvas twice its size filled with its
 *   own border colour (detectors are trained on faces with surroundings), then detected, given 68 landmarks
 *   and aligned to each encoder's template. A reconstruction with no detectable face fails, with its reason.
 * Both produce per image an aligned crop for each encoder, or a failure.
 */
import { alignFace, FaceGeometry, warpSimilarity } from '../data/align';
import { FaceAnalyzer, geometryOf } from '../data/faceAnalysis';
import type { RgbImage } from '../data/image';
import type { AlignmentSpec } from '../data/templates';
import { tf } from '../engine/tf';
import type { Encoder } from '../encoders/types';
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

/** `redetect`, first half: the face found in each crop's canvas (shared by every encoder). */
export async function redetect(analyzer: FaceAnalyzer, crops: readonly Uint8Array[], size: number, names: readonly string[]): Promise<Redetected[]> {
  const out: Redetected[] = [];
  for (const [i, crop] of crops.entries()) {
    const canvas = padToCanvas(crop, size);
    try {
      out.push({ canvas, face: geometryOf(await analyzer.analyse(canvas, names[i])) });
    } catch (err) {
      const kind = (err as { kind?: string }).kind;
      out.push({ canvas, face: null, failure: kind ?? (err as Error).message });
    }
  }
  return out;
}

/** `redetect`, second half: the aligned crop of each found face for one encoder's template. */
export function redetectedCrops(items: readonly Redetected[], spec: AlignmentSpec): AlignedOrFailure[] {
  return items.map((it) => (it.face ? { crop: alignFace(it.canvas, it.face, spec) } : { failure: it.failure ?? 'no-face' }));
}

/** Embeds aligned crops ([S,S,3] uint8, S = spec.size) with one encoder: a row per input, null where it failed. */
export async function embedCrops(encoder: Encoder, items: readonly AlignedOrFailure[], spec: AlignmentSpec, batch = 32): Promise<{ embedding: Float32Array | null; failure?: string }[]> {
  const out: { embedding: Float32Array | null; failure?: string }[] = items.map((it) => ('crop' in it ? { embedding: null } : { embedding: null, failure: it.failure }));
  const rows = items.map((it, i) => ('crop' in it ? i : -1)).filter((i) => i >= 0);
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
      chunk.forEach((r, k) => { out[r] = { embedding: emb[k] }; });
    } catch (err) {
      chunk.forEach((r) => { out[r] = { embedding: null, failure: `embed-failed: ${(err as Error).message}` }; });
    } finally {
      t.dispose();
    }
  }
  return out;
}
