/**
 * Conv2DBackpropInput for the wasm backend (also the forward pass of conv2dTranspose).
 *
 * The stock wasm kernel is a plain C loop (3.6–5 GFLOP/s here). This one splits the result into
 * stride×stride phases, each an ordinary stride-1 XNNPACK Conv2D of dy with a sub-filter of the flipped,
 * in/out-swapped filter, then interleaves them (DepthToSpace). NHWC only, dilation 1 (as tfjs's gradients).
 */
import { tf } from '../tf';
import { convInfoNHWC } from './convGeometry';
import { phaseConvolution } from './phaseInterleave';
import { TensorInfo, withScope } from './scope';

const NAME = 'Conv2DBackpropInput';

export function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as {
    strides: [number, number] | number; pad: unknown; dataFormat: unknown; dimRoundingMode: unknown; inputShape: number[] };
  const info = convInfoNHWC(NAME, inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, dataFormat);
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) {
    throw new Error(`${NAME} (wasm): dy shape [${dy.shape}] does not match input ${inputShape} / filter ${filter.shape}`);
  }
  return withScope(args.backend, NAME, (s) => {
    // F[kh, kw, co, ci] = W[fh−1−kh, fw−1−kw, ci, co]
    const rev = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const flipped = s.transpose(rev, [0, 1, 3, 2]);
    const [fh, fw, co, ci] = flipped.shape;
    return phaseConvolution(s, {
      dy, inShape: inputShape as [number, number, number, number],
      filterH: info.filterHeight, filterW: info.filterWidth, strideH: info.strideHeight, strideW: info.strideWidth,
      dilationH: 1, dilationW: 1, padTop: info.padInfo.top, padLeft: info.padInfo.left,
      conv: (x, startH, startW, tapsH, tapsW, pads) => {
        const sub = tapsH === fh && tapsW === fw ? flipped : s.run('StridedSlice', { x: flipped }, {
          begin: [startH, startW, 0, 0], end: [startH + info.strideHeight * (tapsH - 1) + 1,
            startW + info.strideWidth * (tapsW - 1) + 1, co, ci], strides: [info.strideHeight, info.strideWidth, 1, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        });
        return s.run('Conv2D', { x, filter: sub }, { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' });
      },
    });
  });
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
