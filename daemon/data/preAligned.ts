/**
 * Datasets whose photos are already aligned face crops (e.g. a folder of ArcFace 112×112 crops): the pipeline
 * gives such a photo straight to the encoder, rescaled to the encoder's crop size when the declared size differs,
 * and skips detection, landmarks and alignment — work that would only re-find the face the crop already is.
 *
 * Declared: a `faceinv-dataset.json` in the dataset folder (the one named, or the identity-folder root) with
 *   { "aligned": "arcface-5pt:112" }     (TEMPLATE:SIZE, templates of daemon/data/templates.ts)
 * Detected: no declaration, and the first photos (up to 8, spread over the listing) are all square and exactly
 * the encoder's crop size — a photo that small and square is a crop, not a scene. The check is per photo too: a
 * photo that is not square goes through detection as usual.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ImageDataset } from './dataset';
import type { RgbImage } from './image';
import { resizeRegion } from './pixels';
import { AlignmentSpec, isTemplateName, alignmentKey, TEMPLATE_NAMES } from './templates';

export const DATASET_CONFIG = 'faceinv-dataset.json';

export interface PreAlignment {
  /** The template and size the photos are aligned in. */
  spec: AlignmentSpec;
  how: 'declared' | 'detected';
  /** Why, in words (for the CLI's summary). */
  detail: string;
}

/** The `aligned` declaration of the dataset's config file, or null when it has none; throws naming the file and the problem. */
export function declaredAlignment(ds: Pick<ImageDataset, 'root' | 'givenDir'>): { spec: AlignmentSpec; file: string } | null {
  for (const dir of [...new Set([ds.givenDir, ds.root])]) {
    const file = path.join(dir, DATASET_CONFIG);
    if (!fs.existsSync(file)) continue;
    let j: unknown;
    try {
      j = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    const aligned = (j as { aligned?: unknown } | null)?.aligned;
    if (aligned === undefined) return null;
    const m = typeof aligned === 'string' ? /^([a-z0-9-]+):(\d+)$/.exec(aligned) : null;
    if (!m || !isTemplateName(m[1]) || Number(m[2]) < 16) {
      throw new Error(`${file}: "aligned" must be "TEMPLATE:SIZE" with a known template (${TEMPLATE_NAMES.join(', ')}) and a size ≥ 16, got ${JSON.stringify(aligned)}`);
    }
    return { spec: { template: m[1], size: Number(m[2]) }, file };
  }
  return null;
}

/** Whether the dataset's photos can go straight to an encoder aligned as `enc`; null when they need detection. */
export async function preAlignmentFor(ds: ImageDataset, enc: AlignmentSpec, sample = 8): Promise<PreAlignment | null> {
  const declared = declaredAlignment(ds);
  if (declared) {
    if (declared.spec.template !== enc.template) return null; // other frame: align from detection as usual
    return { spec: declared.spec, how: 'declared', detail: `${path.basename(declared.file)} declares ${alignmentKey(declared.spec)} crops` };
  }
  const n = Math.min(sample, ds.images.length);
  if (n === 0) return null;
  const step = ds.images.length / n;
  for (let k = 0; k < n; k++) {
    const file = ds.images[Math.floor(k * step)].file;
    let meta: { width?: number; height?: number };
    try {
      meta = await sharp(file).metadata();
    } catch {
      return null;
    }
    if (meta.width !== enc.size || meta.height !== enc.size) return null;
  }
  return { spec: enc, how: 'detected', detail: `the ${n} photos sampled are all ${enc.size}×${enc.size}, the encoder's ${enc.template} crop size` };
}

/**
 * The encoder's crop from an already aligned photo: the photo itself when it is `target.size` square, else
 * rescaled (same template, so a pure scale); null when the photo is not square (it needs detection).
 */
export function cropFromAligned(img: RgbImage, target: AlignmentSpec): Uint8Array | null {
  if (img.width !== img.height) return null;
  if (img.width === target.size) return Uint8Array.from(img.data);
  const f = resizeRegion(img, 0, 0, img.width, img.height, target.size, target.size);
  return Uint8Array.from(f, (v) => Math.min(255, Math.max(0, Math.round(v))));
}
