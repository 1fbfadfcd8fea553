/**
 * Checkpoint (TF.js) tensor layouts ↔ the layouts the ONNX graphs hold, converted on the host once per
 * load/save so no training step spends time on weight transposes:
 *   conv2d kernel      TF [3, 3, in, out]  ↔ ONNX Conv [out, in, 3, 3]
 *   conv2dTranspose    TF [4, 4, out, in]  ↔ 'native': ONNX ConvTranspose [in, out, 4, 4]
 *                                          ↔ 'phase':  K [4·out, in, 2, 2],
 *                      K[(sy·2 + sx)·out + co, ci, ty, tx] = W[2(1−ty) + sy, 2(1−tx) + sx, co, ci]
 *   (the stride-1 2×2 kernel whose output, DepthToSpace'd by 2 and cropped by one pixel, is the transposed
 *   convolution: y[2m] = x[m]·w1 + x[m−1]·w3, y[2m+1] = x[m+1]·w0 + x[m]·w2 along each axis).
 * Dense kernels, BN vectors and biases are the same in both.
 */
import type { TensorSpec } from './decoderNet';
import type { ConvTLayout } from './layers';

export type GraphLayout = 'same' | 'conv' | 'convT-native' | 'convT-phase';

export function layoutOf(t: TensorSpec, convT: ConvTLayout): GraphLayout {
  if (!t.name.endsWith('/kernel') || t.shape.length !== 4) return 'same';
  return t.shape[0] === 3 ? 'conv' : convT === 'native' ? 'convT-native' : 'convT-phase';
}

export function graphShape(t: TensorSpec, layout: GraphLayout): number[] {
  const [kh, kw, a, c] = t.shape;
  switch (layout) {
    case 'same': return t.shape.slice();
    case 'conv': return [c, a, kh, kw];
    case 'convT-native': return [c, a, kh, kw];
    case 'convT-phase': return [4 * a, c, 2, 2];
  }
}

/** TF layout → graph layout (a new array). */
export function toGraphLayout(data: Float32Array, t: TensorSpec, layout: GraphLayout): Float32Array {
  if (layout === 'same') return data.slice();
  const [kh, kw, a, c] = t.shape;
  const out = new Float32Array(data.length);
  if (layout === 'conv' || layout === 'convT-native') {
    // [kh, kw, a, c] → [c, a, kh, kw]
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < a; i++) {
      const src = ((y * kw + x) * a + i) * c;
      for (let j = 0; j < c; j++) out[((j * a + i) * kh + y) * kw + x] = data[src + j];
    }
    return out;
  }
  // phase: W[ky, kx, co, ci] → K[(sy·2+sx)·co' + co, ci, ty, tx], ky = 2(1−ty)+sy, kx = 2(1−tx)+sx
  if (kh !== 4 || kw !== 4) throw new Error(`phase layout needs a 4×4 kernel, got [${t.shape}]`);
  const co = a; const ci = c;
  for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
    const sy = ky & 1; const ty = 1 - (ky >> 1); const sx = kx & 1; const tx = 1 - (kx >> 1);
    for (let o = 0; o < co; o++) {
      const src = ((ky * 4 + kx) * co + o) * ci;
      const row = (sy * 2 + sx) * co + o;
      for (let i = 0; i < ci; i++) out[((row * ci + i) * 2 + ty) * 2 + tx] = data[src + i];
    }
  }
  return out;
}

/** Graph layout → TF layout (a new array). */
export function fromGraphLayout(data: Float32Array, t: TensorSpec, layout: GraphLayout): Float32Array {
  if (layout === 'same') return data.slice();
  const [kh, kw, a, c] = t.shape;
  const out = new Float32Array(data.length);
  if (layout === 'conv' || layout === 'convT-native') {
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < a; i++) {
      const dst = ((y * kw + x) * a + i) * c;
      for (let j = 0; j < c; j++) out[dst + j] = data[((j * a + i) * kh + y) * kw + x];
    }
    return out;
  }
  const co = a; const ci = c;
  for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
    const sy = ky & 1; const ty = 1 - (ky >> 1); const sx = kx & 1; const tx = 1 - (kx >> 1);
    for (let o = 0; o < co; o++) {
      const dst = ((ky * 4 + kx) * co + o) * ci;
      const row = (sy * 2 + sx) * co + o;
      for (let i = 0; i < ci; i++) out[dst + i] = data[((row * ci + i) * 2 + ty) * 2 + tx];
    }
  }
  return out;
}
