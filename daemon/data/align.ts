/**
 * Face alignment: a similarity transform (rotation, uniform scale, translation) fitted by least squares from
 * five image points to a template's five points (Umeyama, "Least-squares estimation of transformation
 * parameters between two point patterns", IEEE TPAMI 1991 — what skimage's SimilarityTransform and
 * InsightFace's norm_crop use), then an inverse warp with bilinear sampling; pixels that fall outside the
 * image are black (cv2.warpAffine's default border). Box templates crop a square around the detector box.
 * Output: [S, S, 3] uint8 RGB, so that cached crops and freshly aligned ones are bit-identical.
 */
import type { RgbImage } from './image';
import type { FaceBox } from './detect';
import type { Landmarks68, Points5 } from './landmarks';
import { AlignmentSpec, getTemplate } from './templates';

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty (a = s·cos θ, b = s·sin θ). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** Least-squares similarity mapping `src` points onto `dst` points (Umeyama 1991, 2-D, no reflection). */
export function umeyama(src: Points5 | [number, number][], dst: Points5 | [number, number][]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error(`umeyama: need ≥ 2 point pairs of equal count, got ${n} and ${dst.length}`);
  let msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += src[i][0]; msy += src[i][1]; mdx += dst[i][0]; mdy += dst[i][1];
  }
  msx /= n; msy /= n; mdx /= n; mdy /= n;
  // For 2-D the optimal rotation/scale has a closed form: with centred points p (src) and q (dst),
  // a = Σ(p·q) / Σ|p|², b = Σ(p × q) / Σ|p|², which equals Umeyama's c·R (the SVD sign fix is never needed
  // because a similarity without reflection is parameterised directly).
  let sxx = 0, dot = 0, cross = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i][0] - msx, py = src[i][1] - msy;
    const qx = dst[i][0] - mdx, qy = dst[i][1] - mdy;
    sxx += px * px + py * py;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
  }
  if (!(sxx > 1e-9)) throw new Error('umeyama: source points are all at the same place');
  const a = dot / sxx;
  const b = cross / sxx;
  return { a, b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy) };
}

export function applySimilarity(t: Similarity, [x, y]: [number, number]): [number, number] {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  if (!(d > 0)) throw new Error('invertSimilarity: zero scale');
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/**
 * Samples `img` at T⁻¹(crop pixel) for every pixel of a size×size crop, where `t` maps image → crop.
 * Bilinear; outside the image contributes black. Returns [size, size, 3] uint8.
 */
export function warpSimilarity(img: RgbImage, t: Similarity, size: number): Uint8Array {
  const inv = invertSimilarity(t);
  const out = new Uint8Array(size * size * 3);
  const { width: W, height: H, data } = img;
  const px = (x: number, y: number, c: number) => (x >= 0 && y >= 0 && x < W && y < H ? data[(y * W + x) * 3 + c] : 0);
  for (let oy = 0; oy < size; oy++) {
    for (let ox = 0; ox < size; ox++) {
      const sx = inv.a * ox - inv.b * oy + inv.tx;
      const sy = inv.b * ox + inv.a * oy + inv.ty;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      const o = (oy * size + ox) * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const p = (y0 * W + x0) * 3;
        const q = p + W * 3;
        for (let c = 0; c < 3; c++) {
          const top = data[p + c] + (data[p + 3 + c] - data[p + c]) * fx;
          const bot = data[q + c] + (data[q + 3 + c] - data[q + c]) * fx;
          out[o + c] = Math.round(top + (bot - top) * fy);
        }
      } else if (x0 >= -1 && y0 >= -1 && x0 < W && y0 < H) {
        for (let c = 0; c < 3; c++) {
          const top = px(x0, y0, c) * (1 - fx) + px(x0 + 1, y0, c) * fx;
          const bot = px(x0, y0 + 1, c) * (1 - fx) + px(x0 + 1, y0 + 1, c) * fx;
          out[o + c] = Math.round(top + (bot - top) * fy);
        }
      }
    }
  }
  return out;
}

/** What alignment needs from face analysis: the chosen face's box and 68 landmarks. */
export interface FaceGeometry {
  box: FaceBox;
  landmarks: Landmarks68;
}

/** The image → crop transform for `spec` (landmark fit for point templates, box crop for box templates). */
export function alignmentTransform(face: FaceGeometry, spec: AlignmentSpec): Similarity {
  if (!Number.isInteger(spec.size) || spec.size < 8 || spec.size > 1024) {
    throw new Error(`alignment size ${spec.size} for template ${spec.template}: expected an integer in [8, 1024]`);
  }
  const tpl = getTemplate(spec.template);
  if (tpl.kind === 'points') {
    return umeyama(tpl.fromLandmarks(face.landmarks), tpl.pointsAt(spec.size));
  }
  const { x1, y1, x2, y2 } = face.box;
  const side = Math.max(x2 - x1, y2 - y1) * tpl.enlarge;
  const s = spec.size / side;
  const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
  // crop pixel (0,0) ↔ image (cx − side/2, cy − side/2); pixel-index convention as for point templates.
  return { a: s, b: 0, tx: -(cx - side / 2) * s, ty: -(cy - side / 2) * s };
}

/** Aligned crop of `face` in `img`: [S, S, 3] uint8 RGB, S = spec.size. */
export function alignFace(img: RgbImage, face: FaceGeometry, spec: AlignmentSpec): Uint8Array {
  return warpSimilarity(img, alignmentTransform(face, spec), spec.size);
}

/** uint8 crops → float32 in [0, 1] (the encoders' input range), same layout. */
export function cropsToFloat(crops: Uint8Array): Float32Array {
  const out = new Float32Array(crops.length);
  for (let i = 0; i < crops.length; i++) out[i] = crops[i] / 255;
  return out;
}
