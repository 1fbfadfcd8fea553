/** A stand-in face embedder for the oracle tests: the unit vector of a crop's mean R, G, B and a constant. */
import sharp from 'sharp';

export async function colourEmbed(p: Uint8Array): Promise<Float32Array> {
  const m = [0, 0, 0];
  for (let i = 0; i < p.length; i++) m[i % 3] += p[i] / (p.length / 3) / 255;
  const v = [m[0] - 0.5, m[1] - 0.5, m[2] - 0.5, 0.3];
  const n = Math.hypot(...v);
  return Float32Array.from(v.map((x) => x / n));
}

/** An S×S crop of one colour, RGB bytes. */
export const colourCrop = (S: number, r: number, g: number, b: number): Uint8Array => Uint8Array.from({ length: S * S * 3 }, (_, i) => [r, g, b][i % 3]);

/** A raw S×S RGB crop as base64 PNG. */
export const pngBase64 = async (S: number, c: Uint8Array): Promise<string> => (await sharp(Buffer.from(c), { raw: { width: S, height: S, channels: 3 } }).png().toBuffer()).toString('base64');
