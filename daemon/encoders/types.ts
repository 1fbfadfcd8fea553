/**
 * What every face encoder offers the rest of the daemon, whatever its format (ONNX, TF.js graph, face-api
 * weights, an external command). Implementations live beside this file, one per format.
 */
import type { tf } from '../tfjs/tf';

/** Aligned face crops, [N, H, W, 3] float32 RGB in [0, 1], H×W = the encoder's input size. */
export type AlignedBatch = tf.Tensor4D;

export interface Encoder {
  /** Config id, e.g. `arcface512-faceplugin`. */
  readonly id: string;
  /** Embedding dimension actually produced by the model (checked against the config at load). */
  readonly dim: number;
  /** Input side in pixels (square crops). */
  readonly inputSize: number;
  /**
   * Embeds aligned crops. Returns [N, dim] rows, L2-normalised by us whatever the model does, so cosine
   * similarity is a dot product. Does not take ownership of `images`.
   */
  embed(images: AlignedBatch): Promise<Float32Array[]>;
  /**
   * The model's own outputs for the same crops, [N][dim], NOT re-normalised (the template a system would
   * actually store; lets tests check the config's `l2Normalized` claim). All shipped encoders have it.
   */
  embedRaw?(images: AlignedBatch): Promise<Float32Array[]>;
  /**
   * Differentiable forward pass on the active TF.js backend: [N,S,S,3] in [0,1] → [N, dim], L2-normalised.
   * Present only where the engine can differentiate the model (the white-box route).
   */
  forward?(images: AlignedBatch): tf.Tensor2D;
  dispose(): void;
}
