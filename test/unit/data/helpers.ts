/**
 * Shared fixtures for the data-pipeline tests: where LFW is (read-only, never copied into the repo), a few of
 * its images, and synthetic bad inputs written to a temporary folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';

/** /work/shared/data/lfw, resolved from the compiled test file (out/test/unit/data → repo root → ../shared). */
export const LFW_DIR = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'lfw');
export const LFW_IMAGES = path.join(LFW_DIR, 'lfw-deepfunneled');
export const HAVE_LFW = fs.existsSync(path.join(LFW_IMAGES, 'Aaron_Eckhart', 'Aaron_Eckhart_0001.jpg'));

export function lfwImage(person: string, n: number): string {
  return path.join(LFW_IMAGES, person, `${person}_${String(n).padStart(4, '0')}.jpg`);
}

/** Skips the current suite with a printed reason when LFW is absent. */
export function requireLfw(ctx: Mocha.Context): void {
  if (!HAVE_LFW) {
    console.log(`    (skipped: LFW not found at ${LFW_DIR})`);
    ctx.skip();
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `faceinv-${prefix}-`));
}

/** A JPEG that decodes to width×height mid-gray with gentle noise (no face in it). */
export async function noFaceJpeg(width = 200, height = 160): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  let s = 12345;
  for (let i = 0; i < px.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    px[i] = 120 + (s % 16);
  }
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg().toBuffer();
}
