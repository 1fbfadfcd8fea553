/**
 * DepthwiseConv2dNativeBackpropInput for the wasm backend (missing in tfjs-backend-wasm 4.22; needed for
 * gradients through MobileFaceNet-style encoders).
 *
 * dx[n,i,j,c] = Σ_{kh,kw,q} dy[n, (i+pt−kh·d)/s, (j+pl−kw·d)/s, c·m+q] · W[kh,kw,c,q]. Per output phase this is
 * a stride-1 depthwise conv of dy (C·m channels, multiplier 1) with the flipped taps; for a channel
 * multiplier m > 1 the m partial results per input channel are summed.
 */
import { tf } from '../tf';
import { convInfoNHWC } from './convGeometry';
import { phaseConvolution } from './phaseInterleave';
import { TensorInfo, withScope } from './scope';

const NAME = 'DepthwiseConv2dNativeBackpropInput';

export function depthwiseConv2dNativeBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs as unknown as {
    strides: [number, number] | number; dilations?: [number, number] | number; pad: unknown; dimRoundingMode: unknown; inputShape: number[] };
  const info = convInfoNHWC(NAME, inputShape, filter.shape, strides, dilations ?? 1, pad, dimRoundingMode, true, 'NHWC');
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) {
    throw new Error(`${NAME} (wasm): dy shape [${dy.shape}] does not match input ${inputShape} / filter ${filter.shape}`);
  }
  const [fh, fw, c, m] = filter.shape;
  const [n] = inputShape;
  return withScope(args.backend, NAME, (s) => {
    const rev = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const flipped = s.reshape(rev, [fh, fw, c * m, 1]);     // one filter per dy channel
    const full = phaseConvolution(s, {
      dy, inShape: m === 1 ? inputShape as [number, number, number, number] : [n, inputShape[1], inputShape[2], c * m],
      filterH: fh, filterW: fw, strideH: info.strideHeight, strideW: info.strideWidth,
      dilationH: info.dilationHeight, dilationW: info.dilationWidth, padTop: info.padInfo.top, padLeft: info.padInfo.left,
      conv: (x, startH, startW, tapsH, tapsW, pads) => {
        const sub = tapsH === fh && tapsW === fw ? flipped : s.run('StridedSlice', { x: flipped }, {
          begin: [startH, startW, 0, 0], end: [startH + info.strideHeight * (tapsH - 1) + 1,
            startW + info.strideWidth * (tapsW - 1) + 1, c * m, 1], strides: [info.strideHeight, info.strideWidth, 1, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        });
        return s.run('DepthwiseConv2dNative', { x, filter: sub }, {
          strides: [1, 1], pad: pads, dilations: [info.dilationHeight, info.dilationWidth] });
      },
    });
    if (m === 1) return full;
    const [, h, w] = full.shape;
    const r5 = s.reshape(full, [n, h, w, c, m]);
    return s.run('Sum', { x: r5 }, { axis: [4], keepDims: false });
  });
}

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: depthwiseConv2dNativeBackpropInput as unknown as tf.KernelFunc,
};
