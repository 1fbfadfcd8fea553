/**
 * 68-point facial landmarks (iBUG 300-W layout) with faceplugin's `fr_landmark.onnx`: input [1, 1, 64, 64] gray
 * in [0, 1) (p / 256) of the face box made square, output [1, 136] = 68 (x, y) pairs as fractions of that box.
 * The box preparation follows faceplugin's JS (`scaleResult` squares the detector box to its height around its
 * centre and clips it to the image; `predictLandmarkImage` crops it and resizes to 64×64).
 * Also the reductions to five points used by the alignment templates (templates.ts).
 */
import * as ort from 'onnxruntime-node';
import type { RgbImage } from './image';
import type { FaceBox } from './detect';
import { resizeRegion, toGray } from './pixels';
import { facepluginModelPath, openSession, SessionOptions } from './faceModels';
import { FaceDataError } from './errors';

/** 68 landmarks in image pixels, [x0, y0, x1, y1, …], length 136. */
export type Landmarks68 = Float32Array;
/** Five (x, y) points in image pixels. */
export type Points5 = [number, number][];

const LM_SIZE = 64;

/** faceplugin's square landmark box: side = detector box height, same centre, clipped to the image, integer. */
export function landmarkBox(face: FaceBox, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const side = face.y2 - face.y1;
  const cx = (face.x1 + face.x2) / 2;
  const cy = (face.y1 + face.y2) / 2;
  const x1 = Math.trunc(Math.max(0, cx - side / 2));
  const y1 = Math.trunc(Math.max(0, cy - side / 2));
  const x2 = Math.trunc(Math.min(width - 1, cx + side / 2));
  const y2 = Math.trunc(Math.min(height - 1, cy + side / 2));
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

export class LandmarkModel {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(opts: SessionOptions = {}): Promise<LandmarkModel> {
    return new LandmarkModel(await openSession(facepluginModelPath('fr_landmark.onnx'), opts));
  }

  /** The 68 landmarks of the face in `face`; `file` names the image in errors. */
  async predict(img: RgbImage, face: FaceBox, file: string): Promise<Landmarks68> {
    const box = landmarkBox(face, img.width, img.height);
    if (box.w < 4 || box.h < 4) {
      throw new FaceDataError(file, 'landmarks-failed', `face box ${box.w}×${box.h} px at (${box.x}, ${box.y}) is too small for landmarks`);
    }
    const gray = toGray(resizeRegion(img, box.x, box.y, box.w, box.h, LM_SIZE, LM_SIZE));
    for (let i = 0; i < gray.length; i++) gray[i] /= 256;
    const out = await this.session.run({ input: new ort.Tensor('float32', gray, [1, 1, LM_SIZE, LM_SIZE]) });
    try {
      const raw = out.output.data as Float32Array;
      if (raw.length !== 136) throw new Error(`fr_landmark.onnx returned ${raw.length} values, expected 136`);
      const lm = new Float32Array(136);
      for (let i = 0; i < 68; i++) {
        lm[2 * i] = raw[2 * i] * box.w + box.x;
        lm[2 * i + 1] = raw[2 * i + 1] * box.h + box.y;
        if (!Number.isFinite(lm[2 * i]) || !Number.isFinite(lm[2 * i + 1])) {
          throw new FaceDataError(file, 'landmarks-failed', `landmark ${i} is not finite`);
        }
      }
      return lm;
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function mean(lm: Landmarks68, idx: number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of idx) {
    x += lm[2 * i];
    y += lm[2 * i + 1];
  }
  return [x / idx.length, y / idx.length];
}

/**
 * faceplugin's `convert68pts5pts`: eye centres (mean of the 4 eyelid points 37,38,40,41 / 43,44,46,47), nose
 * tip 30, mouth corners (mean of outer and inner lip corner: 48+60, 54+64). Order: image-left eye, image-right
 * eye, nose, image-left mouth corner, image-right mouth corner — the order of the ArcFace reference points.
 */
export function arcfacePointsFrom68(lm: Landmarks68): Points5 {
  return [
    mean(lm, [37, 38, 40, 41]),
    mean(lm, [43, 44, 46, 47]),
    mean(lm, [30]),
    mean(lm, [48, 60]),
    mean(lm, [54, 64]),
  ];
}

/**
 * dlib's 5-point model (shape_predictor_5_face_landmarks) in 68-point terms: the subject's left eye outer (45)
 * and inner (42) corner, right eye outer (36) and inner (39) corner, and the base of the nose (33). Same order
 * as dlib's parts 0..4.
 */
export function dlibPointsFrom68(lm: Landmarks68): Points5 {
  return [mean(lm, [45]), mean(lm, [42]), mean(lm, [36]), mean(lm, [39]), mean(lm, [33])];
}
