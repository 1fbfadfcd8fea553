/**
 * DepthwiseConv2dNativeBackpropFilter for the wasm backend (missing in tfjs-backend-wasm 4.22).
 *
 * dW[kh,kw,c,q] = Σ_{n,oh,ow} x[n, oh·s+kh·d−pt, ow·s+kw·d−pl, c] · dy[n,oh,ow,c·m+q]. Folding the batch into
 * the channels makes it one depthwise conv: input [1, H, W, C·N] (channel c·N+n), filter dy as
 * [OH, OW, C·N, m] with dilation s and stride d → [1, fh, fw, C·N·m], then a sum over n.
 */
import { tf } from '../tf';
import { convInfoNHWC } from './convGeometry';
import { TensorInfo, withScope } from './scope';

const NAME = 'DepthwiseConv2dNativeBackpropFilter';

export function depthwiseConv2dNativeBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs as unknown as {
    strides: [number, number] | number; dilations?: [number, number] | number; pad: unknown; dimRoundingMode: unknown; filterShape: number[] };
  const info = convInfoNHWC(NAME, x.shape, filterShape, strides, dilations ?? 1, pad, dimRoundingMode, true, 'NHWC');
  if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth || dy.shape[3] !== info.outChannels) {
    throw new Error(`${NAME} (wasm): dy shape [${dy.shape}] does not match x [${x.shape}] / filter ${filterShape}`);
  }
  const [n, h, w, c] = x.shape;
  const [fh, fw, , m] = filterShape;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, outHeight: oh, outWidth: ow } = info;
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) throw new Error(`${NAME} (wasm): strides and dilations both > 1`);
  return withScope(args.backend, NAME, (s) => {
    const top = info.padInfo.top, left = info.padInfo.left;
    const bottom = (fh - 1) * dh + sh * (oh - 1) + 1 - h - top;
    const right = (fw - 1) * dw + sw * (ow - 1) + 1 - w - left;
    const xc = s.slice(x, [0, 0, 0, 0], [-1, h + Math.min(0, bottom), w + Math.min(0, right), -1]);
    const hc = xc.shape[1], wc = xc.shape[2];
    const xt = s.reshape(s.transpose(xc, [1, 2, 3, 0]), [1, hc, wc, c * n]);              // channel c·N+n
    const dy5 = s.reshape(dy, [n, oh, ow, c, m]);
    const filt = s.reshape(s.transpose(dy5, [1, 2, 3, 0, 4]), [oh, ow, c * n, m]);
    const out = s.run('DepthwiseConv2dNative', { x: xt, filter: filt }, {
      strides: [dh, dw], dilations: [sh, sw],
      pad: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]],
    });                                                                                    // [1, fh, fw, C·N·m]
    const r = s.reshape(out, [fh, fw, c, n, m]);
    return s.run('Sum', { x: r }, { axis: [3], keepDims: false });
  });
}

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: NAME, backendName: 'wasm', kernelFunc: depthwiseConv2dNativeBackpropFilter as unknown as tf.KernelFunc,
};
