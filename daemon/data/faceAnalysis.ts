/**
 * One image's face analysis: decode → detect → pick the primary face → 68 landmarks. The result is what the
 * face cache stores per image, so aligning the same image to several templates never re-runs detection.
 */
import { decodeImage, RgbImage } from './image';
import { FaceDetector, FaceBox, pickPrimaryFace, DetectOptions } from './detect';
import { LandmarkModel } from './landmarks';
import { FaceDataError } from './errors';
import type { FaceGeometry } from './align';

/** Serialisable analysis of one image (JSON-safe: landmarks as a plain number array). */
export interface FaceAnalysis {
  /** Decoded image size in pixels (after EXIF rotation). */
  width: number;
  height: number;
  /** How many faces the detector kept; > 1 means the run chose one (see `box`). */
  faceCount: number;
  /** The chosen face (largest, most central). */
  box: FaceBox;
  /** Its 68 landmarks in image pixels, [x0, y0, …] (136 numbers). */
  landmarks: number[];
}

/** Bumped whenever detection, landmark or selection logic changes in a way that changes results. */
export const FACE_ANALYSIS_VERSION = 1;

export class FaceAnalyzer {
  private constructor(readonly detector: FaceDetector, readonly landmarker: LandmarkModel, private readonly detectOpts: DetectOptions) {}

  static async load(opts: { threads?: number; detect?: DetectOptions } = {}): Promise<FaceAnalyzer> {
    const [d, l] = await Promise.all([FaceDetector.load(opts), LandmarkModel.load(opts)]);
    return new FaceAnalyzer(d, l, opts.detect ?? {});
  }

  /** Analyses a decoded image. Throws FaceDataError('no-face' | 'landmarks-failed'). */
  async analyse(img: RgbImage, file: string): Promise<FaceAnalysis> {
    const faces = await this.detector.detect(img, this.detectOpts);
    if (faces.length === 0) {
      throw new FaceDataError(file, 'no-face', `no face scored ≥ ${this.detectOpts.scoreThreshold ?? 0.65} in ${img.width}×${img.height} px`);
    }
    const box = faces[pickPrimaryFace(faces, img.width, img.height)];
    const lm = await this.landmarker.predict(img, box, file);
    return { width: img.width, height: img.height, faceCount: faces.length, box, landmarks: Array.from(lm) };
  }

  /** Decodes `file` and analyses it; returns the image too (alignment needs its pixels). */
  async analyseFile(file: string): Promise<{ image: RgbImage; analysis: FaceAnalysis }> {
    const image = await decodeImage(file);
    return { image, analysis: await this.analyse(image, file) };
  }

  async dispose(): Promise<void> {
    await Promise.all([this.detector.dispose(), this.landmarker.dispose()]);
  }
}

export function geometryOf(a: FaceAnalysis): FaceGeometry {
  return { box: a.box, landmarks: Float32Array.from(a.landmarks) };
}
