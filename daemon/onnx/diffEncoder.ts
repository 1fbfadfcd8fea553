/**
 * An imported ONNX face encoder as a differentiable `DiffEncoder` (white-box route): images
 * [N,S,S,3] RGB in [0,1] → model input via pixel = (255·x − mean) / std (faceplugin fr_feature: mean 127,
 * std 128, see its lib/fr_feature.js) fed as NHWC, output rows L2-normalised.
 */
import { tf } from '../tfjs/tf';
import type { TfOnnxModel } from './model';

export interface PixelNorm {
  /** Subtracted from 0..255 pixel values. */
  mean: number;
  std: number;
}

export const FACEPLUGIN_PIXEL_NORM: PixelNorm = { mean: 127, std: 128 };

export function onnxDiffEncoder(model: TfOnnxModel, norm: PixelNorm, outputName = model.outputNames[0]):
  (img: tf.Tensor4D) => tf.Tensor2D {
  if (!model.outputNames.includes(outputName)) {
    throw new Error(`onnxDiffEncoder: ${model.file} has no output '${outputName}' (outputs: ${model.outputNames.join(', ')})`);
  }
  const a = 255 / norm.std;
  const b = -norm.mean / norm.std;
  return (img) => tf.tidy(() => {
    const x = tf.add(tf.mul(img, a), b);
    const y = model.execute({ [model.inputName]: x }, { layout: 'nhwc' })[outputName];
    const e = tf.reshape(y, [img.shape[0], -1]);
    return tf.div(e, tf.add(tf.norm(e, 2, 1, true), 1e-12)) as tf.Tensor2D;
  });
}
