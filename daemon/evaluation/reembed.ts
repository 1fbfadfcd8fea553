/**
 * Re-embedding reconstructions the way real photos are embedded: detect the face, find its landmarks, align
 * to each evaluation encoder's template, embed. A reconstruction is a tight aligned crop, and detectors are
 * trained on faces with surroundings, so it is first placed in the middle of a canvas twice its size filled
 * with its own border colour; nothing else about it is assumed.
 */
import { alignFace, FaceGeometry } from '../data/align';
import { FaceAnalyzer, geometryOf } from '../data/faceAnalysis';
import type { RgbImage } from '../data/image';
import type { AlignmentSpec } from '../data/templates';
import { tf } from '../engine/tf';
import type { Encoder } from '../encoders/types';

/** Puts an [S,S,3] crop at the centre of a 2S×2S canvas of its mean border colour. */
export function padToCanvas(crop: Uint8Array, size: number): RgbImage {
  const mean = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < size; i++) {
    for (const [x, y] of [[i, 0], [i, size - 1], [0, i], [size - 1, i]]) {
      const o = (y * size + x) * 3;
      mean[0] += crop[o]; mean[1] += crop[o + 1]; mean[2] += crop[o + 2]; n++;
    }
  }
  const W = size * 2;
  const data = new Uint8Array(W * W * 3);
  for (let i = 0; i < W * W; i++) { data[3 * i] = mean[0] / n; data[3 * i + 1] = mean[1] / n; data[3 * i + 2] = mean[2] / n; }
  const off = size / 2;
  for (let y = 0; y < size; y++) data.set(crop.subarray(y * size * 3, (y + 1) * size * 3), ((y + off) * W + off) * 3);
  return { width: W, height: W, data };
}

export interface AnalysedReconstruction {
  image: RgbImage;
  face: FaceGeometry | null;
  /** Why no face was found, when none was. */
  failure?: string;
}

export async function analyseReconstructions(analyzer: FaceAnalyzer, crops: readonly Uint8Array[], size: number, names: readonly string[]): Promise<AnalysedReconstruction[]> {
  const out: AnalysedReconstruction[] = [];
  for (const [i, crop] of crops.entries()) {
    const image = padToCanvas(crop, size);
    try {
      out.push({ image, face: geometryOf(await analyzer.analyse(image, names[i])) });
    } catch (err) {
      out.push({ image, face: null, failure: (err as Error).message });
    }
  }
  return out;
}

/** Embeds the analysed reconstructions with one encoder: one row per input, null where no face was found. */
export async function embedAnalysed(encoder: Encoder, items: readonly AnalysedReconstruction[], alignment: AlignmentSpec, batch = 16): Promise<(Float32Array | null)[]> {
  const out: (Float32Array | null)[] = items.map(() => null);
  const rows = items.map((it, i) => (it.face ? i : -1)).filter((i) => i >= 0);
  const S = alignment.size;
  for (let s = 0; s < rows.length; s += batch) {
    const chunk = rows.slice(s, s + batch);
    const pixels = new Uint8Array(chunk.length * S * S * 3);
    chunk.forEach((r, k) => pixels.set(alignFace(items[r].image, items[r].face as FaceGeometry, alignment), k * S * S * 3));
    const t = tf.tidy(() => tf.tensor4d(pixels, [chunk.length, S, S, 3], 'int32').toFloat().div(255) as tf.Tensor4D);
    try {
      const emb = await encoder.embed(t);
      chunk.forEach((r, k) => { out[r] = emb[k]; });
    } finally {
      t.dispose();
    }
  }
  return out;
}
