/**
 * The evaluation's detection cache (daemon/evaluation/detectionCache.ts) and the time check of the
 * `independent` protocol (protocols.ts independentCost): a split's real crops and baselines are detected once,
 * and a run's evaluation scores the protocol only when what the cache lacks, and scoring it, fit before its deadline
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaceDataError } from '../../../daemon/data/errors';
import type { RgbImage } from '../../../daemon/data/image';
import { DetectionCache } from '../../../daemon/evaluation/detectionCache';
import { detectIndependent, independentCost } from '../../../daemon/evaluation/protocols';
import { independentOverBudget, WRITE_RESERVE_SECONDS } from '../../../daemon/evaluation/independentBudget';

const S = 16;
const crop = (v: number) => new Uint8Array(S * S * 3).fill(v);

/** A stand-in detector: a face in crops brighter than 100, none otherwise; counts its calls; optionally slow. */
function stubDetector(delayMs = 0) {
  const calls: string[] = [];
  return {
    calls,
    async analyse(img: RgbImage, name: string) {
      calls.push(name);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const centre = img.data[((img.height / 2) * img.width + img.width / 2) * 3];
      if (centre <= 100) throw new FaceDataError(name, 'no-face', 'stand-in');
      const landmarks = new Float32Array(136).fill(centre / 10);
      return { box: { x1: 1, y1: 2, x2: 30, y2: 40, score: 0.9 }, landmarks };
    },
  };
}

describe('evaluation: the detection cache and the independent protocol\'s time check', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-detcache-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('detects each image once: a second evaluation (a new cache object on the same folder) asks the detector nothing', async () => {
    const first = stubDetector();
    const a = await detectIndependent(first, [crop(200), crop(50), crop(150)], S, ['a', 'b', 'c'], 4, new DetectionCache(dir, 'stub'));
    assert.deepEqual(first.calls, ['a', 'b', 'c']);
    const second = stubDetector();
    const b = await detectIndependent(second, [crop(150), crop(200), crop(50)], S, ['c', 'a', 'b'], 4, new DetectionCache(dir, 'stub'));
    assert.deepEqual(second.calls, []);
    assert.deepEqual(b.map((x) => x.failure ?? 'face'), ['face', 'face', 'no-face']);
    assert.deepEqual(Array.from(b[1].face!.landmarks), Array.from(a[0].face!.landmarks));
    assert.deepEqual(b[1].face!.box, a[0].face!.box);
    // Another detector's answers are its own.
    assert.equal(new DetectionCache(dir, 'other').has(DetectionCache.keyOf({ width: S, height: S, data: crop(200) })), false);
  });

  it('skips a torn last line (a kill mid-write) and keeps appending', async () => {
    await detectIndependent(stubDetector(), [crop(200)], S, ['a'], 4, new DetectionCache(dir, 'stub'));
    const file = path.join(dir, 'detections', 'stub-v1.jsonl');
    fs.appendFileSync(file, '{"key":"abc","face":{"box"');
    const det = stubDetector();
    await detectIndependent(det, [crop(200), crop(180)], S, ['a', 'd'], 4, new DetectionCache(dir, 'stub'));
    assert.deepEqual(det.calls, ['d']);
  });

  it('an error that is not a face failure is not cached and propagates', async () => {
    const broken = { analyse: async () => { throw new Error('weights not loaded'); } };
    await assert.rejects(detectIndependent(broken, [crop(200)], S, ['a'], 4, new DetectionCache(dir, 'stub')), /weights not loaded/);
    assert.equal(fs.existsSync(path.join(dir, 'detections', 'stub-v1.jsonl')), false);
  });

  it('independentCost: times a few uncached images (keeping their answers), estimates the rest, and the time left', async () => {
    const crops = Array.from({ length: 12 }, (_, i) => crop(110 + i));
    const cache = new DetectionCache(dir, 'stub');
    await detectIndependent(stubDetector(), crops.slice(0, 2), S, ['x', 'y'], 4, cache);
    const slow = stubDetector(40);
    const tight = await independentCost(slow, crops, S, cache, Date.now() + 150, 3);
    assert.equal(tight.images, 12);
    assert.equal(tight.uncached, 10);
    assert.equal(slow.calls.length, 4, 'an untimed warm-up probe, then three timed');
    assert.ok(tight.secondsPerImage >= 0.035 && tight.secondsPerImage < 1, `${tight.secondsPerImage}`);
    assert.ok(Math.abs(tight.needSeconds - 6 * tight.secondsPerImage) < 1e-9);
    assert.ok(tight.needSeconds > tight.leftSeconds);
    const roomy = await independentCost(stubDetector(40), crops, S, cache, Date.now() + 60_000, 3);
    assert.equal(roomy.uncached, 6, 'the probes were cached');
    assert.ok(roomy.needSeconds < roomy.leftSeconds);
    const none = await independentCost(stubDetector(), crops.slice(0, 5), S, cache, Date.now() - 1000, 3);
    assert.equal(none.uncached, 0);
    assert.equal(none.needSeconds, 0, 'nothing left to detect');
  });

  it('independentOverBudget: the measured scoring time counts as much as the detections — all cached still does not fit when scoring it would overrun', async () => {
    const crops = Array.from({ length: 6 }, (_, i) => crop(120 + i));
    const cache = new DetectionCache(dir, 'stub');
    await detectIndependent(stubDetector(), crops, S, crops.map((_, i) => `c${i}`), 4, cache);
    const deadline = Date.now() + (WRITE_RESERVE_SECONDS + 60) * 1000;
    assert.equal(await independentOverBudget(stubDetector(), crops, S, cache, deadline, 30), undefined, 'cached, 30 s of scoring in 60 s: fits');
    const why = await independentOverBudget(stubDetector(), crops, S, cache, deadline, 90);
    assert.match(why ?? '', /0 of its 6 images are not in the detection cache.*scoring them ≈ 1\.5 min .*1\.2 min of the budget left.*faceinv evaluate/);
  });
});
