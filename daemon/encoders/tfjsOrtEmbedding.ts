/**
 * The ONNX Runtime twin of a TF.js graph-model encoder, for `embed` only (see tfjsModelEncoder.ts): the graph
 * rewritten by daemon/ort/tfjsGraphImport.ts, accepted only when it agrees with TF.js on a probe batch (cosine
 * ≥ AGREEMENT per face, raw outputs), so the two runtimes are interchangeable for every figure. Threads as
 * the ONNX encoders' sessions (onnxEncoder.ts): up to the cores, no spinning (TF.js shares the cores).
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { tf } from '../tfjs/tf';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { tfjsGraphToOnnx, type TfNode, type TfWeight } from '../onnx/tfjsGraphImport';
import { machineCores } from '../tfjs/threads';
import type { AlignedBatch } from './types';
import { l2NormalizeInPlace, toModelInput } from './preprocess';
import { sessionOptions } from './onnxEncoder';

/** Per-face cosine between the runtimes' raw outputs below which the ONNX Runtime form is refused. */
export const AGREEMENT = 0.99999;
/** Faces per session.run. */
const RUN_BATCH = 16;

export interface OrtEmbedding {
  /** [N][dim] raw model outputs, or L2-normalised rows when `normalise`. */
  embed(images: AlignedBatch, normalise: boolean): Promise<Float32Array[]>;
  release(): Promise<void>;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0; let aa = 0; let bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return aa === 0 && bb === 0 ? 1 : ab / Math.sqrt(aa * bb || 1e-30);
}

function graphWeights(model: tf.GraphModel): Map<string, TfWeight> {
  const out = new Map<string, TfWeight>();
  for (const [name, tensors] of Object.entries(model.weights)) {
    const t = tensors[0];
    if (!t || (t.dtype !== 'float32' && t.dtype !== 'int32')) continue;
    out.set(name, { data: Float32Array.from(t.dataSync() as Float32Array | Int32Array), shape: t.shape.slice() });
  }
  return out;
}

class SessionEmbedding implements OrtEmbedding {
  constructor(private readonly session: ort.InferenceSession, private readonly config: EncoderConfig) {}

  async embed(images: AlignedBatch, normalise: boolean): Promise<Float32Array[]> {
    const n = images.shape[0];
    const prepared = toModelInput(images, this.config);
    const all = (await prepared.data()) as Float32Array;
    prepared.dispose();
    const size = this.config.inputSize;
    const per = size * size * 3;
    const dim = this.config.embeddingDim;
    const rows: Float32Array[] = [];
    for (let start = 0; start < n; start += RUN_BATCH) {
      const count = Math.min(RUN_BATCH, n - start);
      const x = new ort.Tensor('float32', all.subarray(start * per, (start + count) * per), [count, size, size, 3]);
      const out = await this.session.run({ x }, ['y']);
      const y = out.y.data as Float32Array;
      for (let i = 0; i < count; i++) {
        const row = y.slice(i * dim, (i + 1) * dim);
        rows.push(normalise ? l2NormalizeInPlace(row) : row);
      }
      out.y.dispose?.();
    }
    return rows;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The worst per-face cosine between TF.js (`run`) and `e` on a seeded random probe batch of 3 faces. */
async function probeAgreement(e: OrtEmbedding, config: EncoderConfig, run: (x: tf.Tensor4D) => tf.Tensor): Promise<number> {
  const s = config.inputSize;
  const images = tf.randomUniform([3, s, s, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const ref = tf.tidy(() => tf.reshape(run(toModelInput(images, config)), [3, config.embeddingDim]));
  const want = (await ref.data()) as Float32Array;
  ref.dispose();
  const got = await e.embed(images, false);
  images.dispose();
  return Math.min(...got.map((row, i) => cosine(row, want.subarray(i * config.embeddingDim, (i + 1) * config.embeddingDim))));
}

/**
 * The ONNX Runtime embedding of a loaded TF.js graph model, or null with the reason TF.js keeps embedding
 * (engine requested, layout, an op the import lacks, a session that will not open, disagreement).
 */
export async function attachOrtEmbedding(
  model: tf.GraphModel, file: string, config: EncoderConfig, run: (x: tf.Tensor4D) => tf.Tensor, tfjsOnly = false,
): Promise<{ embedding: OrtEmbedding | null; note: string }> {
  if (tfjsOnly) return { embedding: null, note: 'TF.js (requested)' };
  if (config.layout !== 'NHWC' || config.outputName === undefined) return { embedding: null, note: 'TF.js (ONNX Runtime import needs an NHWC graph and an outputName)' };
  let embedding: SessionEmbedding | null = null;
  try {
    const topology = JSON.parse(fs.readFileSync(file, 'utf8')) as { modelTopology?: { node?: TfNode[] } };
    const nodes = topology.modelTopology?.node;
    if (!nodes) return { embedding: null, note: 'TF.js (model.json has no graph topology)' };
    const bytes = tfjsGraphToOnnx({ nodes, weights: graphWeights(model), output: config.outputName, inputSize: config.inputSize });
    const session = await ort.InferenceSession.create(bytes, sessionOptions({ threads: Math.min(8, machineCores()), spinning: false }));
    embedding = new SessionEmbedding(session, config);
    const worst = await probeAgreement(embedding, config, run);
    if (!(worst >= AGREEMENT)) {
      await embedding.release();
      return { embedding: null, note: `TF.js (the ONNX Runtime import disagrees: cosine ${worst.toFixed(6)} < ${AGREEMENT})` };
    }
    return { embedding, note: `ONNX Runtime (imported from the TF.js graph; probe cosine ${worst.toFixed(6)})` };
  } catch (e) {
    if (embedding) await embedding.release();
    return { embedding: null, note: `TF.js (${(e as Error).message.split('\n')[0]})` };
  }
}
