import * as fs from 'node:fs';
import * as assert from 'node:assert';
import { decodeImage, RgbImage } from '../../../daemon/data/image';
import { FaceAnalyzer } from '../../../daemon/data/faceAnalysis';
import { decodeDetections, iou, pickPrimaryFace, FaceBox } from '../../../daemon/data/detect';
import { arcfacePointsFrom68, dlibPointsFrom68, landmarkBox } from '../../../daemon/data/landmarks';
import { alignFace, alignmentTransform, applySimilarity } from '../../../daemon/data/align';
import { geometryOf } from '../../../daemon/data/faceAnalysis';
import { FaceDataError } from '../../../daemon/data/errors';
import { LFW_IMAGES, lfwImage, requireLfw } from './helpers';
import { decodeImageBytes } from '../../../daemon/data/image';
import { noFaceJpeg } from './helpers';
import { ARCFACE_112, HUMAN_CROP_EYES_112 } from '../../../daemon/data/templates';

describe('data/detect: decoding and selection (synthetic)', () => {
  it('thresholds, scales to pixels and suppresses overlaps', () => {
    const scores = new Float32Array([0.9, 0.1, 0.2, 0.8, 0.3, 0.7, 0.05, 0.95]); // face scores 0.1, 0.8, 0.7, 0.95
    const boxes = new Float32Array([
      0, 0, 1, 1,
      0.1, 0.1, 0.5, 0.5, // 0.8
      0.12, 0.1, 0.5, 0.52, // 0.7, overlaps the previous → suppressed
      0.6, 0.6, 0.9, 0.9, // 0.95
    ]);
    const faces = decodeDetections(scores, boxes, 200, 100);
    assert.strictEqual(faces.length, 2);
    assert.ok(Math.abs(faces[0].score - 0.95) < 1e-6 && Math.abs(faces[0].x1 - 120) < 1e-4 && Math.abs(faces[0].y2 - 90) < 1e-4);
    assert.ok(Math.abs(faces[1].score - 0.8) < 1e-6);
    assert.strictEqual(decodeDetections(scores, boxes, 200, 100, { iouThreshold: 0.99 }).length, 3);
    assert.strictEqual(decodeDetections(scores, boxes, 200, 100, { scoreThreshold: 0.99 }).length, 0);
  });

  it('iou and primary-face choice (largest, discounted away from the centre)', () => {
    const a: FaceBox = { x1: 0, y1: 0, x2: 10, y2: 10, score: 1 };
    assert.strictEqual(iou(a, a), 1);
    assert.ok(Math.abs(iou(a, { ...a, x1: 5, x2: 15 }) - 50 / 150) < 1e-12);
    const central = { x1: 80, y1: 80, x2: 120, y2: 120, score: 0.9 };
    const corner = { x1: 0, y1: 0, x2: 44, y2: 44, score: 0.99 };
    assert.strictEqual(pickPrimaryFace([corner, central], 200, 200), 1);
    assert.strictEqual(pickPrimaryFace([{ ...central, x2: 100 }, { ...central, x1: 60, x2: 140 }], 200, 200), 1);
  });

  it('landmark box is faceplugin\'s square box, clipped to the image', () => {
    const b = landmarkBox({ x1: 40, y1: 20, x2: 80, y2: 100, score: 1 }, 200, 200);
    assert.deepStrictEqual(b, { x: 20, y: 20, w: 80, h: 80 });
    const c = landmarkBox({ x1: 0, y1: 0, x2: 20, y2: 100, score: 1 }, 200, 90);
    assert.deepStrictEqual([c.x, c.y, c.h], [0, 0, 89]);
  });
});

describe('data/faceAnalysis on LFW (fr_detect + fr_landmark)', function () {
  let an: FaceAnalyzer;
  before(async function () {
    requireLfw(this);
    an = await FaceAnalyzer.load();
  });
  after(async () => { if (an) await an.dispose(); });

  it('finds the face of Aaron_Eckhart_0001 with plausible landmarks', async () => {
    const img = await decodeImage(lfwImage('Aaron_Eckhart', 1));
    const a = await an.analyse(img, 'Aaron_Eckhart_0001.jpg');
    assert.ok(a.box.score > 0.9, `score ${a.box.score}`);
    // Deep-funneled LFW: the face is centred in the 250×250 image.
    const cx = (a.box.x1 + a.box.x2) / 2, cy = (a.box.y1 + a.box.y2) / 2;
    assert.ok(Math.abs(cx - 125) < 25 && Math.abs(cy - 125) < 30, `box centre (${cx}, ${cy})`);
    assert.ok(a.box.x2 - a.box.x1 > 60 && a.box.x2 - a.box.x1 < 180);
    const lm = Float32Array.from(a.landmarks);
    const [le, re, nose, ml, mr] = arcfacePointsFrom68(lm);
    assert.ok(le[0] < nose[0] && nose[0] < re[0], 'nose between the eyes horizontally');
    assert.ok(le[1] < nose[1] && re[1] < nose[1] && nose[1] < ml[1] && nose[1] < mr[1], 'eyes above nose above mouth');
    const iod = Math.hypot(re[0] - le[0], re[1] - le[1]);
    assert.ok(iod > 30 && iod < 80, `inter-ocular distance ${iod}`);
    const d = dlibPointsFrom68(lm);
    assert.ok(d[0][0] > d[1][0] && d[1][0] > d[3][0] && d[3][0] > d[2][0], 'dlib order: left eye outer, inner, right eye outer, inner');

    // The aligned crop puts the eyes, nose and mouth where the template says: analyse the 224-px crop again
    // and compare its five points with the template's (a wrong transform misses by tens of pixels).
    const spec = { template: 'arcface-5pt' as const, size: 224 };
    const crop = alignFace(img, geometryOf(a), spec);
    const again = await an.analyse({ width: 224, height: 224, data: crop }, 'crop');
    const got = arcfacePointsFrom68(Float32Array.from(again.landmarks));
    const want = ARCFACE_112.map(([x, y]) => [2 * x, 2 * y]);
    const err = got.map((p, i) => Math.hypot(p[0] - want[i][0], p[1] - want[i][1]));
    // Measured: eyes/nose ≈ 5–6 px, mouth corners ≈ 13 px (landmark noise on a re-detected, tightly cropped face).
    const mean = err.reduce((x, y) => x + y, 0) / err.length;
    assert.ok(Math.max(...err) < 16 && mean < 11, `five-point errors in the crop: ${err.map((e) => e.toFixed(1)).join(', ')} px`);
  });

  it('puts the eyes of a human-crop box crop where HUMAN_CROP_EYES_112 says, on average', async () => {
    // The constant is the mean over all of LFW; 120 people's first photos must agree within their sampling error
    // (sd ≈ 6 px across, 3 px down → ≈ 0.5 px and 0.3 px for the mean of 120).
    const people = fs.readdirSync(LFW_IMAGES).sort().filter((_, i) => i % 48 === 0).slice(0, 120);
    const sum = [[0, 0], [0, 0]];
    for (const person of people) {
      const img = await decodeImage(lfwImage(person, 1));
      const g = geometryOf(await an.analyse(img, person));
      const t = alignmentTransform(g, { template: 'human-crop', size: 112 });
      arcfacePointsFrom68(g.landmarks).slice(0, 2).forEach((p, e) => {
        const [x, y] = applySimilarity(t, p);
        sum[e][0] += x / people.length; sum[e][1] += y / people.length;
      });
    }
    for (const e of [0, 1]) {
      const [x, y] = HUMAN_CROP_EYES_112[e];
      assert.ok(Math.abs(sum[e][0] - x) < 2 && Math.abs(sum[e][1] - y) < 1.2, `eye ${e}: mean of ${people.length} photos at [${sum[e].map((v) => v.toFixed(2))}], constant [${x}, ${y}]`);
    }
  });

  it('raises no-face on an image without a face', async () => {
    const img: RgbImage = await decodeImageBytes(await noFaceJpeg(), 'noise.jpg');
    await assert.rejects(an.analyse(img, 'noise.jpg'), (err: unknown) => err instanceof FaceDataError && err.kind === 'no-face' && /noise\.jpg/.test(err.message));
  });
});
