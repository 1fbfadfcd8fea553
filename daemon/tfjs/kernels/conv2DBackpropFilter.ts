/**
 * Conv2DBackpropFilter for the wasm backend (missing in tfjs-backend-wasm 4.22).
 *
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n,oh,ow,co]. With batch and channels
 * swapped this is one ordinary convolution: input x^T [ci, H, W, n], filter dy^T [OH, OW, n, co] with
 * dilation = the forward stride, stride 1 → [ci, fh, fw, co], transposed back to [fh, fw, ci, co].
 */
import { tf } from '../tf';
import { convInfoNHWC } from './convGeometry';
import { TensorInfo, withScope } from './scope';

const NAME = 'Conv2DBackpropFilter';

export function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as {
    strides: [number, number] | number; pad: unknown; dataFormat: unknown; dimRoundingMode: unknown; filterShape: number[] };
  const info = convInfoNHWC(NAME, x.shape, filterShape, strides, 1, pad, dimRoundingMode, false, dataFormat);
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) {
    throw new Error(`${NAME} (wasm): dy shape [${dy.shape}] does not match x [${x.shape}] / filter ${filterShape}`);
  }
  return withScope(args.backend, NAME, (s) => {
    const [, h, w] = x.shape;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, outHeight: oh, outWidth: ow } = info;
    const top = info.padInfo.top, left = info.padInfo.left;
    // Extent of x (with padding) that the forward conv read: (fh−1) + sh·(oh−1) + 1 rows from −top.
    const bottom = fh + sh * (oh - 1) - h - top;
    const right = fw + sw * (ow - 1) - w - left;
    const xc = s.slice(x, [0, 0, 0, 0], [-1, h + Math.min(0, bottom), w + Math.min(0, right), -1]);
    // The transposes are written as rank-3 ones (the wasm Transpose kernel is much faster at rank ≤ 3).
    const [n, hc, wc, ci] = xc.shape;
    const xt = s.reshape(s.transpose(s.reshape(xc, [n, hc * wc, ci]), [2, 1, 0]), [ci, hc, wc, n]);   // [ci, H', W', n]
    const co = dy.shape[3];
    const dyt = s.reshape(s.transpose(s.reshape(dy, [n, oh * ow, co]), [1, 0, 2]), [oh, ow, n, co]); // [oh, ow, n, co]
    const out = s.run('Conv2D', { x: xt, filter: dyt }, {
      strides: [1, 1], dilations: [sh, sw], dataFormat: 'NHWC',
      pad: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]],
    });                                                // [ci, fh, fw, co]
    return s.reshape(s.transpose(s.reshape(out, [ci, fh * fw, co]), [1, 0, 2]), [fh, fw, ci, co]);
  });
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
