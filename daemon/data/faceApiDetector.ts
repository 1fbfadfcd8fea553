/**
 * A second, independent face pipeline: face-api's SSD MobileNet v1 detector (Liu et al., "SSD: Single Shot
 * MultiBox Detector", ECCV 2016, on a MobileNet v1 backbone, Howard et al. 2017; trained by
 * justadudewhohacks/face-api.js on WIDER FACE) and its 68-point landmark net (iBUG-300W point order, the same
 * order as daemon/data/landmarks.ts), run by @vladmandic/face-api's own code and weights
 * (`model/ssd_mobilenetv1_model*`, `model/face_landmark_68_model*`). The attack never uses this family (its
 * face check is the project's faceplugin detector), so the evaluation's `independent` protocol can ask
 * whether a system the search never saw finds the reconstructions as faces.
 *
 * face-api's `node-wasm` bundle requires `@tensorflow/tfjs` and `@tensorflow/tfjs-backend-wasm`, which
 * resolve to the project's one TF.js instance (daemon/tfjs/tf.ts), so it runs on the engine already started.
 * Its networks are module-level singletons: one analyzer at a time.
 */
import * as path from 'node:path';
import { tf } from '../tfjs/tf';
import type { FaceGeometry } from './align';
import { FaceDataError } from './errors';
import type { RgbImage } from './image';

/** face-api's own default (SsdMobilenetv1Options.minConfidence): not tuned here. */
export const FACEAPI_MIN_CONFIDENCE = 0.5;

interface FaceApiPoint { x: number; y: number }
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: FaceApiPoint[] };
}
interface FaceApiNet { loadFromDisk(dir: string): Promise<void>; dispose(): void; isLoaded: boolean }
interface FaceApiModule {
  nets: { ssdMobilenetv1: FaceApiNet; faceLandmark68Net: FaceApiNet };
  SsdMobilenetv1Options: new (o: { minConfidence?: number; maxResults?: number }) => unknown;
  /** Only `.run()` is used: the task's own `then` drops rejections (see `analyse`). */
  detectAllFaces(input: tf.Tensor3D, options: unknown): { withFaceLandmarks(): { run(): Promise<FaceApiResult[]> } };
}

/** The package's model folder (weights manifests and shards). */
export function faceApiModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

function loadModule(): FaceApiModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
  } catch (err) {
    throw new Error(`face-api detector: @vladmandic/face-api cannot be loaded (${(err as Error).message}); run npm install`);
  }
}

export class FaceApiAnalyzer {
  private disposed = false;
  private constructor(private readonly api: FaceApiModule, private readonly minConfidence: number) {}

  static async load(opts: { minConfidence?: number } = {}): Promise<FaceApiAnalyzer> {
    const api = loadModule();
    const dir = faceApiModelDir();
    try {
      if (!api.nets.ssdMobilenetv1.isLoaded) await api.nets.ssdMobilenetv1.loadFromDisk(dir);
      if (!api.nets.faceLandmark68Net.isLoaded) await api.nets.faceLandmark68Net.loadFromDisk(dir);
    } catch (err) {
      throw new Error(`face-api detector: its SSD MobileNet v1 or 68-landmark weights in ${dir} cannot be loaded (${(err as Error).message})`);
    }
    return new FaceApiAnalyzer(api, opts.minConfidence ?? FACEAPI_MIN_CONFIDENCE);
  }

  /** The most confident face and its 68 landmarks, in image pixels. Throws FaceDataError('no-face'). */
  async analyse(img: RgbImage, name: string): Promise<FaceGeometry> {
    if (this.disposed) throw new Error('face-api detector: used after dispose()');
    if (img.data.length !== img.width * img.height * 3) throw new Error(`face-api detector: ${name} is not ${img.width}×${img.height} RGB`);
    const x = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
    let all: FaceApiResult[];
    try {
      // Not `await detectSingleFace(...)`: face-api's tasks are thenables whose `then` ignores the rejection
      // handler, and detectSingleFace wraps its detection in a promise that never settles when the detector
      // throws; either way an error left the evaluation waiting forever. detectAllFaces(...).run() is a plain
      // promise chain that rejects.
      all = await this.api.detectAllFaces(x, new this.api.SsdMobilenetv1Options({ minConfidence: this.minConfidence })).withFaceLandmarks().run();
    } finally {
      x.dispose();
    }
    const r = all.reduce<FaceApiResult | undefined>((best, f) => (!best || f.detection.score > best.detection.score ? f : best), undefined);
    if (!r) throw new FaceDataError(name, 'no-face', `face-api SSD MobileNet v1 found no face scored ≥ ${this.minConfidence} in ${img.width}×${img.height} px`);
    return geometryFromFaceApi(r);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // A net already unloaded throws on dispose: only loaded ones are released.
    for (const net of [this.api.nets.ssdMobilenetv1, this.api.nets.faceLandmark68Net]) if (net.isLoaded) net.dispose();
  }
}

/** face-api's detection (box x, y, width, height) and 68 positions → the project's FaceGeometry. */
export function geometryFromFaceApi(r: FaceApiResult): FaceGeometry {
  const p = r.landmarks.positions;
  if (p.length !== 68) throw new Error(`face-api detector: expected 68 landmarks, got ${p.length}`);
  const landmarks = new Float32Array(136);
  p.forEach((q, i) => { landmarks[2 * i] = q.x; landmarks[2 * i + 1] = q.y; });
  const b = r.detection.box;
  return { box: { x1: b.x, y1: b.y, x2: b.x + b.width, y2: b.y + b.height, score: r.detection.score }, landmarks };
}
