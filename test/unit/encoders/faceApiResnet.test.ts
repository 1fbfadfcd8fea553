/**
 * Our TF.js-ops port of face-api's FaceRecognitionNet (scale layers folded into the convs) must give the same
 * descriptors as face-api itself (its dist/face-api.node-wasm.js, on the same TF.js engine), and its
 * unfused differentiable path must match the fused inference path.
 */
import * as assert from 'node:assert';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import { loadEncoderById } from '../../../daemon/encoders/load';
import { INSTALL_ROOT as REPO_ROOT } from '../../../daemon/io/installation';
import { FaceApiResnetEncoder } from '../../../daemon/encoders/faceApiResnet';
import { CROP_BOX, initTestEngine, lfwAvailable, lfwFile, loadCrops, LFW_DIR } from './helpers';

interface FaceApiModule {
  nets: { faceRecognitionNet: { loadFromDisk(dir: string): Promise<void>; computeFaceDescriptor(t: tf.Tensor3D): Promise<Float32Array>; dispose(): void } };
}

describe('faceapi-resnet128 against face-api itself', function () {
  before(async function () {
    if (!lfwAvailable()) {
      console.log(`      skipped: LFW not found at ${LFW_DIR}`);
      this.skip();
    }
    await initTestEngine();
  });

  it('matches face-api computeFaceDescriptor to 1e-5 on LFW faces', async () => {
    // face-api's node-wasm bundle requires the same @tensorflow/tfjs package, so it shares our engine.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const faceapi = require(path.join(REPO_ROOT, 'node_modules/@vladmandic/face-api/dist/face-api.node-wasm.js')) as FaceApiModule;
    const net = faceapi.nets.faceRecognitionNet;
    await net.loadFromDisk(path.join(REPO_ROOT, 'node_modules/@vladmandic/face-api/model'));
    const enc = (await loadEncoderById('faceapi-resnet128')) as FaceApiResnetEncoder;
    const files = [lfwFile('George_W_Bush', 1), lfwFile('Serena_Williams', 2), lfwFile('Tony_Blair', 3)];
    const x = await loadCrops(files, CROP_BOX['dlib-5pt-chip'], 150);
    try {
      const ours = await enc.embedRaw(x);
      for (let i = 0; i < files.length; i++) {
        const img = tf.tidy(() => tf.mul(tf.squeeze(tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), [0]), 255) as tf.Tensor3D);
        const ref = await net.computeFaceDescriptor(img);
        img.dispose();
        let maxDiff = 0;
        for (let k = 0; k < 128; k++) maxDiff = Math.max(maxDiff, Math.abs(ref[k] - ours[i][k]));
        assert.ok(maxDiff < 1e-5, `${files[i]}: max |face-api − ours| = ${maxDiff}`);
      }
      const viaForward = enc.forward(x);
      const fwd = (await viaForward.array()) as number[][];
      viaForward.dispose();
      const emb = await enc.embed(x);
      fwd.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(v - emb[i][k]) < 1e-5, `face ${i} dim ${k}`)));
    } finally {
      x.dispose();
      enc.dispose();
      net.dispose();
    }
  });
});
