/**
 * Test helpers for the ONNX importer: the wasm engine, onnxruntime-node as the reference runtime, LFW centred
 * crops preprocessed the way faceplugin's fr_feature.js does, and a tiny ModelProto builder (onnx-proto).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { randomValues } from '../tfjs/helpers';

/** Deterministic values in [-1, 1) (xorshift32), the same as the TF.js kernel tests use. */
export { randomValues };

export const FR_FEATURE = path.resolve(__dirname, '..', '..', '..', '..', 'node_modules',
  'faceplugin-face-recognition-js', 'model', 'fr_feature.onnx');
export const LFW_IMAGES = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'lfw', 'lfw-deepfunneled');

let ready: Promise<unknown> | null = null;
export function wasmEngine(): Promise<unknown> {
  ready ??= initEngine({ backend: 'wasm' });
  return ready;
}

/**
 * The first image of the first `n` people (sorted), centred 150×150 crop of the 250×250 deep-funneled image
 * resized to 112×112: [n,112,112,3] RGB float in [0,1] (row-major NHWC values).
 */
export async function lfwCrops(n: number): Promise<Float32Array> {
  const people = fs.readdirSync(LFW_IMAGES).sort().slice(0, n);
  const out = new Float32Array(n * 112 * 112 * 3);
  for (let i = 0; i < people.length; i++) {
    const dir = path.join(LFW_IMAGES, people[i]);
    const file = path.join(dir, fs.readdirSync(dir).sort()[0]);
    const raw = await sharp(file).removeAlpha().extract({ left: 50, top: 50, width: 150, height: 150 })
      .resize(112, 112).raw().toBuffer();
    for (let k = 0; k < raw.length; k++) out[i * raw.length + k] = raw[k] / 255;
  }
  return out;
}

/** faceplugin preprocessing: pixel (0..255) → (p − 127) / 128, as NCHW [n,3,112,112]. */
export function facepluginNchw(nhwc01: Float32Array, n: number, s = 112): Float32Array {
  const out = new Float32Array(n * 3 * s * s);
  for (let i = 0; i < n; i++) for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) for (let c = 0; c < 3; c++) {
    out[((i * 3 + c) * s + y) * s + x] = (nhwc01[((i * s + y) * s + x) * 3 + c] * 255 - 127) / 128;
  }
  return out;
}

/** Runs an ONNX file in onnxruntime-node (CPU), one feed. */
export async function ortRun(file: string, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const s = await ort.InferenceSession.create(file);
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', v.data, v.dims);
  const r = await s.run(f);
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(r)) out[k] = v.data as Float32Array;
  await s.release();
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return d / Math.sqrt(na * nb);
}

// ---- tiny ModelProto builder ----
type AttrVal = number | number[] | string | { floats: number[] } | { float: number } | { tensor: onnx.ITensorProto };

function attr(name: string, v: AttrVal): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.TENSOR, t: v.tensor };
}

export function node(opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrVal> = {}, name?: string): onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: name ?? `${opType}_${outputs[0]}`, attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)) };
}

export function floatInit(name: string, dims: number[], data: ArrayLike<number>): onnx.ITensorProto {
  const f = Float32Array.from(data);
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(f.buffer) };
}

export function int64Init(name: string, data: number[]): onnx.ITensorProto {
  const b = new BigInt64Array(data.map((v) => BigInt(v)));
  return { name, dims: [data.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(b.buffer) };
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

const tempDirs: string[] = [];
process.on('exit', () => { for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true }); });

/** Encodes a one-input graph to a temp .onnx file and returns its path. */
export function writeModel(spec: {
  input: [string, (number | string)[]]; outputs: [string, (number | string)[]][]; nodes: onnx.INodeProto[];
  inits?: onnx.ITensorProto[]; opset?: number;
}): string {
  const model: onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    producerName: 'faceinv-test',
    graph: {
      name: 'g', node: spec.nodes, initializer: spec.inits ?? [],
      input: [valueInfo(spec.input[0], spec.input[1])],
      output: spec.outputs.map(([n, d]) => valueInfo(n, d)),
    },
  };
  const buf = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-onnx-'));
  tempDirs.push(dir);
  const file = path.join(dir, 'm.onnx');
  fs.writeFileSync(file, buf);
  return file;
}

export function liveTensors(): number {
  return tf.memory().numTensors;
}
