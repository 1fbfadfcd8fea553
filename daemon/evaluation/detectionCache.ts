/**
 * Face detections of the evaluation's images, kept by the image's content. The real crops, the nearest
 * training faces and the mean face of a split are the same images in every run of that split, and the
 * independent detector (face-api's SSD MobileNet v1 at its fixed 512-px input) costs about 0.3 s each on two
 * cores: without the cache every evaluation paid for them again, and the main job's evaluation overran its
 * share of the run's minutes.
 *
 * One append-only JSON-lines file per detector under `<cacheDir>/detections/`: a line per image, keyed by
 * SHA-256 of its size and pixels. A torn last line (a kill mid-write) is skipped when read.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FaceGeometry } from '../data/align';
import type { RgbImage } from '../data/image';

/** A detector's answer for one image: the face it found, or the kind of failure (FaceDataError.kind). */
export type CachedDetection = { face: FaceGeometry } | { failure: string };

interface Line { key: string; face?: { box: FaceGeometry['box']; landmarks: number[] }; failure?: string }

/** Bump when what a detector returns for the same pixels changes (its options, weights or canvas). */
const FORMAT = 1;

export class DetectionCache {
  private readonly known = new Map<string, CachedDetection>();
  private readonly file: string | null;

  /** `dir`: the cache folder (no file is read or written when undefined); `detectorId`: whose answers these are. */
  constructor(dir: string | undefined, detectorId: string) {
    this.file = dir ? path.join(dir, 'detections', `${detectorId}-v${FORMAT}.jsonl`) : null;
    if (this.file && fs.existsSync(this.file)) {
      for (const text of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (!text.trim()) continue;
        let line: Line;
        try { line = JSON.parse(text) as Line; } catch { continue; }
        if (line.face) this.known.set(line.key, { face: { box: line.face.box, landmarks: Float32Array.from(line.face.landmarks) } });
        else if (line.failure) this.known.set(line.key, { failure: line.failure });
      }
    }
  }

  static keyOf(img: RgbImage): string {
    return createHash('sha256').update(`${img.width}x${img.height}:`).update(img.data).digest('hex');
  }

  get(key: string): CachedDetection | undefined {
    return this.known.get(key);
  }

  has(key: string): boolean {
    return this.known.has(key);
  }

  put(key: string, d: CachedDetection): void {
    this.known.set(key, d);
    if (!this.file) return;
    const line: Line = 'face' in d
      ? { key, face: { box: d.face.box, landmarks: Array.from(d.face.landmarks) } }
      : { key, failure: d.failure };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}
