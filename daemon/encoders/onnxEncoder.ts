/**
 * Encoders stored as ONNX files, run with onnxruntime-node on the CPU execution provider for `embed`. When the
 * config declares the model differentiable, the same file is also imported into TF.js ops (daemon/onnx) and
 * `forward` runs there, so gradients flow through it (white-box route). Preprocessing is done with TF.js ops (daemon/encoders/preprocess.ts) and
 * the resulting float32 buffer is handed to onnxruntime. A model with a fixed batch dimension of 1 (e.g.
 * faceplugin's fr_feature.onnx) has its batch lifted at load (daemon/onnx/batchLift.ts) and the lifted graph is
 * checked against the original on random faces (max difference ≤ 1e-5 of the output scale); if the rewrite is
 * impossible or fails the check, the model runs one face at a time. Dynamic-batch models run in chunks of `maxBatch`.
 * PRelu nodes with constant slopes are rewritten into Mul + Max/Min/Where (daemon/onnx/preluRewrite.ts: onnxruntime's
 * per-channel PRelu is 4–6× slower than those ops; fr_feature runs about twice as fast) and the rewritten graph is
 * used only when its outputs are bit-identical to the original's on random faces, so cached embeddings stay valid.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { tf } from '../engine/tf';
import { liftFixedBatch } from '../onnx/batchLift';
import { rewritePrelu } from '../onnx/preluRewrite';
import { loadOnnxAsTf, TfOnnxModel } from '../onnx/model';
import type { AlignedBatch, Encoder } from './types';
import { checkAlignedBatch, l2NormalizeInPlace, l2NormalizeRows, toModelInput } from './preprocess';

export interface OnnxEncoderOptions {
  /** onnxruntime intra-op threads. Default: the machine's core count (capped at 8). */
  threads?: number;
  /** Largest batch per `session.run` for dynamic-batch models (default 32). */
  maxBatch?: number;
  /** Keep a fixed batch of 1 as it is (no batch lifting); for comparisons. */
  keepFixedBatch?: boolean;
  /** Keep PRelu nodes as they are (no rewrite); for comparisons. */
  keepPrelu?: boolean;
}

/** Largest output difference, relative to the output scale, that a lifted graph may show against the original. */
export const BATCH_LIFT_TOLERANCE = 1e-5;

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

export class OnnxEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  readonly inputSize: number;
  /** Differentiable forward through the TF.js import; present only for configs declared differentiable. */
  forward?: (images: AlignedBatch) => tf.Tensor2D;
  private tfModel: TfOnnxModel | undefined;
  private released = false;

  private constructor(
    private readonly config: EncoderConfig,
    /** Model file, for error messages. */
    readonly file: string,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    /** Faces per session.run (the model's own batch size when it is fixed). */
    private readonly batch: number,
    /** Whether the model's batch dimension is a fixed number rather than dynamic. */
    private readonly fixedBatch: boolean,
  ) {
    this.id = config.id;
    this.dim = config.embeddingDim;
    this.inputSize = config.inputSize;
  }

  /** Opens `file`, checks its declared input/output against `config`, runs one dummy face to check the output size. */
  static async load(config: EncoderConfig, file: string, opts: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const who = `encoder "${config.id}" (${file})`;
    if (!fs.existsSync(file)) throw new Error(`${who}: model file not found`);
    const threads = opts.threads ?? Math.min(8, os.availableParallelism?.() ?? os.cpus().length);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, sessionOptions(threads));
    } catch (err) {
      throw new Error(`${who}: not a loadable ONNX model: ${(err as Error).message.split('\n')[0]}`);
    }
    try {
      if (session.inputNames.length !== 1) {
        throw new Error(`${who}: expected one input, the model has ${session.inputNames.length} (${session.inputNames.join(', ')})`);
      }
      const inputName = session.inputNames[0];
      const outputName = config.outputName ?? (session.outputNames.length === 1 ? session.outputNames[0] : undefined);
      if (outputName === undefined) {
        throw new Error(`${who}: the model has outputs ${session.outputNames.join(', ')}; set "outputName" in the config`);
      }
      if (!session.outputNames.includes(outputName)) {
        throw new Error(`${who}: no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`);
      }
      const meta = session.inputMetadata[0];
      const shape = meta && meta.isTensor ? meta.shape : undefined;
      let batch = opts.maxBatch ?? 32;
      let fixedBatch = false;
      if (shape) {
        const s = config.inputSize;
        const want = config.layout === 'NCHW' ? [3, s, s] : [s, s, 3];
        const fixed = shape.slice(1).map((d, i) => (typeof d === 'number' && d > 0 ? d : want[i]));
        if (shape.length !== 4 || fixed.some((d, i) => d !== want[i])) {
          throw new Error(`${who}: model input is ${describeShape(shape)}, config says ${config.layout} [N, ${want.join(', ')}] (inputSize ${s})`);
        }
        if (typeof shape[0] === 'number' && shape[0] > 0) { batch = shape[0]; fixedBatch = true; }
      }
      let modelBytes: Uint8Array | null = null;
      if (fixedBatch && batch === 1 && !opts.keepFixedBatch) {
        const lifted = await liftedSession(config, file, session, inputName, outputName, threads);
        if (lifted) {
          await session.release();
          session = lifted.session;
          modelBytes = lifted.bytes;
          batch = opts.maxBatch ?? 32;
          fixedBatch = false;
        }
      }
      if (!opts.keepPrelu) {
        const faster = await preluRewrittenSession(config, modelBytes ?? fs.readFileSync(file), session, inputName, outputName, threads, fixedBatch ? batch : 3);
        if (faster) {
          await session.release();
          session = faster;
        }
      }
      const enc = new OnnxEncoder(config, file, session, inputName, outputName, batch, fixedBatch);
      const probeN = fixedBatch ? batch : 1;
      const probe = await enc.runRaw(new Float32Array(probeN * 3 * config.inputSize * config.inputSize), probeN);
      if (probe.length !== probeN * config.embeddingDim) {
        throw new Error(`${who}: the model outputs ${probe.length / probeN} values per face, config embeddingDim is ${config.embeddingDim}`);
      }
      // Imported last, once the model is known good, so a failed load never holds TF.js weights.
      if (config.known.differentiable) await enc.attachTfModel();
      return enc;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** Whether `embed` runs many faces per onnxruntime call (a dynamic or lifted batch). */
  get batched(): boolean {
    return !this.fixedBatch || this.batch > 1;
  }

  private async attachTfModel(): Promise<void> {
    const who = `encoder "${this.id}" (${this.file})`;
    let model: TfOnnxModel;
    try {
      model = await loadOnnxAsTf(this.file);
    } catch (err) {
      throw new Error(`${who} is declared differentiable but cannot be imported into TF.js: ${(err as Error).message}; set known.differentiable to false`);
    }
    const outputName = model.outputNames.includes(this.outputName) ? this.outputName : model.outputNames[0];
    this.tfModel = model;
    this.forward = (images) => {
      if (this.released) throw new Error(`${who}: used after dispose()`);
      checkAlignedBatch(images, this.inputSize, who);
      return tf.tidy(() => {
        const out = model.execute({ [model.inputName]: toModelInput(images, this.config) })[outputName];
        return l2NormalizeRows(tf.reshape(out, [images.shape[0], -1]) as tf.Tensor2D);
      });
    };
  }

  /** Runs `n` faces of model input (already preprocessed, model layout) → raw outputs, [n·dim]. */
  private async runRaw(data: Float32Array, n: number): Promise<Float32Array> {
    const s = this.config.inputSize;
    const dims = this.config.layout === 'NCHW' ? [n, 3, s, s] : [n, s, s, 3];
    const feeds = { [this.inputName]: new ort.Tensor('float32', data, dims) };
    const out = await this.session.run(feeds, [this.outputName]);
    const t = out[this.outputName];
    const values = t.data as Float32Array;
    const copy = Float32Array.from(values);
    t.dispose?.();
    return copy;
  }

  /** The model's own outputs ([N][dim], not re-normalised): for checking `l2Normalized` claims. */
  async embedRaw(images: AlignedBatch): Promise<Float32Array[]> {
    if (this.released) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    checkAlignedBatch(images, this.inputSize, `encoder "${this.id}" (${this.file})`);
    const n = images.shape[0];
    const prepared = toModelInput(images, this.config);
    const all = (await prepared.data()) as Float32Array;
    prepared.dispose();
    const per = all.length / n;
    const rows: Float32Array[] = [];
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      let chunk = all.subarray(start * per, (start + count) * per);
      let runN = count;
      if (this.fixedBatch && count < this.batch) {
        // A fixed batch dimension > 1: pad the last chunk with zeros, keep only the real rows.
        const padded = new Float32Array(this.batch * per);
        padded.set(chunk);
        chunk = padded;
        runN = this.batch;
      }
      const out = await this.runRaw(chunk, runN);
      for (let i = 0; i < count; i++) rows.push(out.slice(i * this.dim, (i + 1) * this.dim));
    }
    return rows;
  }

  async embed(images: AlignedBatch): Promise<Float32Array[]> {
    return (await this.embedRaw(images)).map(l2NormalizeInPlace);
  }

  /**
   * `embed` for uint8 crops on the host (the face pipeline's path): `n` crops [n, S, S, 3] RGB 0..255,
   * S = inputSize. Preprocessing is done here in float32 with the same operations, in the same order, as
   * `toModelInput` on crop/255 (x·(255/std) then − mean/std, each rounded to float32), so the embeddings are
   * bit-identical to `embed`'s, without TF.js.
   */
  async embedUint8(crops: Uint8Array, n: number): Promise<Float32Array[]> {
    if (this.released) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    const s = this.inputSize;
    const per = s * s * 3;
    if (!(Number.isInteger(n) && n >= 1) || crops.length !== n * per) {
      throw new Error(`encoder "${this.id}" (${this.file}): embedUint8 needs ${n} crops of ${s}×${s}×3 (${n * per} bytes), got ${crops.length}`);
    }
    const { mean, std } = this.config.normalization;
    const bgr = this.config.channelOrder === 'BGR';
    const scale = std.map((v) => Math.fround(255 / v));
    const shift = mean.map((m, i) => Math.fround(m / std[i]));
    const nchw = this.config.layout === 'NCHW';
    const plane = s * s;
    const rows: Float32Array[] = [];
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      const runN = this.fixedBatch ? this.batch : count;
      const x = new Float32Array(runN * per);
      for (let i = 0; i < count; i++) {
        const src = (start + i) * per;
        for (let p = 0; p < plane; p++) {
          for (let c = 0; c < 3; c++) {
            const v = Math.fround(crops[src + p * 3 + (bgr ? 2 - c : c)] / 255);
            const y = Math.fround(Math.fround(v * scale[c]) - shift[c]);
            x[nchw ? i * per + c * plane + p : i * per + p * 3 + c] = y;
          }
        }
      }
      const out = await this.runRaw(x, runN);
      for (let i = 0; i < count; i++) rows.push(l2NormalizeInPlace(out.slice(i * this.dim, (i + 1) * this.dim)));
    }
    return rows;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.tfModel?.dispose();
    void this.session.release();
  }
}

/**
 * A session over `file` with its batch of 1 lifted, when the rewrite applies and reproduces the original's
 * outputs on three random faces run together; otherwise null (the caller keeps the batch-1 session).
 */
async function liftedSession(config: EncoderConfig, file: string, original: ort.InferenceSession, inputName: string, outputName: string, threads: number): Promise<{ session: ort.InferenceSession; bytes: Uint8Array } | null> {
  let lifted;
  try {
    lifted = liftFixedBatch(fs.readFileSync(file), file);
  } catch {
    return null;
  }
  if (!lifted) return null;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(lifted.bytes, sessionOptions(threads));
  } catch {
    return null;
  }
  const s = config.inputSize;
  const per = 3 * s * s;
  const n = 3;
  const dims = (k: number) => (config.layout === 'NCHW' ? [k, 3, s, s] : [k, s, s, 3]);
  // Random inputs in the model's normalised range, deterministic so a failing check reproduces.
  let seed = 0x9e3779b9;
  const x = Float32Array.from({ length: n * per }, () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 31 - 1; });
  try {
    const together = (await session.run({ [inputName]: new ort.Tensor('float32', x, dims(n)) }, [outputName]))[outputName].data as Float32Array;
    let maxDiff = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      const one = (await original.run({ [inputName]: new ort.Tensor('float32', x.subarray(i * per, (i + 1) * per), dims(1)) }, [outputName]))[outputName].data as Float32Array;
      if (together.length !== n * one.length) throw new Error('output size changed');
      for (let k = 0; k < one.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs(one[k] - together[i * one.length + k]));
        scale = Math.max(scale, Math.abs(one[k]));
      }
    }
    if (maxDiff <= BATCH_LIFT_TOLERANCE * Math.max(scale, 1e-12)) return { session, bytes: lifted.bytes };
  } catch {
    /* falls through: the lifted graph is not trusted */
  }
  await session.release();
  return null;
}

/** Deterministic model-range inputs ([n, …] in the config's layout), so a failing check reproduces. */
function probeInput(config: EncoderConfig, n: number): { data: Float32Array; dims: number[] } {
  const s = config.inputSize;
  let seed = 0x2545f491;
  const data = Float32Array.from({ length: n * 3 * s * s }, () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 31 - 1; });
  return { data, dims: config.layout === 'NCHW' ? [n, 3, s, s] : [n, s, s, 3] };
}

/**
 * A session over `bytes` with its PRelu nodes rewritten (daemon/onnx/preluRewrite.ts) when that reproduces the
 * current session's outputs bit for bit on random inputs; otherwise null.
 */
async function preluRewrittenSession(config: EncoderConfig, bytes: Uint8Array, current: ort.InferenceSession, inputName: string, outputName: string, threads: number, n: number): Promise<ort.InferenceSession | null> {
  let rewritten;
  try {
    rewritten = rewritePrelu(bytes, config.id);
  } catch {
    return null;
  }
  if (!rewritten) return null;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(rewritten.bytes, sessionOptions(threads));
  } catch {
    return null;
  }
  try {
    const { data, dims } = probeInput(config, n);
    const a = (await current.run({ [inputName]: new ort.Tensor('float32', data, dims) }, [outputName]))[outputName].data as Float32Array;
    const b = (await session.run({ [inputName]: new ort.Tensor('float32', data, dims) }, [outputName]))[outputName].data as Float32Array;
    if (a.length === b.length && a.every((v, i) => Object.is(v, b[i]))) return session;
  } catch {
    /* falls through: keep the original graph */
  }
  await session.release();
  return null;
}
