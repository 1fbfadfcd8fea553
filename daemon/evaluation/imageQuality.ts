/**
 * Pixel-level similarity between a reconstruction and its aligned source: PSNR on RGB and SSIM on luma
 * (Wang et al. 2004, "Image quality assessment: from error visibility to structural similarity": 11×11
 * Gaussian window σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255). Inputs are [S, S, 3] uint8 RGB.
 */

export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: images differ in size (${a.length} vs ${b.length} values)`);
  let se = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; se += d * d; }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

function luma(img: Uint8Array, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = 0.299 * img[3 * i] + 0.587 * img[3 * i + 1] + 0.114 * img[3 * i + 2];
  return out;
}

const WINDOW = (() => {
  const r = 5, sigma = 1.5;
  const w = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = w.reduce((p, q) => p + q, 0);
  return w.map((v) => v / s);
})();

/** Separable Gaussian filter, 'valid' region only (as the reference implementation). */
function filter(x: Float64Array, size: number): { out: Float64Array; n: number } {
  const k = WINDOW.length;
  const n = size - k + 1;
  const tmp = new Float64Array(size * n);
  for (let y = 0; y < size; y++) for (let xo = 0; xo < n; xo++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += WINDOW[j] * x[y * size + xo + j];
    tmp[y * n + xo] = s;
  }
  const out = new Float64Array(n * n);
  for (let yo = 0; yo < n; yo++) for (let xo = 0; xo < n; xo++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += WINDOW[j] * tmp[(yo + j) * n + xo];
    out[yo * n + xo] = s;
  }
  return { out, n };
}

export function ssim(a: Uint8Array, b: Uint8Array, size: number): number {
  if (a.length !== size * size * 3 || b.length !== a.length) throw new Error(`ssim: expected two ${size}×${size}×3 images`);
  const x = luma(a, size), y = luma(b, size);
  const mul = (p: Float64Array, q: Float64Array) => p.map((v, i) => v * q[i]);
  const { out: mx, n } = filter(x, size);
  const my = filter(y, size).out;
  const sxx = filter(mul(x, x), size).out, syy = filter(mul(y, y), size).out, sxy = filter(mul(x, y), size).out;
  const C1 = (0.01 * 255) ** 2, C2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let i = 0; i < n * n; i++) {
    const vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i];
    total += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) / ((mx[i] ** 2 + my[i] ** 2 + C1) * (vx + vy + C2));
  }
  return total / (n * n);
}

/** Mean SSIM and PSNR of each image against its original, over the pairs where both exist (a missing original or image is skipped). */
export function pixelSimilarity(images: readonly (Uint8Array | undefined)[], originals: readonly (Uint8Array | undefined)[], size: number): { ssim: number | null; psnr: number | null; compared: number } {
  let ssimSum = 0, psnrSum = 0, n = 0;
  originals.forEach((o, i) => {
    const img = images[i];
    if (!o || !img) return;
    ssimSum += ssim(img, o, size);
    const p = psnr(img, o);
    // Identical images have infinite PSNR: counted as 100 dB so that the mean stays finite.
    psnrSum += Number.isFinite(p) ? p : 100;
    n++;
  });
  return { ssim: n ? ssimSum / n : null, psnr: n ? psnrSum / n : null, compared: n };
}
