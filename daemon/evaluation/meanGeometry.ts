/**
 * The mean face geometry of a crop frame: where the detector box and the 68 landmarks of an average face
 * fall in an aligned crop (e.g. `arcface-5pt` at 112 px), averaged over the attacker's own training photos.
 * It is the "known template geometry" that lets the `direct` protocol hand a reconstruction made in one
 * encoder's frame to an encoder with another template (dlib's chip, human's box crop) without running a
 * detector on it: align the reconstruction as if it showed this average face.
 */
import { alignmentTransform, applySimilarity, FaceGeometry } from '../data/align';
import type { FaceAnalysis } from '../data/faceAnalysis';
import { geometryOf } from '../data/faceAnalysis';
import type { AlignmentSpec } from '../data/templates';

export function meanFaceGeometry(analyses: readonly (FaceAnalysis | null)[], frame: AlignmentSpec): FaceGeometry {
  const lm = new Float64Array(136);
  const box = [0, 0, 0, 0];
  let n = 0;
  for (const a of analyses) {
    if (!a) continue;
    const t = alignmentTransform(geometryOf(a), frame);
    for (let i = 0; i < 68; i++) {
      const [x, y] = applySimilarity(t, [a.landmarks[2 * i], a.landmarks[2 * i + 1]]);
      lm[2 * i] += x; lm[2 * i + 1] += y;
    }
    // The box is axis-aligned in the photo; in the crop it keeps its centre and is scaled by the transform.
    const s = Math.hypot(t.a, t.b);
    const [cx, cy] = applySimilarity(t, [(a.box.x1 + a.box.x2) / 2, (a.box.y1 + a.box.y2) / 2]);
    const w = (a.box.x2 - a.box.x1) * s, h = (a.box.y2 - a.box.y1) * s;
    box[0] += cx - w / 2; box[1] += cy - h / 2; box[2] += cx + w / 2; box[3] += cy + h / 2;
    n++;
  }
  if (n === 0) throw new Error('mean face geometry: no analysed training faces');
  return {
    box: { x1: box[0] / n, y1: box[1] / n, x2: box[2] / n, y2: box[3] / n, score: 1 },
    landmarks: Float32Array.from(lm, (v) => v / n),
  };
}

/** The same geometry shifted by (dx, dy), e.g. onto the canvas a crop is pasted into. */
export function shiftGeometry(g: FaceGeometry, dx: number, dy: number): FaceGeometry {
  return {
    box: { ...g.box, x1: g.box.x1 + dx, y1: g.box.y1 + dy, x2: g.box.x2 + dx, y2: g.box.y2 + dy },
    landmarks: g.landmarks.map((v, i) => v + (i % 2 === 0 ? dx : dy)),
  };
}
