/**
 * Shared test helpers for the encoder zoo: engine start-up, LFW location, and quick centred crops of
 * deep-funneled LFW images (good enough for smoke tests; real alignment is daemon/data's job).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { tf } from '../../../daemon/tfjs/tf';

/** /work/shared/data/lfw, resolved from the repository root (…/out/test/unit/encoders → ../shared/data/lfw). */
export const LFW_DIR = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'lfw');
export const LFW_IMAGES = path.join(LFW_DIR, 'lfw-deepfunneled');

export function lfwAvailable(): boolean {
  return fs.existsSync(LFW_IMAGES);
}

/** Starts the engine: `initEngine({backend:'wasm'})` once daemon/tfjs/backend.ts loads, else plain wasm. */
export async function initTestEngine(): Promise<void> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const backend = require('../../../daemon/tfjs/backend') as { initEngine?: (o: { backend: string; log?: (m: string) => void }) => Promise<unknown> };
    if (backend.initEngine) {
      await backend.initEngine({ backend: 'wasm', log: () => undefined });
      return;
    }
  } catch {
    // backend.ts not built yet or failing: fall through to the plain wasm backend.
  }
  if (tf.getBackend() !== 'wasm') {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('test engine: the wasm backend did not initialise');
  }
  await tf.ready();
}

/** Square crop box [left, top, side] in the 250×250 deep-funneled image, per alignment template. */
export const CROP_BOX: Record<string, [number, number, number]> = {
  'arcface-5pt': [70, 72, 110],
  'dlib-5pt-chip': [60, 62, 130],
  'human-crop': [45, 45, 160],
};

/** LFW image path: `Person_Name`, 1-based index → …/Person_Name/Person_Name_0001.jpg. */
export function lfwFile(person: string, index: number): string {
  return path.join(LFW_IMAGES, person, `${person}_${String(index).padStart(4, '0')}.jpg`);
}

/** Loads files as centred crops resized to `size`: [N, size, size, 3] float32 in [0,1]. */
export async function loadCrops(files: string[], box: [number, number, number], size: number): Promise<tf.Tensor4D> {
  const [left, top, side] = box;
  const buffers = await Promise.all(files.map(async (f) => {
    const { data } = await sharp(f).extract({ left, top, width: side, height: side }).resize(size, size)
      .removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return data;
  }));
  const all = new Float32Array(files.length * size * size * 3);
  buffers.forEach((b, i) => { for (let j = 0; j < b.length; j++) all[i * b.length + j] = b[j] / 255; });
  return tf.tensor4d(all, [files.length, size, size, 3]);
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}
