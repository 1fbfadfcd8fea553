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
 *
 * The SSD network runs on ONNX Runtime by default (faceApiSsdOrt.ts: face-api's weights and post-processing,
 * its detections to float rounding, several times faster); `runtime: 'tfjs'` keeps face-api's own forward.
 */
import * as path from 'node:path';
import { tf } from '../tfjs/tf';
import type { FaceGeometry } from './align';
import { FaceDataError } from './errors';
import type { RgbImage } from './image';
import { OrtSsd, SSD_INPUT, type SsdParams } from './faceApiSsdOrt';

/** face-api's own default (SsdMobilenetv1Options.minConfidence): not tuned here. */
export const FACEAPI_MIN_CONFIDENCE = 0.5;

interface FaceApiPoint { x: number; y: number }
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: FaceApiPoint[] };
}
interface FaceApiNet { loadFromDisk(dir: string): Promise<void>; dispose(): void; isLoaded: boolean }
type LocateFaces = (input: unknown, options: { minConfidence: number; maxResults: number }) => Promise<unknown[]>;
interface FaceApiSsdNet extends FaceApiNet { params: SsdParams; locateFaces: LocateFaces }
interface FaceApiNetInput {
  toBatchTensor(size: number, centre: boolean): tf.Tensor4D;
  getReshapedInputDimensions(i: number): { width: number; height: number };
  getInputHeight(i: number): number;
  getInputWidth(i: number): number;
  inputSize: number;
}
interface FaceApiModule {
  nets: { ssdMobilenetv1: FaceApiSsdNet; faceLandmark68Net: FaceApiNet };
  SsdMobilenetv1Options: new (o: { minConfidence?: number; maxResults?: number }) => unknown;
  toNetInput(input: unknown): Promise<FaceApiNetInput>;
  FaceDetection: new (score: number, box: unknown, dims: { height: number; width: number }) => unknown;
  Rect: new (x: number, y: number, w: number, h: number) => unknown;
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

/**
 * face-api's SsdMobilenetv1.locateFaces with the network on `ssd`: the same input tensor (toBatchTensor(512,
 * false)), the same clipping and scaling of the boxes back through the square padding, face-api's classes.
 */
function ortLocateFaces(api: FaceApiModule, ssd: OrtSsd): LocateFaces {
  return async (input, options) => {
    const netInput = await api.toNetInput(input);
    const batch = tf.tidy(() => tf.cast(netInput.toBatchTensor(SSD_INPUT, false), 'float32') as tf.Tensor4D);
    let found;
    try {
      found = await ssd.detect(batch, options.maxResults, options.minConfidence);
    } finally {
      batch.dispose();
    }
    const reshaped = netInput.getReshapedInputDimensions(0);
    const padX = netInput.inputSize / reshaped.width, padY = netInput.inputSize / reshaped.height;
    const dims = { height: netInput.getInputHeight(0), width: netInput.getInputWidth(0) };
    return found.map(({ score, box }) => {
      const top = Math.max(0, box[0]) * padY, bottom = Math.min(1, box[2]) * padY;
      const left = Math.max(0, box[1]) * padX, right = Math.min(1, box[3]) * padX;
      return new api.FaceDetection(score, new api.Rect(left, top, right - left, bottom - top), dims);
    });
  };
}

export class FaceApiAnalyzer {
  private disposed = false;
  private constructor(
    private readonly api: FaceApiModule,
    private readonly minConfidence: number,
    /** The SSD network on ONNX Runtime, with face-api's own locateFaces to put back on dispose (null: TF.js). */
    private readonly ort: { ssd: OrtSsd; original: LocateFaces } | null,
  ) {}

  /** Which runtime runs the SSD network: 'onnxruntime' (default) or face-api's own TF.js forward. */
  get runtime(): 'onnxruntime' | 'tfjs' {
    return this.ort ? 'onnxruntime' : 'tfjs';
  }

  static async load(opts: { minConfidence?: number; runtime?: 'onnxruntime' | 'tfjs' } = {}): Promise<FaceApiAnalyzer> {
    const api = loadModule();
    const dir = faceApiModelDir();
    try {
      if (!api.nets.ssdMobilenetv1.isLoaded) await api.nets.ssdMobilenetv1.loadFromDisk(dir);
      if (!api.nets.faceLandmark68Net.isLoaded) await api.nets.faceLandmark68Net.loadFromDisk(dir);
    } catch (err) {
      throw new Error(`face-api detector: its SSD MobileNet v1 or 68-landmark weights in ${dir} cannot be loaded (${(err as Error).message})`);
    }
    let ort: { ssd: OrtSsd; original: LocateFaces } | null = null;
    if ((opts.runtime ?? 'onnxruntime') === 'onnxruntime') {
      const net = api.nets.ssdMobilenetv1;
      const ssd = await OrtSsd.open(net.params);
      ort = { ssd, original: net.locateFaces };
      net.locateFaces = ortLocateFaces(api, ssd);
    }
    return new FaceApiAnalyzer(api, opts.minConfidence ?? FACEAPI_MIN_CONFIDENCE, ort);
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
    if (this.ort) {
      this.api.nets.ssdMobilenetv1.locateFaces = this.ort.original;
      this.ort.ssd.release().catch(() => undefined); // releasing a session can only fail when it is already gone
    }
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
