/**
 * A face model: the generator both routes search in. A latent vector becomes a face image in a known
 * alignment frame (normally the attacked encoder's own, so a reconstruction can go straight to it):
 * `render` is differentiable (white box: gradients from E back to the latent), and cheap enough to run for
 * every query of a black-box search.
 */
import type { AlignmentSpec } from '../../data/templates';
import type { tf } from '../../tfjs/tf';
import type { OrtGenerator } from '../../ort/generators';

export interface FaceModel {
  readonly kind: 'pca' | 'decoder';
  /** Length of a latent vector. */
  readonly latentDim: number;
  /** Frame of the rendered faces: template and side in pixels. */
  readonly frame: AlignmentSpec;
  /** Typical spread of one latent coordinate: search radii and step sizes are given in these units. */
  readonly latentScale: number;
  /** [N, latentDim] → [N, S, S, 3] float32 in [0, 1]; differentiable. Intermediates are left to the caller's tidy. */
  render(z: tf.Tensor2D): tf.Tensor4D;
  /** Puts latents (row-major [N, latentDim]) back into the model's plausible range, in place. */
  clampLatents(z: Float32Array): void;
  /** The same on a tensor (a new tensor; the white box projects after every step). */
  clampTensor(z: tf.Tensor2D): tf.Tensor2D;
  /** The same rendering as an ONNX Runtime graph (daemon/ort), for the white box's fused G → E search. */
  ortGenerator(): Promise<OrtGenerator>;
  /**
   * Finishes final faces in place ([n, S, S, 3] uint8, the renderings of `latents`): what they borrow from the
   * attacker's nearest photos, when the model was given them (PCA `finish`). Queries see the plain rendering.
   */
  finishFaces?(latents: Float32Array, n: number, faces: Uint8Array): Promise<void>;
  /** One line for logs and reports, e.g. "PCA face model, 512 components of 10,678 training faces". */
  describe(): string;
  dispose(): void;
}
