/**
 * Shared geometry for the convolution gradient kernels: NHWC conv info with the forward padding resolved,
 * and the per-phase tap/padding plan for computing a strided convolution's input gradient as stride×stride
 * stride-1 convolutions (the "sub-pixel" decomposition of a transposed convolution, cf. Shi et al. 2016,
 * "Is the deconvolution layer the same as a convolutional layer?").
 */
import { tf } from '../tf';

export type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
export type PadAttr = 'valid' | 'same' | number | Array<[number, number]> | number[][];

export function convInfoNHWC(kernel: string, xShape: number[], filterShape: number[], strides: number | [number, number],
  dilations: number | [number, number], pad: unknown, dimRoundingMode: unknown, depthwise: boolean,
  dataFormat: unknown): Conv2DInfo {
  const fmt = dataFormat == null ? 'NHWC' : String(dataFormat);
  if (fmt !== 'NHWC' && fmt !== 'channelsLast') {
    throw new Error(`${kernel} (wasm, daemon/tfjs/kernels): dataFormat '${fmt}' is not supported; use NHWC`);
  }
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`${kernel} (wasm): expected rank-4 input and filter, got [${xShape}] and [${filterShape}]`);
  }
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number],
    filterShape as [number, number, number, number], strides, dilations,
    pad as 'valid', dimRoundingMode as 'floor' | undefined, depthwise, 'channelsLast');
}

/** How one output phase p (rows p, p+s, p+2s, … of the input gradient) is computed along one axis. */
export interface AxisPhase {
  /** Number of filter taps used by this phase (0: the phase receives no contribution). */
  taps: number;
  /** Start index into the flipped filter; taps are taken every `stride` from there. */
  flippedStart: number;
  /** Padding of dy before/after (negative = crop dy). */
  padBefore: number;
  padAfter: number;
}

/**
 * Plan for the input gradient along one axis: input length `inLen`, dy length `outLen`, filter `f`,
 * stride `s`, dilation `d` (only with s = 1), forward top/left padding `padStart`. Every phase yields
 * `phaseLen` = ceil(inLen / s) rows (extra rows are cropped after interleaving).
 */
export function axisPhases(inLen: number, outLen: number, f: number, s: number, d: number, padStart: number):
  { phaseLen: number; phases: AxisPhase[] } {
  if (s > 1 && d > 1) throw new Error(`conv gradient: stride ${s} together with dilation ${d} is not supported`);
  const phaseLen = Math.ceil(inLen / s);
  const phases: AxisPhase[] = [];
  for (let p = 0; p < s; p++) {
    const r = (p + padStart) % s;
    const taps = f > r ? Math.ceil((f - r) / s) : 0;
    const q = (p + padStart - r) / s;
    // dx[s·a+p] = Σ_j dy[a + q − j] · W[r + s·j]  (d = 1), written as a correlation with the flipped taps.
    const padBefore = (taps - 1) * d - q;
    const padAfter = phaseLen + q - outLen;
    // Flipped filter F[k'] = W[f−1−k']; tap W[r + s·(taps−1−k')] = F[f−1−r−s·(taps−1) + s·k'].
    const flippedStart = f - 1 - r - s * (taps - 1);
    phases.push({ taps, flippedStart, padBefore, padAfter });
  }
  return { phaseLen, phases };
}
