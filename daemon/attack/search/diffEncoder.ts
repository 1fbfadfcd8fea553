/**
 * A differentiable encoder E for the white-box route, from an encoder config: the encoder's own `forward`
 * (TF.js-native formats run there; ONNX models are imported into TF.js ops by the ONNX encoder, asked for
 * here only: this is the TF.js fallback), so gradients flow from the embedding back to the pixels.
 */
import type { EncoderConfig } from '../../protocol/encoderConfig';
import { loadEncoder } from '../../encoders/load';
import type { DiffEncoder } from '../../nets/latentSearch';
import { whiteboxObstacle } from '../../encoders/judge';

export interface LoadedDiffEncoder {
  E: DiffEncoder;
  /** Side of E's square input. */
  inputSize: number;
  dispose(): void;
}

export async function loadDiffEncoder(config: EncoderConfig, workspaceDir?: string): Promise<LoadedDiffEncoder> {
  const obstacle = whiteboxObstacle(config);
  if (obstacle) throw new Error(`cannot run white box: ${obstacle}; use the black-box route`);
  const encoder = await loadEncoder(config, { workspaceDir, differentiable: true });
  const forward = encoder.forward?.bind(encoder);
  if (!forward) {
    encoder.dispose();
    throw new Error(`encoder ${config.id} (${config.format}) offers no differentiable forward pass on this engine; use the black-box route`);
  }
  return { E: forward, inputSize: encoder.inputSize, dispose: () => encoder.dispose() };
}
