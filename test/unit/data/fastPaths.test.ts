/**
 * The face pipeline's faster paths give bit-identical results, so caches written before them stay valid
 * (FACE_ANALYSIS_VERSION unchanged): the detector input built with per-call column tables equals the
 * resizeRegion reference on LFW images and odd sizes; ONNX encoders embed uint8 crops on the host exactly as
 * through TF.js preprocessing (same session). The rewritten fr_feature graph is checked against the plain file in
 * test/unit/encoders/fastSession.test.ts (to a tolerance: its blocked PRelu form is not bit-identical).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectorInput, detectorInputReference } from '../../../daemon/data/detect';
import { decodeImage, RgbImage } from '../../../daemon/data/image';
import { OnnxEncoder } from '../../../daemon/encoders/onnxEncoder';
import { resolveModelPath } from '../../../daemon/encoders/registry';
import { tf } from '../../../daemon/tfjs/tf';
import { findEncoderConfig } from '../../../daemon/encoders/registry';
import { wasmBackend } from '../ort/helpers';

const LFW = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'lfw', 'lfw-deepfunneled');

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function noise(w: number, h: number, seed: number): RgbImage {
  let s = seed;
  return { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, () => { s = (s * 16807) % 2147483647; return s & 255; }) };
}

describe('data: fast paths are bit-identical', function () {
  this.timeout(120000);
  before(() => wasmBackend());

  it('detector input: the tabled resize equals resizeRegion + normalisation', async () => {
    const imgs: RgbImage[] = [noise(40, 33, 1), noise(641, 480, 2), noise(320, 240, 3), noise(1, 50, 4)];
    if (fs.existsSync(LFW)) {
      for (const p of fs.readdirSync(LFW).sort().slice(0, 5)) imgs.push(await decodeImage(path.join(LFW, p, fs.readdirSync(path.join(LFW, p)).sort()[0])));
    }
    for (const im of imgs) assert.ok(sameBits(detectorInput(im), detectorInputReference(im)), `detector input differs for a ${im.width}×${im.height} image`);
  });

  it('ONNX encoder: uint8 crops embedded on the host equal the TF.js-preprocessed path', async () => {
    const config = findEncoderConfig('arcface512-faceplugin').config;
    const file = resolveModelPath(config);
    const n = 5; const per = 112 * 112 * 3;
    let s = 7;
    const crops = Uint8Array.from({ length: n * per }, () => { s = (s * 16807) % 2147483647; return s & 255; });
    const fast = await OnnxEncoder.load(config, file, { threads: 1 });
    const x = tf.tidy(() => tf.div(tf.tensor4d(crops, [n, 112, 112, 3], 'int32').toFloat(), 255) as tf.Tensor4D);
    const viaTf = await fast.embed(x);
    const viaHost = await fast.embedUint8(crops, n);
    x.dispose();
    viaTf.forEach((r, i) => assert.ok(sameBits(r, viaHost[i]), `embedding ${i} differs`));
    await assert.rejects(fast.embedUint8(crops.subarray(0, 10), 1), /needs 1 crops of 112×112×3/);
    fast.dispose();
  });
});
