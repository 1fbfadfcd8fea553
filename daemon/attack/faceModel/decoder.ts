/**
 * The seed's black-box decoder (daemon/nets/decoder.ts, NbNet-style) seen as a face model: its latent is
 * the embedding space itself (unit-norm templates go in, `arcface-5pt` crops come out), so the decoder's
 * own answer for a target is the latent equal to the target, and a search moves from there.
 */
import { loadDecoderModel, type LoadedDecoder } from '../../decoder/decoderModel';
import type { EncoderConfig } from '../../protocol/encoderConfig';
import { decoderMisfit } from '../../protocol/decoderFit';
import type { AlignmentSpec } from '../../data/templates';
import { isTemplateName } from '../../data/templates';
import { tf } from '../../tfjs/tf';
import { decoderGenerator, type OrtGenerator } from '../../ort/generators';
import type { FaceModel } from './types';

export class DecoderFaceModel implements FaceModel {
  readonly kind = 'decoder' as const;
  readonly latentDim: number;
  /** A coordinate of a unit-norm D-dimensional template spreads by about 1/√D. */
  readonly latentScale: number;
  readonly frame: AlignmentSpec;

  constructor(private readonly loaded: LoadedDecoder) {
    this.latentDim = loaded.meta.embeddingDim;
    this.latentScale = 1 / Math.sqrt(this.latentDim);
    const template = loaded.meta.template;
    if (!isTemplateName(template)) throw new Error(`${loaded.dir}: decoder renders unknown template "${template}"`);
    this.frame = { template, size: loaded.meta.outputSize };
  }

  get dir(): string {
    return this.loaded.dir;
  }

  get encoderId(): string {
    return this.loaded.meta.encoderId;
  }

  render(z: tf.Tensor2D): tf.Tensor4D {
    return this.loaded.decoder.forward(z, false);
  }

  clampLatents(): void {
    /* the decoder takes any template-like vector */
  }

  async ortGenerator(): Promise<OrtGenerator> {
    return decoderGenerator(await this.loaded.decoder.exportState());
  }

  clampTensor(z: tf.Tensor2D): tf.Tensor2D {
    return tf.clone(z);
  }

  describe(): string {
    const m = this.loaded.meta;
    return `seed decoder (${m.config.target} targets, ${m.config.decoder.loss}, ${m.outputSize}², ${m.steps} steps) from ${this.loaded.dir}`;
  }

  dispose(): void {
    this.loaded.decoder.dispose();
  }
}

/**
 * The decoder of a run folder (or model folder) as the face model of an attack on `enc`, refused when it
 * does not fit that encoder (protocol/decoderFit.ts: the same answer the editor underlines).
 */
export async function openDecoderFaceModel(dir: string, enc: Pick<EncoderConfig, 'id' | 'embeddingDim' | 'alignment'>): Promise<DecoderFaceModel> {
  const loaded = await loadDecoderModel(dir);
  const why = decoderMisfit(loaded.meta, enc);
  if (why) {
    loaded.decoder.dispose();
    throw new Error(`the decoder of ${dir} cannot attack ${enc.id}: ${why}`);
  }
  return new DecoderFaceModel(loaded);
}
