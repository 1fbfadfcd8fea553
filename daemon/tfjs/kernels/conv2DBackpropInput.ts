/**
 * Conv2DBackpropInput for the wasm backend (also the forward pass of conv2dTranspose).
 *
 * The stock wasm kernel is a plain C loop (3.6–5 GFLOP/s here). This one splits the result into
 * stride×stride phases, each an ordinary stride-1 XNNPACK Conv2D of dy with a sub-filter of the flipped,
 * in/out-swapped filter, then interleaves them (DepthToSpace). NHWC only, dilation 1 (as tfjs's gradients).
 */
import { tf } from '../tf';
import { axisPhases, convInfoNHWC } from './convGeometry';
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
    const [, ih, iw] = inputShape;
    // All phases' sub-filters in one row selection of filter taps: phase (a, b) uses the flipped filter
    // F[kh, kw] = W[fh−1−kh, fw−1−kw] at kh = startH + sh·j (j < tapsH), kw likewise. The in/out swap
    // [tap, ci, co] → [tap, co, ci] is one batched 2-D Transpose before it. (The wasm Reverse, StridedSlice
    // and rank-6 Transpose kernels go element by element and cost more than the convolutions here.)
    const ph = axisPhases(ih, dy.shape[1], fh, sh, 1, info.padInfo.top).phases;
    const pw = axisPhases(iw, dy.shape[2], fw, sw, 1, info.padInfo.left).phases;
    const taps: number[] = [];
    const offsets = new Map<string, number>();
    for (const a of ph) {
      for (const b of pw) {
        if (a.taps === 0 || b.taps === 0) continue;
        offsets.set(`${a.flippedStart},${b.flippedStart}`, taps.length);
        for (let j = 0; j < a.taps; j++) {
          for (let k = 0; k < b.taps; k++) taps.push((fh - 1 - (a.flippedStart + sh * j)) * fw + (fw - 1 - (b.flippedStart + sw * k)));
        }
      }
    }
    const swapped = s.transpose(s.reshape(filter, [fh * fw, ci, co]), [0, 2, 1]);     // [tap, co, ci]
    // Row selection as a product with a one-hot matrix P [T, fh·fw] (exact: each output is 1·w + 0·…):
    // XNNPACK's GEMM moves the rows ~30× faster than the wasm GatherV2 kernel.
    const p = new Float32Array(taps.length * fh * fw);
    taps.forEach((t, r) => { p[r * fh * fw + t] = 1; });
    const pInfo = s.track((args.backend as unknown as { makeOutput(shape: number[], dtype: string, off?: number, values?: Float32Array): TensorInfo })
      .makeOutput([taps.length, fh * fw], 'float32', undefined, p));
    const gathered = s.run('BatchMatMul', { a: pInfo, b: s.reshape(swapped, [fh * fw, co * ci]) }, { transposeA: false, transposeB: false });
    return phaseConvolution(s, {
      dy, inShape: inputShape as [number, number, number, number],
      filterH: fh, filterW: fw, strideH: sh, strideW: sw,
      dilationH: 1, dilationW: 1, padTop: info.padInfo.top, padLeft: info.padInfo.left,
      conv: (x, startH, startW, tapsH, tapsW, pads) => {
        const off = offsets.get(`${startH},${startW}`);
        if (off === undefined) throw new Error(`${NAME} (wasm): no sub-filter planned for phase offset ${startH},${startW}`);
        const rows = s.slice(gathered, [off, 0], [tapsH * tapsW, co * ci]);
        const sub = s.reshape(rows, [tapsH, tapsW, co, ci]);
        return s.run('Conv2D', { x, filter: sub }, { strides: [1, 1], pad: pads, dilations: [1, 1], dataFormat: 'NHWC' });
      },
    });
  });
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
