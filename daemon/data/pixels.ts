/**
 * Small pixel helpers shared by detection, landmarks and alignment, on plain typed arrays (no TF.js: these run
 * once per image in worker threads and are cheaper than tensor round trips). Images are [H, W, 3] uint8 RGB.
 */
import type { RgbImage } from './image';

/**
 * Bilinear resize of the region [x0, x0+w) × [y0, y0+h) of `img` to outW×outH, pixel-centre aligned (like
 * OpenCV's INTER_LINEAR, without its area filter). Samples outside the image clamp to the border.
 * Returns [outH, outW, 3] float32 in 0..255.
 */
export function resizeRegion(img: RgbImage, x0: number, y0: number, w: number, h: number, outW: number, outH: number): Float32Array {
  const out = new Float32Array(outW * outH * 3);
  const sx = w / outW;
  const sy = h / outH;
  const { width: W, height: H, data } = img;
  for (let oy = 0; oy < outH; oy++) {
    let fy = y0 + (oy + 0.5) * sy - 0.5;
    fy = Math.min(Math.max(fy, 0), H - 1);
    const iy = Math.min(Math.floor(fy), H - 2 < 0 ? 0 : H - 2);
    const ay = H === 1 ? 0 : fy - iy;
    for (let ox = 0; ox < outW; ox++) {
      let fx = x0 + (ox + 0.5) * sx - 0.5;
      fx = Math.min(Math.max(fx, 0), W - 1);
      const ix = Math.min(Math.floor(fx), W - 2 < 0 ? 0 : W - 2);
      const ax = W === 1 ? 0 : fx - ix;
      const p00 = (iy * W + ix) * 3;
      const p01 = p00 + (W > 1 ? 3 : 0);
      const p10 = p00 + (H > 1 ? W * 3 : 0);
      const p11 = p10 + (W > 1 ? 3 : 0);
      const o = (oy * outW + ox) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[p00 + c] + (data[p01 + c] - data[p00 + c]) * ax;
        const bot = data[p10 + c] + (data[p11 + c] - data[p10 + c]) * ax;
        out[o + c] = top + (bot - top) * ay;
      }
    }
  }
  return out;
}

/** ITU-R BT.601 luma of an [N, 3] float RGB buffer, 0..255 → [N] float 0..255 (what cv::COLOR_RGB2GRAY does). */
export function toGray(rgb: Float32Array): Float32Array {
  const n = rgb.length / 3;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
  return out;
}
