/**
 * A differentiable encoder E for the white-box route, from an encoder config: TF.js-native formats use the
 * encoder's own `forward`; ONNX models are imported into TF.js ops (daemon/onnx) and given the config's
 * preprocessing (channel order, per-channel (255·x − mean)/std), so gradients flow from the embedding back
 * to the pixels.
 */
import type { EncoderConfig } from '../config/encoder';
import { tf } from '../engine/tf';
import { loadEncoder, resolveModelPath } from '../encoders/registry';
import type { DiffEncoder } from '../nets/latentSearch';
import { loadOnnxAsTf } from '../onnx/model';
import { whiteboxObstacle } from './judge';

export interface LoadedDiffEncoder {
  E: DiffEncoder;
  /** Side of E's square input. */
  inputSize: number;
  dispose(): void;
}

export async function loadDiffEncoder(config: EncoderConfig, workspaceDir?: string): Promise<LoadedDiffEncoder> {
  const obstacle = whiteboxObstacle(config);
  if (obstacle) throw new Error(`cannot run white box: ${obstacle}; use the black-box route`);
  if (config.format === 'onnx') {
    const file = resolveModelPath(config, workspaceDir);
    let model;
    try {
      model = await loadOnnxAsTf(file);
    } catch (err) {
      throw new Error(`encoder ${config.id} is declared differentiable, but its ONNX file cannot be imported into TF.js: ${(err as Error).message}. Use the black-box route, or set known.differentiable to false.`);
    }
    const outputName = config.outputName ?? model.outputNames[0];
    if (!model.outputNames.includes(outputName)) throw new Error(`${file} has no output "${outputName}" (outputs: ${model.outputNames.join(', ')})`);
    const { mean, std } = config.normalization;
    const bgr = config.channelOrder === 'BGR';
    const scale = tf.tensor1d([255 / std[0], 255 / std[1], 255 / std[2]]);
    const shift = tf.tensor1d([-mean[0] / std[0], -mean[1] / std[1], -mean[2] / std[2]]);
    const layout = config.layout === 'NCHW' ? 'nhwc' : 'nchw';
    const E: DiffEncoder = (img) => tf.tidy(() => {
      const ordered = bgr ? tf.reverse(img, 3) : img;
      const x = tf.add(tf.mul(ordered, scale), shift);
      const y = model.execute({ [model.inputName]: x }, { layout })[outputName];
      const e = tf.reshape(y, [img.shape[0], -1]);
      return tf.div(e, tf.add(tf.norm(e, 2, 1, true), 1e-12)) as tf.Tensor2D;
    });
    return { E, inputSize: config.inputSize, dispose: () => { model.dispose(); scale.dispose(); shift.dispose(); } };
  }
  const encoder = await loadEncoder(config, { workspaceDir });
  const forward = encoder.forward?.bind(encoder);
  if (!forward) {
    encoder.dispose();
    throw new Error(`encoder ${config.id} (${config.format}) offers no differentiable forward pass on this engine; use the black-box route`);
  }
  return { E: forward, inputSize: encoder.inputSize, dispose: () => encoder.dispose() };
}
