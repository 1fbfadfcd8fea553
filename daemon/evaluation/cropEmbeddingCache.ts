/**
 * Templates of the evaluation's aligned crops, kept by the crop's content: one log per encoder model and
 * alignment under `<cacheDir>/crop-emb/`. A split's real crops, nearest training faces and mean face are the
 * same pixels in every run of that split, and so are their aligned crops under each protocol; without the cache
 * every evaluation embedded them again — two thirds of its scoring, most of it human-faceres at ≈ 38 faces/s on
 * two cores — and the main job's `independent` protocol did not fit the run's budget. The reconstructions change
 * with every run and are not kept (the caller passes no cache for them).
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { EncoderTarget } from '../data/pipeline';
import { encoderIdForPath } from '../protocol/encoderConfig';
import { RecordLog } from '../data/recordLog';
import { alignmentKey } from '../data/templates';

export class CropEmbeddingCache {
  private constructor(private readonly log: RecordLog) {}

  /** The cache of `enc`'s templates (its model files' hash and alignment are part of the path). */
  static open(cacheDir: string, enc: Pick<EncoderTarget, 'id' | 'modelHash' | 'alignment'>): CropEmbeddingCache {
    return new CropEmbeddingCache(RecordLog.open(path.join(cacheDir, 'crop-emb', encoderIdForPath(enc.id), enc.modelHash.slice(0, 16), `${alignmentKey(enc.alignment)}.log`)));
  }

  /** SHA-256 of an [S, S, 3] crop's side and pixels. */
  static keyOf(crop: Uint8Array, size: number): string {
    return createHash('sha256').update(`${size}:`).update(crop).digest('hex');
  }

  get(key: string): Float32Array | undefined {
    const b = this.log.get(key);
    return b ? new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) : undefined;
  }

  put(key: string, embedding: Float32Array): void {
    this.log.append(key, new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength));
  }

  close(): void {
    this.log.close();
  }
}
