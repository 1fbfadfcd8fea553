/**
 * Computes a strided convolution's input gradient (= a transposed convolution) as stride_h × stride_w
 * stride-1 convolutions, one per output phase, then interleaves the phases into the full-resolution result
 * (row-wise Concats). Shared by Conv2DBackpropInput and DepthwiseConv2dNativeBackpropInput.
 */
import { axisPhases } from './convGeometry';
import { KernelScope, TensorInfo } from './scope';

export interface PhaseConvSpec {
  /** dy, [N, OH, OW, C_dy]. */
  dy: TensorInfo;
  /** Input-gradient shape [N, IH, IW, C_dx]. */
  inShape: [number, number, number, number];
  filterH: number; filterW: number;
  strideH: number; strideW: number;
  dilationH: number; dilationW: number;
  padTop: number; padLeft: number;
  /**
   * Stride-1 conv of (cropped) dy with the flipped filter's taps starting at (startH, startW) taken every
   * (strideH, strideW), `tapsH × tapsW` of them, explicit padding `pads` → [N, A, B, C_dx].
   */
  conv(dy: TensorInfo, startH: number, startW: number, tapsH: number, tapsW: number,
    pads: Array<[number, number]>): TensorInfo;
}

export function phaseConvolution(s: KernelScope, spec: PhaseConvSpec): TensorInfo {
  const [n, ih, iw, cdx] = spec.inShape;
  const [, oh, ow] = spec.dy.shape;
  const ph = axisPhases(ih, oh, spec.filterH, spec.strideH, spec.dilationH, spec.padTop);
  const pw = axisPhases(iw, ow, spec.filterW, spec.strideW, spec.dilationW, spec.padLeft);
  const sh = spec.strideH, sw = spec.strideW;
  const A = ph.phaseLen, B = pw.phaseLen;
  const rows: TensorInfo[] = [];
  for (const a of ph.phases) {
    const parts: TensorInfo[] = [];
    for (const b of pw.phases) {
      if (a.taps === 0 || b.taps === 0) {
        parts.push(s.run('Fill', {}, { shape: [n, A, B, cdx], value: 0, dtype: 'float32' }));
        continue;
      }
      // Negative padding = crop dy.
      const cropTop = Math.max(0, -a.padBefore), cropBottom = Math.max(0, -a.padAfter);
      const cropLeft = Math.max(0, -b.padBefore), cropRight = Math.max(0, -b.padAfter);
      const cropped = s.slice(spec.dy, [0, cropTop, cropLeft, 0],
        [-1, oh - cropTop - cropBottom, ow - cropLeft - cropRight, -1]);
      const pads: Array<[number, number]> = [[0, 0], [Math.max(0, a.padBefore), Math.max(0, a.padAfter)],
        [Math.max(0, b.padBefore), Math.max(0, b.padAfter)], [0, 0]];
      parts.push(spec.conv(cropped, a.flippedStart, b.flippedStart, a.taps, b.taps, pads));
    }
    // Interleave the width phases: [N, A, B, 1, C] × sw → [N, A, B, sw, C] = [N, A, B·sw, C].
    // (Concat copies contiguous runs; the wasm DepthToSpace/Transpose kernels go element by element and
    // were 5–10× slower here.)
    rows.push(sw === 1 ? parts[0]
      : s.reshape(s.run('Concat', parts.map((p) => s.reshape(p, [n, A, B, 1, cdx])), { axis: 3 }), [n, A, B * sw, cdx]));
  }
  // Interleave the height phases: [N, A, 1, B·sw·C] × sh → [N, A·sh, B·sw, C].
  const full = sh === 1 ? rows[0]
    : s.reshape(s.run('Concat', rows.map((r) => s.reshape(r, [n, A, 1, B * sw * cdx])), { axis: 2 }), [n, A * sh, B * sw, cdx]);
  if (full.shape[1] === ih && full.shape[2] === iw) return full;
  return s.slice(full, [0, 0, 0, 0], [n, ih, iw, cdx]);
}
