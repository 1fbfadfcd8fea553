/**
 * Already aligned datasets skip detection (daemon/data/preAligned.ts): a folder of 112×112 ArcFace crops is
 * detected as aligned, a folder of 128×128 crops with a faceinv-dataset.json declaring arcface-5pt:128 is taken
 * at its word (rescaled to 112), LFW's 250×250 photos are not mistaken for crops, and a bad declaration names
 * its file. Embeddings of the crops equal the encoder's own on the same pixels; nothing goes into the face cache.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { openImageDataset } from '../../../daemon/data/dataset';
import { runFacePipeline, facesLogPath } from '../../../daemon/data/pipeline';
import { encoderTarget } from '../../../daemon/data/encoderTarget';
import { FaceAnalyzer, geometryOf } from '../../../daemon/data/faceAnalysis';
import { decodeImage } from '../../../daemon/data/image';
import { alignFace } from '../../../daemon/data/align';
import { cropFromAligned, preAlignmentFor, DATASET_CONFIG } from '../../../daemon/data/preAligned';
import { loadEncoderById } from '../../../daemon/encoders/load';
import { RecordLog } from '../../../daemon/data/recordLog';
import { HAVE_LFW, LFW_IMAGES, lfwImage, tempDir } from './helpers';

const ENCODER = 'arcface512-faceplugin';
const PHOTOS: Array<[string, number]> = [['Aaron_Eckhart', 1], ['Aaron_Peirsol', 1], ['Aaron_Peirsol', 2], ['Abdullah_Gul', 1]];

describe('data: already aligned datasets skip detection', function () {
  this.timeout(180000);
  let dir: string;
  const crops112: Uint8Array[] = [];

  /** Writes `crops` as PNG (lossless) into <root>/<person>/<person>_000n.png; returns root. */
  async function writeDataset(root: string, crops: Uint8Array[], size: number): Promise<string> {
    for (const [k, [person, n]] of PHOTOS.entries()) {
      fs.mkdirSync(path.join(root, person), { recursive: true });
      await sharp(Buffer.from(crops[k]), { raw: { width: size, height: size, channels: 3 } }).png().toFile(path.join(root, person, `${person}_000${n}.png`));
    }
    return root;
  }

  before(async function () {
    if (!HAVE_LFW) this.skip();
    dir = tempDir('prealigned');
    const analyzer = await FaceAnalyzer.load({ threads: 1 });
    try {
      for (const [person, n] of PHOTOS) {
        const { image, analysis } = await analyzer.analyseFile(lfwImage(person, n));
        crops112.push(alignFace(image, geometryOf(analysis), { template: 'arcface-5pt', size: 112 }));
      }
    } finally {
      await analyzer.dispose();
    }
  });

  it('a folder of 112×112 crops is detected as aligned: embedded as they are, no detection, no face cache records', async () => {
    const ds = openImageDataset(await writeDataset(path.join(dir, 'crops112'), crops112, 112));
    const cacheDir = path.join(dir, 'cache112');
    const out = await runFacePipeline(ds, { encoder: encoderTarget(ENCODER) }, { cacheDir, workers: 0 });
    assert.equal(out.failures.length, 0);
    assert.equal(out.stats.preAligned, PHOTOS.length);
    assert.equal(out.stats.preAlignment?.how, 'detected');
    const faces = RecordLog.open(facesLogPath(cacheDir, ds.id));
    try {
      assert.equal(faces.size, 0, 'no detection ran, so nothing was analysed');
    } finally {
      faces.close();
    }
    const enc = await loadEncoderById(ENCODER, { threads: 1 }) as unknown as { embedUint8(c: Uint8Array, n: number): Promise<Float32Array[]>; dispose(): void };
    try {
      const all = new Uint8Array(PHOTOS.length * 112 * 112 * 3);
      crops112.forEach((c, i) => all.set(c, i * c.length));
      const want = await enc.embedUint8(all, PHOTOS.length);
      // Rows of `out` follow the dataset's sorted order, which is PHOTOS' order.
      want.forEach((w, i) => {
        let cos = 0;
        for (let k = 0; k < 512; k++) cos += w[k] * (out.embeddings as Float32Array)[i * 512 + k];
        assert.ok(1 - cos < 1e-6, `photo ${i}: 1 − cos ${1 - cos}`);
      });
    } finally {
      enc.dispose();
    }
    // A rerun finds everything cached: no photo is queued again for want of a face analysis.
    const again = await runFacePipeline(ds, { encoder: encoderTarget(ENCODER) }, { cacheDir, workers: 0 });
    assert.equal(again.stats.processed, 0);
  });

  it('a declared arcface-5pt:128 folder is rescaled to the encoder\'s 112 without detection', async () => {
    const crops128 = crops112.map((c) => cropFromAligned({ width: 112, height: 112, data: c }, { template: 'arcface-5pt', size: 128 }) as Uint8Array);
    const root = await writeDataset(path.join(dir, 'crops128'), crops128, 128);
    fs.writeFileSync(path.join(root, DATASET_CONFIG), JSON.stringify({ aligned: 'arcface-5pt:128' }));
    const ds = openImageDataset(root);
    const out = await runFacePipeline(ds, { encoder: encoderTarget(ENCODER) }, { cacheDir: path.join(dir, 'cache128'), workers: 0 });
    assert.equal(out.failures.length, 0);
    assert.equal(out.stats.preAligned, PHOTOS.length);
    assert.equal(out.stats.preAlignment?.how, 'declared');
    assert.match(out.stats.preAlignment?.detail ?? '', /faceinv-dataset\.json declares arcface-5pt-128 crops/);
  });

  it('LFW\'s 250×250 photos are not taken for crops; a bad declaration names its file', async () => {
    const lfw = openImageDataset(LFW_IMAGES);
    assert.equal(await preAlignmentFor({ ...lfw, images: lfw.images.slice(0, 40) }, { template: 'arcface-5pt', size: 112 }), null);
    const root = path.join(dir, 'bad');
    fs.mkdirSync(path.join(root, 'x'), { recursive: true });
    fs.writeFileSync(path.join(root, 'x', 'a.png'), await sharp({ create: { width: 112, height: 112, channels: 3, background: '#888' } }).png().toBuffer());
    fs.writeFileSync(path.join(root, DATASET_CONFIG), JSON.stringify({ aligned: 'arcface:112' }));
    await assert.rejects(preAlignmentFor(openImageDataset(root), { template: 'arcface-5pt', size: 112 }),
      /faceinv-dataset\.json: "aligned" must be "TEMPLATE:SIZE" with a known template \(arcface-5pt, .*\) and a size ≥ 16, got "arcface:112"/);
  });
});
