/**
 * The evaluation's content-keyed caches beyond the independent detector's (daemon/evaluation/cropEmbeddingCache.ts,
 * protocols.ts embedCrops and redetect): a split's real crops and baselines are embedded and re-detected once;
 * what is read back is what was computed; failures are not kept as templates.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaceDataError } from '../../../daemon/data/errors';
import type { RgbImage } from '../../../daemon/data/image';
import type { Encoder } from '../../../daemon/encoders/types';
import { CropEmbeddingCache } from '../../../daemon/evaluation/cropEmbeddingCache';
import { DetectionCache } from '../../../daemon/evaluation/detectionCache';
import { embedCrops, redetect } from '../../../daemon/evaluation/protocols';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';

const S = 8;
const crop = (v: number) => new Uint8Array(S * S * 3).fill(v);
const spec = { template: 'arcface-5pt' as const, size: S };
const target = { id: 'stub-enc', modelHash: 'ab'.repeat(32), alignment: spec };

/** A stand-in encoder: the template of a crop is [its mean pixel, 1] normalised; counts the crops it embeds. */
function stubEncoder() {
  const seen: number[] = [];
  const enc = {
    id: 'stub-enc', dim: 2, inputSize: S,
    async embed(x: tf.Tensor4D) {
      const means = (await tf.mean(x, [1, 2, 3]).data()) as Float32Array;
      return Array.from(means, (m) => { seen.push(m); const n = Math.hypot(m, 1); return Float32Array.of(m / n, 1 / n); });
    },
  };
  return { enc: enc as unknown as Encoder, seen };
}

describe('evaluation: templates and re-detections of the same crops are kept by content', () => {
  let dir: string;
  before(() => initEngine({ backend: 'wasm' }));
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-cropemb-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('embedCrops with a cache: a second pass (the cache reopened) embeds nothing and returns the same templates; failures pass through uncached', async () => {
    const items = [{ crop: crop(10) }, { failure: 'no-face' }, { crop: crop(200) }, { crop: crop(10) }];
    const first = stubEncoder();
    let cache = CropEmbeddingCache.open(dir, target);
    const a = await embedCrops(first.enc, items, spec, cache);
    cache.close();
    assert.equal(first.seen.length, 3, 'every crop embedded once in the first pass (the repeat is in the same batch)');
    assert.equal(a[1].embedding, null);
    assert.equal(a[1].failure, 'no-face');
    const second = stubEncoder();
    cache = CropEmbeddingCache.open(dir, target);
    const b = await embedCrops(second.enc, items, spec, cache);
    cache.close();
    assert.equal(second.seen.length, 0, 'all answered from the cache');
    assert.deepEqual(b.map((r) => r.embedding && Array.from(r.embedding)), a.map((r) => r.embedding && Array.from(r.embedding)));
    assert.equal(b[1].failure, 'no-face');
    const other = stubEncoder();
    cache = CropEmbeddingCache.open(dir, { ...target, modelHash: 'cd'.repeat(32) });
    await embedCrops(other.enc, items, spec, cache);
    cache.close();
    assert.equal(other.seen.length, 3, 'another model file is another cache');
  });

  it('redetect with a cache: the second pass asks the detector nothing and gives the same faces and failures', async () => {
    const calls: string[] = [];
    const analyzer = {
      async analyse(img: RgbImage, name: string) {
        calls.push(name);
        const centre = img.data[((img.height / 2) * img.width + img.width / 2) * 3];
        if (centre < 100) throw new FaceDataError(name, 'no-face', 'stand-in');
        return { width: img.width, height: img.height, faceCount: 1, box: { x1: 1, y1: 2, x2: 9, y2: 12, score: 0.9 }, landmarks: new Array<number>(136).fill(centre / 10) };
      },
    };
    const crops = [crop(150), crop(20), crop(180)];
    const names = ['a', 'b', 'c'];
    const first = await redetect(analyzer, crops, S, names, new DetectionCache(dir, 'stub-pipeline'));
    assert.equal(calls.length, 3);
    const again = await redetect(analyzer, crops, S, names, new DetectionCache(dir, 'stub-pipeline'));
    assert.equal(calls.length, 3, 'answered from the cache');
    assert.deepEqual(again.map((r) => r.failure ?? null), first.map((r) => r.failure ?? null));
    assert.deepEqual(again.map((r) => r.face && Array.from(r.face.landmarks)), first.map((r) => r.face && Array.from(r.face.landmarks)));
    assert.equal(first[1].failure, 'no-face');
  });
});
