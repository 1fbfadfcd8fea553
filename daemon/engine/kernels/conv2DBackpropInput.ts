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
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const [, , ci, co] = filter.shape;
    // F[kh, kw, co, ci] = W[fh−1−kh, fw−1−kw, ci, co]. Reversing both tap axes = reversing the flattened
    // tap index: one row Gather (contiguous copies) — the wasm Reverse kernel is ~7× slower here.
    const rows = s.reshape(filter, [fh * fw, ci * co]);
    const idx = s.run('Range', {}, { start: fh * fw - 1, stop: -1, step: -1, dtype: 'int32' });
    const rev = s.run('GatherV2', { x: rows, indices: idx }, { axis: 0, batchDims: 0 });
    const flipped = s.transpose(s.reshape(rev, [fh, fw, ci, co]), [0, 1, 3, 2]);
    // With filter sizes divisible by the strides every phase has fh/sh × fw/sw taps starting at an offset
    // < stride: one Transpose groups them as [sh, sw, Jh, Jw, co, ci] and each phase is a contiguous Slice.
    const divisible = (sh > 1 || sw > 1) && fh % sh === 0 && fw % sw === 0;
    const jh = fh / sh, jw = fw / sw;
    const grouped = divisible ? s.transpose(s.reshape(flipped, [jh, sh, jw, sw, co, ci]), [1, 3, 0, 2, 4, 5]) : null;
    return phaseConvolution(s, {
      dy, inShape: inputShape as [number, number, number, number],
      filterH: fh, filterW: fw, strideH: sh, strideW: sw,
      dilationH: 1, dilationW: 1, padTop: info.padInfo.top, padLeft: info.padInfo.left,
      conv: (x, startH, startW, tapsH, tapsW, pads) => {
        let sub: TensorInfo;
        if (tapsH === fh && tapsW === fw) sub = flipped;
        else if (grouped) {
          sub = s.reshape(s.slice(grouped, [startH, startW, 0, 0, 0, 0], [1, 1, jh, jw, co, ci]), [jh, jw, co, ci]);
        } else {
          sub = s.run('StridedSlice', { x: flipped }, {
            begin: [startH, startW, 0, 0], end: [startH + sh * (tapsH - 1) + 1, startW + sw * (tapsW - 1) + 1, co, ci],
            strides: [sh, sw, 1, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
          });
        }
        return s.run('Conv2D', { x, filter: sub }, { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' });
      },
    });
  });
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
