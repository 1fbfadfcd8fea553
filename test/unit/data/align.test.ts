import * as assert from 'node:assert';
import { umeyama, applySimilarity, invertSimilarity, warpSimilarity, alignFace, alignmentTransform, cropsToFloat } from '../../../daemon/data/align';
import { getTemplate, ARCFACE_112, TEMPLATE_NAMES, alignmentKey } from '../../../daemon/data/templates';
import type { RgbImage } from '../../../daemon/data/image';
import type { Points5 } from '../../../daemon/data/landmarks';

describe('data/align: similarity fit and warp', () => {
  it('umeyama recovers a known rotation + scale + shift exactly', () => {
    const t = { a: 1.3 * Math.cos(0.4), b: 1.3 * Math.sin(0.4), tx: 12.5, ty: -7 };
    const src: Points5 = [[10, 20], [50, 22], [31, 45], [15, 70], [48, 69]];
    const dst = src.map((p) => applySimilarity(t, p)) as Points5;
    const fit = umeyama(src, dst);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) assert.ok(Math.abs(fit[k] - t[k]) < 1e-9, `${k}: ${fit[k]} vs ${t[k]}`);
  });

  it('umeyama is the least-squares fit: noise-free points beat perturbed ones, residual is minimal', () => {
    const src: Points5 = [[0, 0], [10, 0], [5, 6], [1, 12], [9, 12]];
    const dst: Points5 = [[1, 1], [11, 0.5], [6, 7], [2, 13.5], [10, 12.5]];
    const fit = umeyama(src, dst);
    const sse = (t: typeof fit) => src.reduce((s, p, i) => {
      const q = applySimilarity(t, p);
      return s + (q[0] - dst[i][0]) ** 2 + (q[1] - dst[i][1]) ** 2;
    }, 0);
    const base = sse(fit);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) {
      for (const d of [-1e-3, 1e-3]) assert.ok(sse({ ...fit, [k]: fit[k] + d }) > base, `perturbing ${k} should increase the error`);
    }
  });

  it('rejects degenerate input', () => {
    assert.throws(() => umeyama([[1, 1], [1, 1]], [[0, 0], [1, 1]]), /same place/);
    assert.throws(() => umeyama([[1, 1]], [[0, 0]]), /≥ 2 point pairs/);
  });

  it('invertSimilarity composes to identity', () => {
    const t = { a: 0.8, b: -0.3, tx: 4, ty: 9 };
    const p: [number, number] = [17, -3];
    const q = applySimilarity(invertSimilarity(t), applySimilarity(t, p));
    assert.ok(Math.abs(q[0] - p[0]) < 1e-12 && Math.abs(q[1] - p[1]) < 1e-12);
  });

  it('warps with bilinear sampling and black outside the image', () => {
    const W = 4, H = 4;
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.fill(10 * x + 40 * y, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const img: RgbImage = { width: W, height: H, data };
    const same = warpSimilarity(img, { a: 1, b: 0, tx: 0, ty: 0 }, 4);
    assert.deepStrictEqual(same, data, 'identity warp reproduces the image');
    // Shift by half a pixel: crop (x, y) samples image (x + 0.5, y) → value 10x + 5 + 40y inside.
    const half = warpSimilarity(img, { a: 1, b: 0, tx: -0.5, ty: 0 }, 4);
    assert.strictEqual(half[(1 * 4 + 1) * 3], Math.round(10 * 1.5 + 40));
    // Shift far away: all black.
    assert.ok(warpSimilarity(img, { a: 1, b: 0, tx: 100, ty: 0 }, 4).every((v) => v === 0));
  });
});

describe('data/templates', () => {
  it('arcface-5pt is the ArcFace 112 template, scaled for other sizes', () => {
    const t = getTemplate('arcface-5pt');
    assert.strictEqual(t.kind, 'points');
    if (t.kind !== 'points') return;
    assert.deepStrictEqual(t.pointsAt(112), ARCFACE_112);
    const p128 = t.pointsAt(128);
    assert.ok(Math.abs(p128[0][0] - 38.2946 * 128 / 112) < 1e-9 && Math.abs(p128[4][1] - 92.2041 * 128 / 112) < 1e-9);
  });

  it('dlib-5pt-chip applies padding 0.25 to dlib\'s unit template', () => {
    const t = getTemplate('dlib-5pt-chip');
    if (t.kind !== 'points') throw new Error('expected a point template');
    const p = t.pointsAt(150);
    assert.ok(Math.abs(p[0][0] - ((0.25 + 0.8595674595992) / 1.5) * 150) < 1e-9);
    assert.ok(Math.abs(p[4][1] - ((0.25 + 0.6277975316475) / 1.5) * 150) < 1e-9);
    // Subject's left eye (image right) comes first.
    assert.ok(p[0][0] > p[2][0]);
  });

  it('names unknown templates in the error', () => {
    assert.throws(() => getTemplate('nope'), /unknown alignment template "nope"; known: arcface-5pt, dlib-5pt-chip, human-crop/);
    assert.deepStrictEqual([...TEMPLATE_NAMES], ['arcface-5pt', 'dlib-5pt-chip', 'human-crop']);
    assert.strictEqual(alignmentKey({ template: 'arcface-5pt', size: 128 }), 'arcface-5pt-128');
  });

  it('alignFace maps synthetic landmarks onto the template', () => {
    // 68 landmarks of a face whose ArcFace points are the 112 template scaled by 2 and shifted by (30, 40).
    const lm = new Float32Array(136);
    const put = (idx: number[], x: number, y: number) => idx.forEach((i) => { lm[2 * i] = x; lm[2 * i + 1] = y; });
    const T = ARCFACE_112.map(([x, y]) => [2 * x + 30, 2 * y + 40]);
    put([37, 38, 40, 41], T[0][0], T[0][1]);
    put([43, 44, 46, 47], T[1][0], T[1][1]);
    put([30], T[2][0], T[2][1]);
    put([48, 60], T[3][0], T[3][1]);
    put([54, 64], T[4][0], T[4][1]);
    const box = { x1: 30, y1: 40, x2: 254, y2: 264, score: 1 };
    const t = alignmentTransform({ box, landmarks: lm }, { template: 'arcface-5pt', size: 112 });
    // Landmarks are float32, so agreement is to ~1e-5.
    assert.ok(Math.abs(t.a - 0.5) < 1e-6 && Math.abs(t.b) < 1e-6 && Math.abs(t.tx + 15) < 1e-4 && Math.abs(t.ty + 20) < 1e-4, JSON.stringify(t));
    // Box template: square of 1.2 × 224 around the box centre.
    const hb = alignmentTransform({ box, landmarks: lm }, { template: 'human-crop', size: 112 });
    assert.ok(Math.abs(hb.a - 112 / (224 * 1.2)) < 1e-12 && hb.b === 0);
    const img: RgbImage = { width: 300, height: 300, data: new Uint8Array(300 * 300 * 3).fill(77) };
    const crop = alignFace(img, { box, landmarks: lm }, { template: 'arcface-5pt', size: 112 });
    assert.strictEqual(crop.length, 112 * 112 * 3);
    assert.ok(crop.every((v) => v === 77), 'crop lies inside the uniform image');
    assert.throws(() => alignmentTransform({ box, landmarks: lm }, { template: 'arcface-5pt', size: 3 }), /size 3/);
    const f = cropsToFloat(new Uint8Array([0, 255, 51]));
    assert.deepStrictEqual([...f], [0, 1, Math.fround(0.2)]);
  });
});
