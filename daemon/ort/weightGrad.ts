/**
 * Convolution weight gradients as a few large GEMMs over *shifted flat views* instead of an im2col matrix.
 *
 * For a stride-1 k×k convolution, dW[m, c, a, b] = Σ_{n,i,j} dy[n, m, i, j] · xp[n, c, i + a, j + b] (xp = x
 * padded). Laid out channel-major and flattened, xp becomes [C, R] with R = N·Hp·Wp, and dy, embedded
 * top-left in the same Hp×Wp grid (zeros elsewhere), becomes [M, R]. The window of tap (a, b) is then the
 * contiguous column range shifted by a·Wp + b: dW_ab = dy[:, 0:L] · xp[:, s:s+L]ᵀ, one Gemm per tap whose
 * operands are plain column slices (row-wise memcpy), never a k²-times larger im2col copy and concat. Wrapped
 * positions pair with dy's zero rows and contribute nothing. (The same shifted-view idea as "Fast Algorithms
 * for Convolutional Neural Networks" / implicit GEMM; here it is what ONNX ops can express cheaply.)
 *
 * A transposed convolution k4 s2 p1 (the decoder's up-sampling) is reduced to this by its phase form: the
 * padded output gradient, SpaceToDepth'd by 2, is a stride-1 2×2 correlation target with 4·Co channels, so
 * dW needs 4 shifts instead of 16 strided windows.
 */
import type { GraphBuilder } from './graph';

function dims4(b: GraphBuilder, v: string, where: string): number[] {
  const s = b.shape(v);
  if (s.length !== 4) throw new Error(`${where}: expected a rank-4 tensor, got [${s}]`);
  return s.map((d) => (typeof d === 'number' ? d : -1));
}

/**
 * [N, C, H, W] → [C, N, H, W] padded spatially by (top, left, bottom, right), with `frontImages` zero images
 * before the first → [C, (N + frontImages)·Hp·Wp]. One Transpose (contiguous H·W blocks) and one Pad.
 */
function channelMajorFlat(b: GraphBuilder, x: string, pad: [number, number, number, number], frontImages = 0): string {
  const c = b.shape(x)[1] as number;
  let t = b.op('Transpose', [x], { perm: [1, 0, 2, 3] });
  if (pad.some((v) => v) || frontImages) t = b.op('Pad', [t, b.ints([0, frontImages, pad[0], pad[1], 0, 0, pad[2], pad[3]])]);
  return b.op('Reshape', [t, b.ints([c, -1])]);
}

/** Column slice [from, from + len) of a [C, R] matrix (R symbolic: len may be negative = R + len). */
function cols(b: GraphBuilder, m: string, from: number, to: number): string {
  return b.op('Slice', [m, b.ints([from]), b.ints([to]), b.ints([1])]);
}

/**
 * dW [M, C, k, k] of a stride-1, dilation-1 Conv with pads p (top, left, bottom, right), from x [N, C, H, W]
 * and dy [N, M, Ho, Wo]. N may be symbolic; C, M and spatial sizes must be static.
 */
export function convWeightGradShift(b: GraphBuilder, x: string, dy: string, k: [number, number], p: number[], where: string): string {
  const [, c, h, w] = dims4(b, x, where);
  const [, m, ho, wo] = dims4(b, dy, where);
  const [kh, kw] = k;
  const hp = Math.max(h + p[0] + p[2], ho + kh - 1);
  const wp = Math.max(w + p[1] + p[3], wo + kw - 1);
  const maxShift = (kh - 1) * wp + (kw - 1);
  // x in the padded grid; dy top-left in the same grid.
  const xf = channelMajorFlat(b, x, [p[0], p[1], hp - h - p[0], wp - w - p[1]]);
  const dyf = channelMajorFlat(b, dy, [0, 0, hp - ho, wp - wo]);
  // L = R − maxShift columns: the last maxShift columns of dy lie in its zero padding.
  const dyL = cols(b, dyf, 0, -maxShift || 2 ** 62);
  const taps: string[] = [];
  for (let a = 0; a < kh; a++) {
    for (let bb = 0; bb < kw; bb++) {
      const s = a * wp + bb;
      const xs = cols(b, xf, s, s - maxShift === 0 ? 2 ** 62 : s - maxShift);
      taps.push(b.op('Gemm', [dyL, xs], { transB: 1 })); // [M, C]
    }
  }
  const stacked = b.op('Concat', taps, { axis: 0 }); // [k²·M, C]
  const t = b.op('Transpose', [b.op('Reshape', [stacked, b.ints([kh * kw, m, c])])], { perm: [1, 2, 0] });
  return b.op('Reshape', [t, b.ints([m, c, kh, kw])]);
}

/**
 * dW [Ci, Co, 4, 4] (ONNX ConvTranspose layout) of ConvTranspose(x, W, kernel 4, stride 2, pads 1), from
 * x [N, Ci, h, w] and dy [N, Co, 2h, 2w]:
 *   P = SpaceToDepth(pad(dy, 1), 2)  [N, 4·Co, h+1, w+1], channel (pa·2 + pb)·Co + co,
 *   dW[ci, co, 2α + pa, 2β + pb] = Σ x[n, ci, i, j] · P[n, (pa, pb, co), i + α, j + β]   (α, β ∈ {0, 1}).
 * x is shifted (front-padded flat view) so P is used whole.
 */
export function convTransposeK4S2WeightGrad(b: GraphBuilder, x: string, dy: string, where: string): string {
  const [, ci, h, w] = dims4(b, x, where);
  const [, co, hy, wy] = dims4(b, dy, where);
  if (hy !== 2 * h || wy !== 2 * w) throw new Error(`${where}: ConvTranspose k4 s2 p1 gradient expects dy [N, Co, ${2 * h}, ${2 * w}], got [${b.shape(dy)}]`);
  const hq = h + 1; const wq = w + 1;
  const P = b.op('SpaceToDepth', [b.op('Pad', [dy, b.ints([0, 0, 1, 1, 0, 0, 1, 1])])], { blocksize: 2 }); // [N, 4Co, hq, wq]
  const pf = channelMajorFlat(b, P, [0, 0, 0, 0]); // [4Co, R]
  const front = hq * wq;
  // x in the hq×wq grid (one zero row/column at the end), flat, after one zero image (front columns).
  const xf = channelMajorFlat(b, x, [0, 0, 1, 1], 1); // [Ci, front + R]
  const parts: string[] = [];
  for (let al = 0; al < 2; al++) {
    for (let be = 0; be < 2; be++) {
      const s = al * wq + be;
      // Σ_r x[r − s]·P[r]: x's flat view starts `front − s` columns in.
      const xs = cols(b, xf, front - s, s === 0 ? 2 ** 62 : -s);
      parts.push(b.op('Gemm', [xs, pf], { transB: 1 })); // [Ci, 4Co]
    }
  }
  const stacked = b.op('Concat', parts, { axis: 0 }); // [(α, β, ci), (pa, pb, co)]
  const r = b.op('Reshape', [stacked, b.ints([2, 2, ci, 2, 2, co])]);
  const t = b.op('Transpose', [r], { perm: [2, 5, 0, 3, 1, 4] }); // [ci, co, α, pa, β, pb]
  return b.op('Reshape', [t, b.ints([ci, co, 4, 4])]);
}
