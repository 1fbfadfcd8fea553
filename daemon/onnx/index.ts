/** ONNX → differentiable TF.js (issue 5, item 3): the public surface of this folder. */
export { loadOnnxAsTf } from './model';
export type { TfOnnxModel, ExecuteOptions, MacCount } from './model';
export { onnxDiffEncoder, FACEPLUGIN_PIXEL_NORM } from './diffEncoder';
export type { PixelNorm } from './diffEncoder';
