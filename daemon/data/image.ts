/**
 * Image files in and out. Decoding goes through sharp (libvips): JPEG, PNG, WebP, GIF, TIFF, AVIF/HEIF.
 * Whatever the file holds (grayscale, CMYK, 16-bit, alpha, an EXIF rotation) comes out as upright 8-bit sRGB,
 * [H, W, 3] row-major uint8. Alpha is flattened onto white (a transparent PNG of a face is a face on a
 * white page, not on black). Problems become a `FaceDataError` naming the file and what is wrong.
 */
import * as fs from 'node:fs';
import sharp from 'sharp';
import { FaceDataError } from './errors';

/** An upright 8-bit RGB image. `data` is [height, width, 3] row-major, values 0..255. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Smallest side we accept: below this no detector or encoder input is meaningful. */
export const MIN_IMAGE_SIDE = 32;

export interface DecodeOptions {
  /** Smallest accepted width/height in pixels (default MIN_IMAGE_SIDE). */
  minSide?: number;
}

/** Recognises the container from its first bytes; null when it is no format we decode. */
export function sniffImageFormat(head: Uint8Array): string | null {
  const b = head;
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) ||
    (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) return 'tiff';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp') return 'heif';
  return null;
}

/** Reads and decodes `file` to upright RGB. Throws FaceDataError (unreadable / not-an-image / corrupt / too-small). */
export async function decodeImage(file: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    throw new FaceDataError(file, 'unreadable', (err as Error).message);
  }
  return decodeImageBytes(bytes, file, opts);
}

/** Decodes in-memory file bytes; `name` is used in error messages. */
export async function decodeImageBytes(bytes: Uint8Array, name: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  const minSide = opts.minSide ?? MIN_IMAGE_SIDE;
  if (bytes.length === 0) throw new FaceDataError(name, 'not-an-image', 'the file is empty');
  const format = sniffImageFormat(bytes.subarray(0, 16));
  if (format === null) {
    const head = Buffer.from(bytes.subarray(0, 8)).toString('hex');
    throw new FaceDataError(name, 'not-an-image', `no known image signature (first bytes ${head})`);
  }
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // failOn 'warning' turns libvips' "premature end of JPEG" (a truncated file) into an error instead of a
    // silently grey lower half. autoOrient applies EXIF orientation; toColourspace maps gray/CMYK to sRGB.
    out = await sharp(bytes, { failOn: 'warning', limitInputPixels: 1 << 28 })
      .autoOrient()
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new FaceDataError(name, 'corrupt', `${format} does not decode: ${(err as Error).message.trim()}`);
  }
  const { width, height, channels } = out.info;
  if (channels !== 3) {
    throw new FaceDataError(name, 'corrupt', `decoded to ${channels} channels, expected 3`);
  }
  if (width < minSide || height < minSide) {
    throw new FaceDataError(name, 'too-small', `${width}×${height} px, the minimum side is ${minSide} px`);
  }
  return { width, height, data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length) };
}

/**
 * Writes an RGB image as PNG. `pixels` is [height, width, 3] row-major: float values in [0, 1] (clamped,
 * rounded) or uint8 0..255.
 */
export async function writePng(file: string, pixels: Float32Array | Uint8Array, width: number, height: number): Promise<void> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`writePng(${file}): bad size ${width}×${height}`);
  }
  if (pixels.length !== width * height * 3) {
    throw new Error(`writePng(${file}): ${pixels.length} values, expected ${width}×${height}×3 = ${width * height * 3}`);
  }
  let bytes: Uint8Array;
  if (pixels instanceof Uint8Array) {
    bytes = pixels;
  } else {
    bytes = new Uint8Array(pixels.length);
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i];
      if (Number.isNaN(v)) throw new Error(`writePng(${file}): value ${i} is NaN`);
      bytes[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  await sharp(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}
