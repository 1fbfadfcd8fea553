/**
 * The scoring protocols' geometry (daemon/evaluation/protocols.ts, meanGeometry.ts), the nearest-face
 * baseline on a fixture whose answer is known, and thresholds' support (thresholds.ts).
 */
import * as assert from 'node:assert/strict';
import { alignmentTransform, applySimilarity } from '../../../daemon/data/align';
import { getTemplate } from '../../../daemon/data/templates';
import type { PointTemplate } from '../../../daemon/data/templates';
import { meanImage, nearestRows } from '../../../daemon/evaluation/baselines';
import { meanFaceGeometry, shiftGeometry } from '../../../daemon/evaluation/meanGeometry';
import { directCrop, padToCanvas } from '../../../daemon/evaluation/protocols';
import { encoderThresholds } from '../../../daemon/evaluation/thresholds';
import type { FaceAnalysis } from '../../../daemon/data/faceAnalysis';

/** A face whose 68 landmarks put the arcface points exactly on the template: a 2× upscale of the 112 frame. */
function analysisOnTemplate(scale: number, dx: number): FaceAnalysis {
  const lm = new Array<number>(136).fill(0);
  // Every landmark at the template's nose, then the points the arcface template reads set on its 5 points.
  const t = (getTemplate('arcface-5pt') as PointTemplate).pointsAt(112);
  const set = (i: number, [x, y]: [number, number]) => { lm[2 * i] = x * scale + dx; lm[2 * i + 1] = y * scale; };
  for (let i = 0; i < 68; i++) set(i, t[2]);
  for (const i of [37, 38, 40, 41]) set(i, t[0]);
  for (const i of [43, 44, 46, 47]) set(i, t[1]);
  set(30, t[2]);
  // dlib's five points: eye corners around the eye centres, the nose base below the tip.
  set(36, [t[0][0] - 6, t[0][1]]); set(39, [t[0][0] + 6, t[0][1]]);
  set(42, [t[1][0] - 6, t[1][1]]); set(45, [t[1][0] + 6, t[1][1]]);
  set(33, [t[2][0], t[2][1] + 4]);
  for (const i of [48, 60]) set(i, t[3]);
  for (const i of [54, 64]) set(i, t[4]);
  return { width: 400, height: 400, faceCount: 1, box: { x1: 10 * scale + dx, y1: 5 * scale, x2: 100 * scale + dx, y2: 110 * scale, score: 0.9 }, landmarks: lm };
}

describe('evaluation protocols and baselines', () => {
  it('the mean face geometry of faces already on the template puts the template points in place', () => {
    const g = meanFaceGeometry([analysisOnTemplate(2, 30), null, analysisOnTemplate(3, 0)], { template: 'arcface-5pt', size: 112 });
    const t = alignmentTransform(g, { template: 'arcface-5pt', size: 112 });
    // Aligning the mean geometry to its own frame is the identity.
    const [x, y] = applySimilarity(t, [50, 60]);
    assert.ok(Math.abs(x - 50) < 1e-4 && Math.abs(y - 60) < 1e-4, `${x}, ${y}`);
    assert.ok(Math.abs(g.box.x1 - 10) < 1e-6 && Math.abs(g.box.y2 - 110) < 1e-6);
    const s = shiftGeometry(g, 56, 56);
    assert.ok(Math.abs(s.landmarks[0] - g.landmarks[0] - 56) < 1e-9 && Math.abs(s.box.y1 - g.box.y1 - 56) < 1e-9);
    assert.throws(() => meanFaceGeometry([null], { template: 'arcface-5pt', size: 112 }), /no analysed training faces/);
  });

  it('direct: the same template is a resize (identity at the same size), another one a warp by the mean geometry', () => {
    const S = 16;
    const crop = Uint8Array.from({ length: S * S * 3 }, (_, i) => (i * 7) % 256);
    const g = meanFaceGeometry([analysisOnTemplate(S / 112, 0)], { template: 'arcface-5pt', size: S });
    assert.equal(directCrop(crop, { template: 'arcface-5pt', size: S }, { template: 'arcface-5pt', size: S }, g), crop);
    const up = directCrop(crop, { template: 'arcface-5pt', size: S }, { template: 'arcface-5pt', size: 2 * S }, g);
    assert.equal(up.length, 4 * S * S * 3);
    assert.equal(up[0], crop[0], 'pixel (0,0) maps onto itself in the 2× frame');
    const chip = directCrop(crop, { template: 'arcface-5pt', size: S }, { template: 'dlib-5pt-chip', size: 20 }, g);
    assert.equal(chip.length, 20 * 20 * 3);
    const canvas = padToCanvas(crop, S);
    assert.equal(canvas.width, 2 * S);
    assert.deepEqual(Array.from(canvas.data.subarray(((S / 2) * 2 * S + S / 2) * 3, ((S / 2) * 2 * S + S / 2) * 3 + 3)), Array.from(crop.subarray(0, 3)));
  });

  it('the nearest training face is the row of highest cosine, and the mean face the pixel mean', () => {
    const pool = Float32Array.from([1, 0, 0, 1, 0.6, 0.8]);
    const got = nearestRows([Float32Array.from([0.8, 0.6]), Float32Array.from([0, 1])], pool, 2);
    assert.deepEqual(got.map((g) => g.row), [2, 1]);
    assert.deepEqual(got.map((g) => +g.cosine.toFixed(3)), [0.96, 1]);
    assert.throws(() => nearestRows([Float32Array.from([1, 0, 0])], pool, 2), /target 0 has dimension 3/);
    assert.deepEqual(Array.from(meanImage(Uint8Array.from([0, 10, 255, 20]), 2)), [128, 15]);
  });

  it('thresholds: at most FMR·pairs impostor scores lie strictly above, and weak points are flagged', () => {
    // 30 images of 30 people on a circle: 435 impostor pairs.
    const n = 30;
    const emb = Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? Math.cos(((i >> 1) * Math.PI) / n) : Math.sin(((i >> 1) * Math.PI) / n)));
    const ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const t = encoderThresholds('e', { embeddings: emb, dim: 2, identities: ids, rels: ids }, ids, [0.1, 0.01]);
    assert.equal(t.points[0].impostorPairs, 435);
    for (const p of t.points) assert.ok(p.impostorsAbove <= Math.floor(p.fmr * 435));
    assert.equal(t.points[0].lowSupport, false);
    assert.equal(t.points[1].lowSupport, true);
    assert.throws(() => encoderThresholds('e', { embeddings: emb.subarray(0, 2), dim: 2, identities: ['a'], rels: ['a'] }, ['a'], [0.1]), /no impostor pairs/);
  });
});
