/**
 * The `independent` protocol (daemon/evaluation/protocols.ts, daemon/data/faceApiDetector.ts; issue 26
 * item 4): each crop on a grey canvas 4× its side goes to face-api's SSD MobileNet v1 + 68 landmarks; a crop
 * it does not find as a face fails type I and every one of its type II pairs, as `redetect` does.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { alignFace } from '../../../daemon/data/align';
import { FaceDataError } from '../../../daemon/data/errors';
import { FaceAnalyzer, geometryOf } from '../../../daemon/data/faceAnalysis';
import { FaceApiAnalyzer } from '../../../daemon/data/faceApiDetector';
import type { RgbImage } from '../../../daemon/data/image';
import { initEngine } from '../../../daemon/tfjs/backend';
import { detectIndependent, greyCanvas, INDEPENDENT_CANVAS_FACTOR, redetectedCrops } from '../../../daemon/evaluation/protocols';
import { successAttackRates } from '../../../daemon/evaluation/sar';
import { LFW_DIR, lfwAvailable } from '../../fixtures/tinyWorkspace';

const S = 112;

function solidCrop(v: number): Uint8Array {
  return new Uint8Array(S * S * 3).fill(v);
}

describe('evaluation: the independent protocol', function () {
  this.timeout(120_000);

  it('the canvas is grey, 4× the crop, with the crop at its centre', () => {
    const crop = solidCrop(200);
    const c = greyCanvas(crop, S, INDEPENDENT_CANVAS_FACTOR);
    assert.equal(c.width, 4 * S);
    const px = (x: number, y: number) => Array.from(c.data.subarray((y * c.width + x) * 3, (y * c.width + x) * 3 + 3));
    assert.deepEqual(px(0, 0), [128, 128, 128]);
    assert.deepEqual(px(2 * S, 2 * S), [200, 200, 200]);
    assert.deepEqual(px(168, 168), [200, 200, 200]);
    assert.deepEqual(px(167, 168), [128, 128, 128]);
    assert.throws(() => greyCanvas(crop.subarray(1), S, 4), /expected 112×112×3/);
  });

  it('a crop the detector does not find fails type I and all its type II pairs', async () => {
    // A stand-in detector that finds a face only in the first crop (its geometry: the crop's own frame).
    const analyzer = {
      async analyse(img: RgbImage, name: string) {
        if (!name.endsWith(' 0')) throw new FaceDataError(name, 'no-face', 'stand-in');
        const lm = new Float32Array(136);
        for (let i = 0; i < 68; i++) { lm[2 * i] = img.width / 2 + (i % 7) * 3 - 9; lm[2 * i + 1] = img.height / 2 + (i % 5) * 3 - 6; }
        return { box: { x1: 0, y1: 0, x2: img.width, y2: img.height, score: 1 }, landmarks: lm };
      },
    };
    const found = await detectIndependent(analyzer, [solidCrop(90), solidCrop(90)], S, ['attack 0', 'attack 1']);
    assert.ok(found[0].face && !found[1].face);
    assert.equal(found[1].failure, 'no-face');
    const crops = redetectedCrops(found, { template: 'human-crop', size: 16 });
    assert.ok('crop' in crops[0] && 'failure' in crops[1]);
    // Gallery: person A with 3 photos; both probes are A's photo 0. The found one matches, the missed one fails.
    const e = (x: number) => Float32Array.from([x, Math.sqrt(1 - x * x)]);
    const gallery = { embeddings: Float32Array.from([...e(1), ...e(1), ...e(1), ...e(0)]), dim: 2, identities: ['A', 'A', 'A', 'B'], rels: ['a0', 'a1', 'a2', 'b0'] };
    const sar = successAttackRates([
      { embedding: e(1), sourceRow: 0 },
      { embedding: null, failure: found[1].failure, sourceRow: 0 },
    ], gallery, [0.5]);
    assert.equal(sar.typeI[0].successes, 1);
    assert.equal(sar.typeI[0].trials, 2);
    assert.deepEqual([sar.typeII.perPair[0].successes, sar.typeII.perPair[0].trials], [2, 4], 'the missed face fails both its pairs');
    assert.deepEqual(sar.failures, { 'no-face': 1 });
    // A bug in the detector (not a missed face) is not swallowed as a failure.
    await assert.rejects(detectIndependent({ async analyse() { throw new Error('boom'); } }, [solidCrop(1)], S, ['x']), /boom/);
  });

  it('face-api finds a real aligned LFW face on the grey canvas and no face in a flat crop', async function () {
    if (!lfwAvailable()) { console.log('    (skipped: ../shared/data/lfw not found)'); this.skip(); }
    await initEngine({ backend: 'wasm' });
    const pipeline = await FaceAnalyzer.load();
    let real: Uint8Array;
    try {
      const { image, analysis } = await pipeline.analyseFile(path.join(LFW_DIR, 'lfw-deepfunneled', 'Aaron_Eckhart', 'Aaron_Eckhart_0001.jpg'));
      real = alignFace(image, geometryOf(analysis), { template: 'arcface-5pt', size: S });
    } finally {
      await pipeline.dispose();
    }
    const fa = await FaceApiAnalyzer.load();
    try {
      const found = await detectIndependent(fa, [real, solidCrop(128)], S, ['real', 'flat']);
      assert.ok(found[0].face, `real face not found: ${found[0].failure}`);
      assert.equal(found[1].face, null);
      assert.equal(found[1].failure, 'no-face');
      // Landmarks land on the crop (placed at offset 168..280 of the 448-px canvas), eyes above the mouth.
      const lm = (found[0].face as { landmarks: Float32Array }).landmarks;
      for (let i = 0; i < 136; i++) assert.ok(lm[i] > 150 && lm[i] < 300, `landmark value ${lm[i]}`);
      assert.ok(lm[2 * 37 + 1] < lm[2 * 57 + 1]);
    } finally {
      fa.dispose();
    }
  });

  it('an error inside face-api rejects the call instead of leaving it waiting forever', async function () {
    await initEngine({ backend: 'wasm' });
    const fa = await FaceApiAnalyzer.load({ runtime: 'tfjs' });
    // face-api's networks are module-level singletons: unloading the detector's weights under the analyzer
    // makes its next detection throw inside face-api's own promise chain.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as { nets: { ssdMobilenetv1: { dispose(): void } } };
    api.nets.ssdMobilenetv1.dispose();
    try {
      const outcome = await Promise.race([
        fa.analyse({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) }, 'grey').then(() => 'resolved', (e: Error) => `rejected: ${e.message}`),
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref()),
      ]);
      assert.match(outcome, /^rejected: .*load model/);
    } finally {
      fa.dispose();
    }
  });

  it('an error in the SSD network on ONNX Runtime rejects the call too', async function () {
    await initEngine({ backend: 'wasm' });
    const fa = await FaceApiAnalyzer.load();
    assert.equal(fa.runtime, 'onnxruntime');
    // Releasing the session under the analyzer makes its next run throw inside face-api's task.
    await (fa as unknown as { ort: { ssd: { release(): Promise<void> } } }).ort.ssd.release();
    try {
      const outcome = await Promise.race([
        fa.analyse({ width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) }, 'grey').then(() => 'resolved', (e: Error) => `rejected: ${e.message}`),
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 20 s'), 20_000).unref()),
      ]);
      assert.match(outcome, /^rejected: /);
      assert.doesNotMatch(outcome, /no face/);
    } finally {
      fa.dispose();
    }
  });
});
