/**
 * Encoders stored as ONNX files, run with onnxruntime-node on the CPU execution provider for `embed`. When the
 * config declares the model differentiable, the same file is also imported into TF.js ops (daemon/onnx) and
 * `forward` runs there, so gradients flow through it (white-box route). Preprocessing is done with TF.js ops (daemon/encoders/preprocess.ts) and
 * the resulting float32 buffer is handed to onnxruntime. Models with a fixed batch dimension of 1 (e.g.
 * faceplugin's fr_feature.onnx) are run one face at a time; dynamic-batch models in chunks of `maxBatch`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { EncoderConfig } from '../config/encoder';
import { tf } from '../engine/tf';
import { loadOnnxAsTf, TfOnnxModel } from '../onnx/model';
import type { AlignedBatch, Encoder } from './types';
import { checkAlignedBatch, l2NormalizeInPlace, l2NormalizeRows, toModelInput } from './preprocess';

export interface OnnxEncoderOptions {
  /** onnxruntime intra-op threads. Default: the machine's core count (capped at 8). */
  threads?: number;
  /** Largest batch per `session.run` for dynamic-batch models (default 32). */
  maxBatch?: number;
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
      session = await ort.InferenceSession.create(file, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
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

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.tfModel?.dispose();
    void this.session.release();
  }
}
