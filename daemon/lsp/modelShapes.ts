/**
 * The real input/output shapes of an encoder's model file, read cheaply for the config language server:
 * ONNX from onnxruntime-node's session metadata (no inference is run), TF.js graph/layers models from
 * `model.json` (signature, Placeholder nodes, first layer's batch_input_shape), face-api's recognition net
 * from its definition (150×150×3 → 128, vladmandic/face-api FaceRecognitionNet). Results are cached per file
 * by mtime and size, so re-checking a config on every keystroke does not reload the model.
 */
import * as fs from 'node:fs';
import type { EncoderFormat } from '../protocol/encoderConfig';

/** A dimension: a number, or null when the model leaves it free (batch, dynamic axes). */
export type Dim = number | null;

export interface TensorShapeInfo {
  name: string;
  shape: Dim[];
}

export interface ModelShapes {
  inputs: TensorShapeInfo[];
  /** Empty when the format does not record output shapes (e.g. a TF.js graph without a signature). */
  outputs: TensorShapeInfo[];
  /** How the shapes were obtained, for hovers. */
  via: string;
}

interface CacheEntry { mtimeMs: number; size: number; result: Promise<ModelShapes> }
const cache = new Map<string, CacheEntry>();

/** Number of entries in the shape cache (tests check that unchanged files are not re-read). */
export function shapeCacheSize(): number {
  return cache.size;
}

export function clearShapeCache(): void {
  cache.clear();
}

/**
 * Shapes of `file` read as `format`. Rejects with an Error naming the file when it is missing, unreadable or
 * not a model of that format. `command` encoders have no file and are not accepted here.
 */
export function readModelShapes(file: string, format: Exclude<EncoderFormat, 'command' | 'http'>): Promise<ModelShapes> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    return Promise.reject(new Error(`model file ${file} does not exist (${(err as NodeJS.ErrnoException).code ?? 'stat failed'})`));
  }
  if (!st.isFile()) return Promise.reject(new Error(`model file ${file} is not a file`));
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    return Promise.reject(new Error(`model file ${file} is not readable (permission denied)`));
  }
  const key = `${format}:${file}`;
  const hit = cache.get(key);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.result;
  const result = readUncached(file, format);
  cache.set(key, { mtimeMs: st.mtimeMs, size: st.size, result });
  return result;
}

async function readUncached(file: string, format: Exclude<EncoderFormat, 'command' | 'http'>): Promise<ModelShapes> {
  switch (format) {
    case 'onnx': return readOnnx(file);
    case 'tfjs-graph':
    case 'tfjs-layers': return readTfjsJson(file);
    case 'face-api': return readFaceApi(file);
  }
}

function toDims(shape: readonly unknown[]): Dim[] {
  return shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null));
}

async function readOnnx(file: string): Promise<ModelShapes> {
  // Loaded lazily: a broken native install must become a diagnostic, not a dead language server.
  let ort: typeof import('onnxruntime-node');
  try {
    ort = await import('onnxruntime-node');
  } catch (err) {
    throw new Error(`cannot read ONNX shapes: onnxruntime-node does not load (${(err as Error).message.split('\n')[0]})`);
  }
  let session: import('onnxruntime-node').InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  } catch (err) {
    throw new Error(`model file ${file} is not a loadable ONNX model: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const meta = (list: readonly { name: string; isTensor: boolean; shape?: readonly unknown[] }[]) =>
      list.map((m) => ({ name: m.name, shape: m.isTensor && m.shape ? toDims(m.shape) : [] }));
    return {
      inputs: meta(session.inputMetadata as unknown as { name: string; isTensor: boolean; shape?: unknown[] }[]),
      outputs: meta(session.outputMetadata as unknown as { name: string; isTensor: boolean; shape?: unknown[] }[]),
      via: 'onnxruntime-node session metadata',
    };
  } finally {
    await session.release();
  }
}

interface TfDim { size?: string | number }
interface TfSigEntry { name?: string; tensorShape?: { dim?: TfDim[]; unknownRank?: boolean } }

function sigDims(e: TfSigEntry): Dim[] {
  return (e.tensorShape?.dim ?? []).map((d) => { const n = Number(d.size); return Number.isFinite(n) && n >= 0 ? n : null; });
}

async function readTfjsJson(file: string): Promise<ModelShapes> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fs.promises.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`model file ${file} is not a TF.js model.json: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || !('modelTopology' in json)) {
    throw new Error(`model file ${file} is not a TF.js model.json (no modelTopology)`);
  }
  const sig = json.signature as { inputs?: Record<string, TfSigEntry>; outputs?: Record<string, TfSigEntry> } | undefined;
  if (sig?.inputs) {
    const list = (o: Record<string, TfSigEntry> | undefined) => Object.entries(o ?? {}).map(([k, e]) => ({ name: e.name ?? k, shape: sigDims(e) }));
    return { inputs: list(sig.inputs), outputs: list(sig.outputs), via: 'model.json signature' };
  }
  const topo = json.modelTopology as { node?: { name: string; op: string; attr?: { shape?: { shape?: { dim?: TfDim[] } } } }[]; config?: unknown; model_config?: unknown };
  if (Array.isArray(topo.node)) {
    const inputs = topo.node.filter((n) => n.op === 'Placeholder').map((n) => ({
      name: n.name,
      shape: (n.attr?.shape?.shape?.dim ?? []).map((d) => { const v = Number(d.size); return Number.isFinite(v) && v >= 0 ? v : null; }),
    }));
    return { inputs, outputs: [], via: 'model.json Placeholder nodes' };
  }
  const cfg = ((topo.model_config as { config?: unknown } | undefined)?.config ?? topo.config) as { layers?: { config?: { batch_input_shape?: unknown[]; name?: string } }[] } | undefined;
  const first = cfg?.layers?.[0]?.config;
  if (first?.batch_input_shape) {
    return { inputs: [{ name: first.name ?? 'input', shape: toDims(first.batch_input_shape) }], outputs: [], via: 'model.json first layer batch_input_shape' };
  }
  return { inputs: [], outputs: [], via: 'model.json (no shapes recorded)' };
}

async function readFaceApi(file: string): Promise<ModelShapes> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`model file ${file} is not a face-api weights manifest: ${(err as Error).message}`);
  }
  if (!Array.isArray(manifest)) throw new Error(`model file ${file} is not a face-api weights manifest (expected a JSON array of weight groups)`);
  return {
    inputs: [{ name: 'input', shape: [null, 150, 150, 3] }],
    outputs: [{ name: 'descriptor', shape: [null, 128] }],
    via: 'face-api FaceRecognitionNet definition (150×150 RGB → 128)',
  };
}
