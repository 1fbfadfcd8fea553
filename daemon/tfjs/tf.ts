/**
 * The one door to TensorFlow.js. Every other module imports `tf` from here, so that there is exactly one
 * engine instance (backends, registered kernels, memory accounting) in the process.
 *
 * `@tensorflow/tfjs` (the union package) is used rather than `tfjs-core` alone because it registers the
 * gradient functions that training needs; the wasm backend attaches itself to the same core instance.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor4D = tf.Tensor4D;
export type Variable = tf.Variable;

// Our wasm kernels (missing/slow gradients) are registered as soon as tf is loaded, so that code which
// touches tf before `initEngine` (which auto-starts wasm with default settings) can still train.
// (kernels/index.ts registers them when it loads; it reads `tf` only at call time, so the cycle is safe.)
// eslint-disable-next-line import/first
import './kernels';
