/**
 * Whether a trained decoder can be the face model of an attack on an encoder: one answer for the run, for
 * `faceinv invert` and for the config language server, so the editor underlines exactly what the daemon
 * would refuse. A decoder inverts the templates of the encoder it was trained on; another encoder's
 * templates live in another space (even at the same dimension), and its faces must reach the encoder by a
 * resize (the same alignment template).
 */
import type { EncoderConfig } from './encoderConfig';

/** What `model/meta.json` of a finished decoder run says (the fields the fit depends on). */
export interface DecoderMetaView {
  encoderId: string;
  embeddingDim: number;
  outputSize?: number;
  template?: string;
}

/** Why the decoder described by `meta` cannot attack `enc`, or undefined when it can. */
export function decoderMisfit(meta: DecoderMetaView, enc: Pick<EncoderConfig, 'id' | 'embeddingDim' | 'alignment'>): string | undefined {
  if (meta.embeddingDim !== enc.embeddingDim) return `its decoder takes ${meta.embeddingDim}-d embeddings (trained on "${meta.encoderId}"), but "${enc.id}" produces ${enc.embeddingDim}-d ones`;
  if (meta.template && meta.template !== enc.alignment.template) return `its decoder renders ${meta.template} crops, but "${enc.id}" expects ${enc.alignment.template} alignment`;
  if (meta.encoderId !== enc.id) return `its decoder was trained on "${meta.encoderId}" templates, but this run attacks "${enc.id}"`;
  return undefined;
}
