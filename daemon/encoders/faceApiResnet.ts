/**
 * face-api's FaceRecognitionNet re-implemented in TF.js ops: the dlib face recognition ResNet
 * (King, "High Quality Face Recognition with Deep Metric Learning", dlib blog 2017; a ResNet-34-like
 * network with a few layers removed and the filter counts halved, trained on ~3M faces, 99.38% LFW),
 * ported to TF.js weights by justadudewhohacks/face-api.js and shipped in @vladmandic/face-api as
 * `model/face_recognition_model-weights_manifest.json` + `.bin` (uint8-quantised float32).
 *
 * Structure follows face-api's `src/faceRecognitionNet/FaceRecognitionNet.ts`: input 150×150 RGB,
 * (p − meanRGB[122.782, 117.001, 104.298]) / 255; conv 7×7/2 valid → maxpool 3/2 → 3 residual(32) →
 * residualDown(64) + 3 residual(64) → residualDown(128) + 2 residual(128) → residualDown(256) + 2 residual(256)
 * → residualDown(256) → global mean → fc 256→128. Each conv is conv + bias followed by a per-channel scale
 * layer (x·w + b); we fold the scale into the filters and bias at load (exact: (conv(x,f)+c)·w+b =
 * conv(x,f·w) + (c·w+b)). residualDown's shortcut is a 2×2/2 average pool, zero-padded in channels, and its
 * main path is zero-padded by one row/column at the end when the pooled map is larger (odd sizes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../tfjs/tf';
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { AlignedBatch, Encoder } from './types';
import { checkAlignedBatch, l2NormalizeRows, takeRows, toModelInput } from './preprocess';

/** One conv layer with the scale layer folded in: filters [k,k,cin,cout], bias [cout]. */
interface FoldedConv {
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
}

interface ResidualParams {
  conv1: FoldedConv;
  conv2: FoldedConv;
}

/** Layer names in the weights manifest, with their channel counts and whether they downsample. */
const RESIDUAL_LAYERS: { name: string; cin: number; cout: number; down: boolean }[] = [
  { name: 'conv32_1', cin: 32, cout: 32, down: false },
  { name: 'conv32_2', cin: 32, cout: 32, down: false },
  { name: 'conv32_3', cin: 32, cout: 32, down: false },
  { name: 'conv64_down', cin: 32, cout: 64, down: true },
  { name: 'conv64_1', cin: 64, cout: 64, down: false },
  { name: 'conv64_2', cin: 64, cout: 64, down: false },
  { name: 'conv64_3', cin: 64, cout: 64, down: false },
  { name: 'conv128_down', cin: 64, cout: 128, down: true },
  { name: 'conv128_1', cin: 128, cout: 128, down: false },
  { name: 'conv128_2', cin: 128, cout: 128, down: false },
  { name: 'conv256_down', cin: 128, cout: 256, down: true },
  { name: 'conv256_1', cin: 256, cout: 256, down: false },
  { name: 'conv256_2', cin: 256, cout: 256, down: false },
  { name: 'conv256_down_out', cin: 256, cout: 256, down: true },
];

const FACE_API_INPUT = 150;
const FACE_API_DIM = 128;

interface WeightsManifestGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** Reads a TF.js weights manifest and its .bin shards into named tensors (dequantised). Caller disposes. */
export function readWeightsManifest(manifestFile: string, who: string): tf.NamedTensorMap {
  if (!fs.existsSync(manifestFile)) throw new Error(`${who}: weights manifest not found`);
  let groups: WeightsManifestGroup[];
  try {
    groups = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as WeightsManifestGroup[];
  } catch (err) {
    throw new Error(`${who}: weights manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) {
    throw new Error(`${who}: not a TF.js weights manifest (expected [{ paths: [...], weights: [...] }])`);
  }
  const dir = path.dirname(manifestFile);
  const map: tf.NamedTensorMap = {};
  try {
    for (const group of groups) {
      const buffers = group.paths.map((p) => {
        const f = path.join(dir, p);
        if (!fs.existsSync(f)) throw new Error(`${who}: weights shard ${f} not found`);
        return fs.readFileSync(f);
      });
      const joined = Buffer.concat(buffers);
      const data = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
      let decoded: tf.NamedTensorMap;
      try {
        // tidy: a decode that fails half-way must not leave the tensors it already made.
        decoded = tf.tidy(() => tf.io.decodeWeights(data, group.weights));
      } catch (err) {
        throw new Error(`${who}: weights in ${group.paths.join(', ')} do not match the manifest: ${(err as Error).message}`);
      }
      Object.assign(map, decoded);
    }
  } catch (err) {
    tf.dispose(Object.values(map));
    throw err;
  }
  return map;
}

function takeFolded(map: tf.NamedTensorMap, prefix: string, shape: number[], who: string): FoldedConv {
  const get = (name: string, want: number[]): tf.Tensor => {
    const t = map[`${prefix}/${name}`];
    if (!t) throw new Error(`${who}: weight "${prefix}/${name}" missing from the manifest`);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${who}: weight "${prefix}/${name}" has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`);
    }
    return t;
  };
  const cout = shape[3];
  const f = get('conv/filters', shape);
  const c = get('conv/bias', [cout]);
  const w = get('scale/weights', [cout]);
  const b = get('scale/biases', [cout]);
  return tf.tidy(() => ({
    filters: tf.mul(f, w) as tf.Tensor4D,
    bias: tf.add(tf.mul(c, w), b) as tf.Tensor1D,
  }));
}

/** One folded conv as host arrays: filters in TF layout [k, k, cin, cout] (`shape`), bias [cout]. */
export interface FaceApiConv { filters: Float32Array; shape: number[]; bias: Float32Array }

/** The whole network's weights on the host (see FaceApiResnetEncoder.exportParams). */
export interface FaceApiParams {
  stem: FaceApiConv;
  layers: Array<{ down: boolean; conv1: FaceApiConv; conv2: FaceApiConv }>;
  /** [256, 128]. */
  fc: Float32Array;
  /** The config's input normalisation: (255·x − mean) / std per RGB channel. */
  mean: number[];
  std: number[];
}

export class FaceApiResnetEncoder implements Encoder {
  readonly id: string;
  readonly dim = FACE_API_DIM;
  readonly inputSize: number;
  private disposed = false;

  private constructor(
    private readonly config: EncoderConfig,
    readonly file: string,
    private readonly stem: FoldedConv,
    private readonly layers: ResidualParams[],
    /** [256, 128]. */
    private readonly fc: tf.Tensor2D,
  ) {
    this.id = config.id;
    this.inputSize = config.inputSize;
  }

  /** Loads the weights manifest `file` (and its .bin next to it); checks every weight's name and shape. */
  static async load(config: EncoderConfig, file: string): Promise<FaceApiResnetEncoder> {
    const who = `encoder "${config.id}" (${file})`;
    if (config.embeddingDim !== FACE_API_DIM) {
      throw new Error(`${who}: the face-api ResNet outputs ${FACE_API_DIM} values per face, config embeddingDim is ${config.embeddingDim}`);
    }
    if (config.inputSize !== FACE_API_INPUT) {
      throw new Error(`${who}: the face-api ResNet takes ${FACE_API_INPUT}×${FACE_API_INPUT} crops, config inputSize is ${config.inputSize}`);
    }
    if (config.layout !== 'NHWC') throw new Error(`${who}: the face-api ResNet runs NHWC, config layout is ${config.layout}`);
    const map = readWeightsManifest(file, who);
    const made: tf.Tensor[] = [];
    try {
      const stem = takeFolded(map, 'conv32_down', [7, 7, 3, 32], who);
      made.push(stem.filters, stem.bias);
      const layers = RESIDUAL_LAYERS.map(({ name, cin, cout }) => {
        const conv1 = takeFolded(map, `${name}/conv1`, [3, 3, cin, cout], who);
        made.push(conv1.filters, conv1.bias);
        const conv2 = takeFolded(map, `${name}/conv2`, [3, 3, cout, cout], who);
        made.push(conv2.filters, conv2.bias);
        return { conv1, conv2 };
      });
      const fc = map.fc;
      if (!fc || fc.shape.length !== 2 || fc.shape[0] !== 256 || fc.shape[1] !== FACE_API_DIM) {
        throw new Error(`${who}: weight "fc" is ${fc ? `[${fc.shape.join(', ')}]` : 'missing'}, expected [256, ${FACE_API_DIM}]`);
      }
      const fcCopy = tf.clone(fc) as tf.Tensor2D;
      made.push(fcCopy);
      const enc = new FaceApiResnetEncoder(config, file, stem, layers, fcCopy);
      tf.tidy(() => {
        const out = enc.net(tf.zeros([1, FACE_API_INPUT, FACE_API_INPUT, 3]), true);
        if (out.shape[1] !== config.embeddingDim) {
          throw new Error(`${who}: the network outputs ${out.shape[1]} values per face, config embeddingDim is ${config.embeddingDim}`);
        }
      });
      return enc;
    } catch (err) {
      tf.dispose(made);
      throw err;
    } finally {
      tf.dispose(Object.values(map));
    }
  }

  /**
   * The network on preprocessed input [N,150,150,3] (normalised per the config) → [N,128] raw descriptors.
   * `fused` uses fused conv+bias+relu kernels (inference); unfused ops are cheaper to differentiate w.r.t. input.
   */
  private net(x: tf.Tensor4D, fused: boolean): tf.Tensor2D {
    const conv = (input: tf.Tensor4D, p: FoldedConv, stride: 1 | 2, relu: boolean): tf.Tensor4D => {
      const padding = stride === 2 ? 'valid' : 'same';
      if (fused) return tf.fused.conv2d({ x: input, filter: p.filters, strides: stride, pad: padding, bias: p.bias, activation: relu ? 'relu' : 'linear' });
      const y = tf.add(tf.conv2d(input, p.filters, stride, padding), p.bias) as tf.Tensor4D;
      return relu ? tf.relu(y) : y;
    };
    let out = conv(x, this.stem, 2, true);
    out = tf.maxPool(out, 3, 2, 'valid');
    RESIDUAL_LAYERS.forEach(({ down }, i) => {
      const p = this.layers[i];
      let y = conv(out, p.conv1, down ? 2 : 1, true);
      y = conv(y, p.conv2, 1, false);
      let shortcut: tf.Tensor4D = out;
      if (down) {
        shortcut = tf.avgPool(out, 2, 2, 'valid');
        if (shortcut.shape[1] !== y.shape[1] || shortcut.shape[2] !== y.shape[2]) {
          y = tf.pad(y, [[0, 0], [0, shortcut.shape[1] - y.shape[1]], [0, shortcut.shape[2] - y.shape[2]], [0, 0]]);
        }
        const extra = y.shape[3] - shortcut.shape[3];
        if (extra > 0) shortcut = tf.pad(shortcut, [[0, 0], [0, 0], [0, 0], [0, extra]]);
      }
      out = tf.relu(tf.add(y, shortcut)) as tf.Tensor4D;
    });
    const pooled = tf.mean(out, [1, 2]) as tf.Tensor2D;
    return tf.matMul(pooled, this.fc);
  }

  /**
   * The folded weights as host arrays (TF layouts: filters [k, k, cin, cout], fc [256, 128]), in network order,
   * for engines that build the same network from them (daemon/ort/faceApiGraph.ts).
   */
  exportParams(): FaceApiParams {
    if (this.disposed) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    const host = (c: FoldedConv): FaceApiConv => ({ filters: c.filters.dataSync() as Float32Array, shape: c.filters.shape.slice(), bias: c.bias.dataSync() as Float32Array });
    return {
      stem: host(this.stem),
      layers: this.layers.map((l, i) => ({ down: RESIDUAL_LAYERS[i].down, conv1: host(l.conv1), conv2: host(l.conv2) })),
      fc: this.fc.dataSync() as Float32Array,
      mean: this.config.normalization.mean.slice(), std: this.config.normalization.std.slice(),
    };
  }

  private check(images: AlignedBatch): void {
    if (this.disposed) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    checkAlignedBatch(images, this.inputSize, `encoder "${this.id}" (${this.file})`);
  }

  /** [N,150,150,3] in [0,1] → [N,128] L2-normalised, differentiable. */
  forward(images: AlignedBatch): tf.Tensor2D {
    this.check(images);
    return tf.tidy(() => l2NormalizeRows(this.net(toModelInput(images, this.config), false)));
  }

  /** The network's own descriptors ([N][128], not normalised; face-api compares them by Euclidean distance). */
  async embedRaw(images: AlignedBatch): Promise<Float32Array[]> {
    this.check(images);
    return takeRows(tf.tidy(() => this.net(toModelInput(images, this.config), true)) as tf.Tensor2D, this.dim);
  }

  async embed(images: AlignedBatch): Promise<Float32Array[]> {
    this.check(images);
    return takeRows(tf.tidy(() => l2NormalizeRows(this.net(toModelInput(images, this.config), true))), this.dim);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const all: tf.Tensor[] = [this.stem.filters, this.stem.bias, this.fc];
    for (const l of this.layers) all.push(l.conv1.filters, l.conv1.bias, l.conv2.filters, l.conv2.bias);
    tf.dispose(all);
  }
}
