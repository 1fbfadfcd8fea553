/**
 * face-api's SSD MobileNet v1 with its network on ONNX Runtime (daemon/data/faceApiSsdOrt.ts) gives face-api's
 * own detections and landmarks (TF.js forward) on real LFW photos and a padded, non-square image, misses the
 * same faceless image, and puts face-api's own locateFaces back when disposed.
 */
import * as assert from 'node:assert/strict';
import { initEngine } from '../../../daemon/tfjs/backend';
import { decodeImage, type RgbImage } from '../../../daemon/data/image';
import { FaceApiAnalyzer } from '../../../daemon/data/faceApiDetector';
import type { FaceGeometry } from '../../../daemon/data/align';
import { lfwImage, requireLfw } from './helpers';

/** A copy of `img` on a wider grey canvas (the padding path of face-api's input: not square). */
function widened(img: RgbImage, extra: number): RgbImage {
  const w = img.width + extra;
  const data = new Uint8Array(w * img.height * 3).fill(128);
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), (y * w + extra) * 3);
  return { data, width: w, height: img.height };
}

async function analyseAll(runtime: 'onnxruntime' | 'tfjs', images: RgbImage[]): Promise<(FaceGeometry | string)[]> {
  const fa = await FaceApiAnalyzer.load({ runtime });
  try {
    assert.equal(fa.runtime, runtime);
    const out: (FaceGeometry | string)[] = [];
    for (const [i, img] of images.entries()) out.push(await fa.analyse(img, `image ${i}`).catch((e: Error) => e.message));
    return out;
  } finally {
    fa.dispose();
  }
}

describe("face-api's SSD detector on ONNX Runtime", function () {
  this.timeout(120000);

  it("finds face-api's own boxes, scores and 68 landmarks (to 1e-2 px), and misses what it misses", async function () {
    requireLfw(this);
    await initEngine({ backend: 'wasm' });
    const photos = await Promise.all([lfwImage('Aaron_Eckhart', 1), lfwImage('Angelina_Jolie', 1), lfwImage('Colin_Powell', 1)].map((f) => decodeImage(f)));
    const grey: RgbImage = { data: new Uint8Array(200 * 160 * 3).fill(128), width: 200, height: 160 };
    const images = [...photos, widened(photos[1], 90), grey];
    const ort = await analyseAll('onnxruntime', images);
    const ref = await analyseAll('tfjs', images);
    assert.match(String(ref[4]), /no face/);
    assert.equal(ort[4], ref[4]);
    for (let i = 0; i < 4; i++) {
      const a = ort[i], b = ref[i];
      assert.ok(typeof a !== 'string' && typeof b !== 'string', `image ${i}: ${a} / ${b}`);
      const ga = a as FaceGeometry, gb = b as FaceGeometry;
      for (const k of ['x1', 'y1', 'x2', 'y2'] as const) assert.ok(Math.abs(ga.box[k] - gb.box[k]) < 1e-2, `image ${i} box ${k}: ${ga.box[k]} vs ${gb.box[k]}`);
      assert.ok(Math.abs(ga.box.score - gb.box.score) < 1e-4, `image ${i} score`);
      for (let k = 0; k < 136; k++) assert.ok(Math.abs(ga.landmarks[k] - gb.landmarks[k]) < 1e-2, `image ${i} landmark ${k}: ${ga.landmarks[k]} vs ${gb.landmarks[k]}`);
    }
  });
});
