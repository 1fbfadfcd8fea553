/**
 * face-api's SSD MobileNet v1 face detector (see faceApiDetector.ts) with its network on ONNX Runtime: the
 * same weights (read from the loaded face-api net), the same ops, and face-api's own post-processing
 * (SsdMobilenetv1.locateFaces: box decoding against its 5,118 anchors, sigmoid scores, its greedy NMS at IoU
 * 0.5, boxes scaled back through the square padding), so detections equal face-api's to float rounding. On
 * TF.js wasm the 512² network took ≈ 90 % of the `independent` protocol's time per image (382 of 439 ms under
 * load on 2 cores); `faceinv bench` prints both.
 *
 *   input [1, 512, 512, 3] float32 in [0, 255] (face-api's toBatchTensor(512, false): padded to square at the
 *   bottom/right, resized bilinear) → x/127.5 − 1 → MobileNet v1 (conv 3×3/2 + 13 depthwise-separable pairs,
 *   batch norm folded into the depthwise conv, relu6) → 8 extra convs → 6 box predictors → box encodings
 *   [1, 5118, 4] and class logits [1, 5118, 3].
 */
import { convWeights, samePads } from '../onnx/tfjsGraphImport';
import { GraphBuilder } from '../ort/graph';
import { createSession, type OrtSession } from '../ort/session';
import { tf } from '../tfjs/tf';
import * as ort from 'onnxruntime-node';

export const SSD_INPUT = 512;
const BN_EPSILON = 0.0010000000474974513;
const NMS_IOU = 0.5;

type T = tf.Tensor;
interface Pointwise { filters: T; batch_norm_offset: T }
interface Depthwise { filters: T; batch_norm_scale: T; batch_norm_offset: T; batch_norm_mean: T; batch_norm_variance: T }
interface Conv { filters: T; bias: T }
interface BoxPredictor { box_encoding_predictor: Conv; class_predictor: Conv }
/** face-api's SsdMobilenetv1 `params` (types.ts there), as loaded. */
export interface SsdParams {
  mobilenetv1: Record<string, Pointwise | { depthwise_conv: Depthwise; pointwise_conv: Pointwise }>;
  prediction_layer: Record<string, Pointwise | BoxPredictor>;
  output_layer: { extra_dim: T };
}

const host = (t: T): Float32Array => Float32Array.from(t.dataSync() as Float32Array);

/** TF filters as ONNX Conv weights (convWeights); a depthwise kernel's channel c scaled by `scale[c]` when given. */
function onnxFilters(t: T, depthwise: boolean, scale?: Float32Array): { data: Float32Array; dims: number[] } {
  const { data, shape } = convWeights({ data: host(t), shape: t.shape }, depthwise);
  if (scale) {
    const per = data.length / shape[0]; // a depthwise multiplier of 1: output channel = input channel
    for (let c = 0; c < shape[0]; c++) for (let k = 0; k < per; k++) data[c * per + k] *= scale[c];
  }
  return { data, dims: shape };
}

class SsdGraph {
  readonly b = new GraphBuilder('face-api-ssd');
  private k = 0;

  /** Conv with TF 'same' padding (the extra row/column after) and a bias; relu6 when asked. */
  conv(x: string, w: { data: Float32Array; dims: number[] }, bias: Float32Array, stride: number, group: number, relu6: boolean): string {
    const s = this.b.shape(x) as number[];
    const kh = w.dims[2];
    const [lo, hi] = samePads(s[2], kh, stride, 1); // square maps and kernels: the same pads on both axes
    const y = this.b.op('Conv', [x, this.b.constant(w.data, w.dims, 'float32', `w${this.k}`), this.b.constant(bias, [bias.length], 'float32', `b${this.k++}`)],
      { kernel_shape: [kh, kh], strides: [stride, stride], pads: [lo, lo, hi, hi], group });
    return relu6 ? this.b.op('Clip', [y, this.b.scalar(0), this.b.scalar(6)]) : y;
  }

  pointwise(x: string, p: Pointwise, stride: number): string {
    return this.conv(x, onnxFilters(p.filters, false), host(p.batch_norm_offset), stride, 1, true);
  }

  /** Depthwise conv then batch norm, folded: w·a per channel, bias offset − mean·a, a = scale/√(var + ε). */
  depthwise(x: string, p: Depthwise, stride: number): string {
    const scale = host(p.batch_norm_scale), v = host(p.batch_norm_variance), mean = host(p.batch_norm_mean), off = host(p.batch_norm_offset);
    const a = scale.map((s, i) => s / Math.sqrt(v[i] + BN_EPSILON));
    const bias = off.map((o, i) => o - mean[i] * a[i]);
    return this.conv(x, onnxFilters(p.filters, true, a), bias, stride, a.length, true);
  }

  /** A predictor's conv output NCHW → face-api's row order (h, w, anchor) as [1, H·W·A, n]. */
  predictor(x: string, c: Conv, n: number): string {
    const y = this.conv(x, onnxFilters(c.filters, false), host(c.bias), 1, 1, false);
    return this.b.op('Reshape', [this.b.op('Transpose', [y], { perm: [0, 2, 3, 1] }), this.b.ints([1, -1, n])]);
  }
}

/** The network as an ONNX model: input `x` [1, 512, 512, 3] in [0, 255]; outputs `boxes` [1, A, 4], `classes` [1, A, 3]. */
export function ssdOnnx(p: SsdParams): Uint8Array {
  const g = new SsdGraph();
  const b = g.b;
  const x = b.input('x', [1, SSD_INPUT, SSD_INPUT, 3]);
  let out = b.op('Transpose', [b.op('Sub', [b.op('Mul', [x, b.scalar(1 / 127.5)]), b.scalar(1)])], { perm: [0, 3, 1, 2] });
  const mn = p.mobilenetv1;
  out = g.pointwise(out, mn.conv_0 as Pointwise, 2);
  let conv11 = '';
  for (let i = 1; i <= 13; i++) {
    const pair = mn[`conv_${i}`] as { depthwise_conv: Depthwise; pointwise_conv: Pointwise };
    out = g.depthwise(out, pair.depthwise_conv, [2, 4, 6, 12].includes(i) ? 2 : 1);
    out = g.pointwise(out, pair.pointwise_conv, 1);
    if (i === 11) conv11 = out;
  }
  const pl = p.prediction_layer;
  const extra: string[] = [];
  let y = out;
  for (let i = 0; i < 8; i++) { y = g.pointwise(y, pl[`conv_${i}`] as Pointwise, i % 2 === 1 ? 2 : 1); extra.push(y); }
  const sources = [conv11, out, extra[1], extra[3], extra[5], extra[7]];
  const boxes = sources.map((s, i) => g.predictor(s, (pl[`box_predictor_${i}`] as BoxPredictor).box_encoding_predictor, 4));
  const classes = sources.map((s, i) => g.predictor(s, (pl[`box_predictor_${i}`] as BoxPredictor).class_predictor, 3));
  b.output(b.rename(b.op('Concat', boxes, { axis: 1 }), 'boxes'), b.rename(b.op('Concat', classes, { axis: 1 }), 'classes'));
  return b.toBytes();
}

/** A detection in face-api's terms: score and the box relative to the padded square, (ymin, xmin, ymax, xmax). */
export interface RawDetection { score: number; box: [number, number, number, number] }

/** face-api's decodeBoxesLayer: anchors (ymin, xmin, ymax, xmax) and encodings (ty, tx, th, tw) → boxes. */
function decode(anchors: Float32Array, enc: Float32Array, i: number): [number, number, number, number] {
  const a = i * 4;
  const h = anchors[a + 2] - anchors[a], w = anchors[a + 3] - anchors[a + 1];
  const cy = anchors[a] + h / 2, cx = anchors[a + 1] + w / 2;
  const halfH = (Math.exp(enc[a + 2] / 5) * h) / 2, halfW = (Math.exp(enc[a + 3] / 5) * w) / 2;
  const y = (enc[a] / 10) * h + cy, x = (enc[a + 1] / 10) * w + cx;
  return [y - halfH, x - halfW, y + halfH, x + halfW];
}

function iou(p: readonly number[], q: readonly number[]): number {
  const [ay0, ax0, ay1, ax1] = [Math.min(p[0], p[2]), Math.min(p[1], p[3]), Math.max(p[0], p[2]), Math.max(p[1], p[3])];
  const [by0, bx0, by1, bx1] = [Math.min(q[0], q[2]), Math.min(q[1], q[3]), Math.max(q[0], q[2]), Math.max(q[1], q[3])];
  const areaA = (ay1 - ay0) * (ax1 - ax0), areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const inter = Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0) * Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
  return inter / (areaA + areaB - inter);
}

/** face-api's nonMaxSuppression: scores above the threshold, best first, greedy at IoU `NMS_IOU` (boxes: those candidates'). */
function nms(boxes: ReadonlyMap<number, [number, number, number, number]>, scores: Float32Array, maxResults: number, minScore: number): number[] {
  const order = Array.from(scores.keys()).filter((i) => scores[i] > minScore).sort((a, b) => scores[b] - scores[a]);
  const chosen: number[] = [];
  for (const i of order) {
    if (chosen.length >= Math.min(maxResults, scores.length)) break;
    if (chosen.every((j) => iou(boxes.get(i)!, boxes.get(j)!) <= NMS_IOU)) chosen.push(i);
  }
  return chosen;
}

/** The detector: one ONNX Runtime session of the SSD network, and face-api's post-processing in JS. */
export class OrtSsd {
  private released = false;
  private constructor(private readonly s: OrtSession, private readonly anchors: Float32Array) {}

  static async open(p: SsdParams): Promise<OrtSsd> {
    const s = await createSession(ssdOnnx(p), "face-api's SSD MobileNet v1", { provider: 'cpu' });
    return new OrtSsd(s, host(p.output_layer.extra_dim));
  }

  /** Detections in a batch tensor from face-api's toBatchTensor(512, false) ([1, 512, 512, 3] in [0, 255]). */
  async detect(batch: tf.Tensor4D, maxResults: number, minConfidence: number): Promise<RawDetection[]> {
    if (this.released) throw new Error("face-api's SSD on ONNX Runtime: used after release()");
    const data = (await batch.data()) as Float32Array;
    const out = await this.s.session.run({ x: new ort.Tensor('float32', data, [1, SSD_INPUT, SSD_INPUT, 3]) });
    const enc = out.boxes.data as Float32Array, cls = out.classes.data as Float32Array;
    const n = enc.length / 4;
    const scores = Float32Array.from({ length: n }, (_, i) => 1 / (1 + Math.exp(-cls[i * 3 + 1])));
    // Only the candidates above minConfidence ever reach NMS: decode their boxes alone (face-api decodes all 5,118).
    const boxes = new Map<number, [number, number, number, number]>();
    scores.forEach((sc, i) => { if (sc > minConfidence) boxes.set(i, decode(this.anchors, enc, i)); });
    out.boxes.dispose?.(); out.classes.dispose?.();
    return nms(boxes, scores, maxResults, minConfidence).map((i) => ({ score: scores[i], box: boxes.get(i)! }));
  }

  /** Releases the session (once; later calls do nothing). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.s.session.release();
  }
}

