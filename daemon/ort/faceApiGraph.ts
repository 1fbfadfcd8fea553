/**
 * face-api's FaceRecognitionNet (the dlib ResNet; daemon/encoders/faceApiResnet.ts, which this follows op for
 * op) emitted with the graph builder's ops from its folded weights, so ONNX Runtime can run it and reverse
 * mode can differentiate it (every op here has a backward rule: Conv, Relu, MaxPool, AveragePool, Pad, Add,
 * ReduceMean, MatMul). Used as the identity term's surrogate when training the black-box decoder.
 *
 *   x NCHW [N, 3, 150, 150] RGB in [0, 1] → (255·x − mean)/std → conv 7×7/2 valid + ReLU → maxpool 3/2 →
 *   residual stages (3×3 convs; a downsampling block has a 2×2/2 average-pooled, channel-zero-padded
 *   shortcut and its main path zero-padded at the end when the pooled map is larger) → global mean → fc
 *   256→128 → L2-normalised rows [N, 128] (as the encoder's `forward`).
 * The weights are graph constants, so ONNX Runtime computes only the input gradient through them.
 */
import type { FaceApiConv, FaceApiParams } from '../encoders/faceApiResnet';
import type { GraphBuilder } from './graph';
import { convWeights } from '../onnx/tfjsGraphImport';

export const FACE_API_INPUT = 150;

/** TF filters [k, k, cin, cout] → ONNX Conv weights [cout, cin, k, k] (convWeights). */
function onnxFilters(c: FaceApiConv): { data: Float32Array; dims: number[] } {
  const { data, shape } = convWeights({ data: c.filters, shape: [...c.shape] }, false);
  return { data, dims: shape };
}

/** Emits the network on `x` (see the header); `prefix` names its constants. */
export function emitFaceApi(b: GraphBuilder, p: FaceApiParams, x: string, prefix = 'faceapi/'): string {
  const xs = b.shape(x);
  if (xs.length !== 4 || xs[1] !== 3 || xs[2] !== FACE_API_INPUT || xs[3] !== FACE_API_INPUT) {
    throw new Error(`face-api graph: input must be [N, 3, ${FACE_API_INPUT}, ${FACE_API_INPUT}], got [${xs}]`);
  }
  let k = 0;
  const conv = (input: string, c: FaceApiConv, stride: 1 | 2, relu: boolean): string => {
    const w = onnxFilters(c);
    const kk = w.dims[2];
    const pad = stride === 2 ? 0 : (kk - 1) / 2; // TF 'valid' for the strided convs, 'same' for the others
    const y = b.op('Conv', [input, b.constant(w.data, w.dims, 'float32', `${prefix}w${k}`), b.constant(c.bias, [c.bias.length], 'float32', `${prefix}b${k}`)],
      { kernel_shape: [kk, kk], strides: [stride, stride], pads: [pad, pad, pad, pad] });
    k++;
    return relu ? b.op('Relu', [y]) : y;
  };
  const scale = b.constant(Float32Array.from(p.std.map((s) => 255 / s)), [1, 3, 1, 1], 'float32', `${prefix}scale`);
  const shift = b.constant(Float32Array.from(p.mean.map((m, i) => m / p.std[i])), [1, 3, 1, 1], 'float32', `${prefix}shift`);
  let out = b.op('Sub', [b.op('Mul', [x, scale]), shift]);
  out = conv(out, p.stem, 2, true);
  out = b.op('MaxPool', [out], { kernel_shape: [3, 3], strides: [2, 2] });
  for (const l of p.layers) {
    let y = conv(out, l.conv1, l.down ? 2 : 1, true);
    y = conv(y, l.conv2, 1, false);
    let shortcut = out;
    if (l.down) {
      shortcut = b.op('AveragePool', [out], { kernel_shape: [2, 2], strides: [2, 2] });
      const ss = b.shape(shortcut) as number[];
      const ys = b.shape(y) as number[];
      const dh = ss[2] - ys[2];
      const dw = ss[3] - ys[3];
      if (dh > 0 || dw > 0) y = b.op('Pad', [y, b.ints([0, 0, 0, 0, 0, 0, dh, dw])]);
      const extra = ys[1] - ss[1];
      if (extra > 0) shortcut = b.op('Pad', [shortcut, b.ints([0, 0, 0, 0, 0, extra, 0, 0])]);
    }
    out = b.op('Relu', [b.op('Add', [y, shortcut])]);
  }
  const pooled = b.op('ReduceMean', [out], { axes: [2, 3], keepdims: 0 });
  const e = b.op('MatMul', [pooled, b.constant(p.fc, [256, p.fc.length / 256], 'float32', `${prefix}fc`)]);
  const ss = b.op('ReduceSum', [b.op('Mul', [e, e]), b.ints([1])], { keepdims: 1 });
  return b.op('Mul', [e, b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [ss, b.scalar(1e-12)])])])]);
}
