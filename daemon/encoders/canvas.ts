/**
 * The canvas a face detector is given to find an aligned crop's face again: the crop at the centre of a
 * canvas twice its side, in its mean border colour. The `redetect` protocol (daemon/evaluation/protocols.ts)
 * and the attack's face check use it, and so does an HTTP encoder whose service detects faces itself
 * (`image.canvas: "padded"`). Plain pixels, no detector: the encoders' layer can use it.
 */

/** Puts an [S,S,3] crop at the centre of a 2S×2S canvas of its mean border colour. */
export function padToCanvas(crop: Uint8Array, size: number): { width: number; height: number; data: Uint8Array } {
  const mean = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < size; i++) {
    for (const [x, y] of [[i, 0], [i, size - 1], [0, i], [size - 1, i]]) {
      const o = (y * size + x) * 3;
      mean[0] += crop[o]; mean[1] += crop[o + 1]; mean[2] += crop[o + 2]; n++;
    }
  }
  const W = size * 2;
  const data = new Uint8Array(W * W * 3);
  for (let i = 0; i < W * W; i++) { data[3 * i] = mean[0] / n; data[3 * i + 1] = mean[1] / n; data[3 * i + 2] = mean[2] / n; }
  const off = Math.floor(size / 2);
  for (let y = 0; y < size; y++) data.set(crop.subarray(y * size * 3, (y + 1) * size * 3), ((y + off) * W + off) * 3);
  return { width: W, height: W, data };
}
