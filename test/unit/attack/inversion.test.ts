import * as assert from 'node:assert/strict';
import type { LoadedDecoder } from '../../../daemon/decoder/decoderModel';
import type { DecoderModelMeta } from '../../../daemon/decoder/train';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder } from '../../../daemon/nets/decoder';
import { loadDiffEncoder, LoadedDiffEncoder } from '../../../daemon/attack/search/diffEncoder';
import { DecoderFaceModel } from '../../../daemon/attack/faceModel/decoder';
import { checkFrame, checkTargets, renderFaces } from '../../../daemon/attack/inversion';
import { gradientSearch } from '../../../daemon/attack/search/gradientSearch';
import { findEncoderConfig } from '../../../daemon/encoders/registry';

function unitRandom(dim: number, seed: number): Float32Array {
  let s = seed;
  const v = Float32Array.from({ length: dim }, () => { s = (s * 16807) % 2147483647; return s / 2147483647 - 0.5; });
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('white-box inversion through the imported ArcFace encoder (decoder face model)', function () {
  this.timeout(300_000);
  const config = findEncoderConfig('arcface512-faceplugin').config;
  let encoder: LoadedDiffEncoder;
  let generator: LoadedDecoder;
  before(async () => {
    await initEngine({ backend: 'wasm' });
    encoder = await loadDiffEncoder(config);
    const decoder = Decoder.create({ inputDim: 512, outputSize: 64, residualLayers: 0, noiseVariance: 0, loss: 'l1', learningRate: 1e-3, seed: 1, baseChannels: 32 });
    // A freshly initialised decoder in inference mode maps everything to grey (BN moving stats at their
    // initial values shrink every layer); a few training steps give it realistic statistics, as a trained
    // generator has.
    tf.tidy(() => {
      const z = tf.randomNormal([8, 512], 0, 1, 'float32', 1) as tf.Tensor2D;
      const t = tf.randomUniform([8, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      for (let i = 0; i < 30; i++) decoder.trainStep(z, t);
    });
    generator = { decoder, dir: '(test)', meta: { kind: 'faceinv-blackbox-decoder', encoderId: config.id, embeddingDim: 512, outputSize: 64, template: 'arcface-5pt' } as DecoderModelMeta };
  });
  after(() => { encoder?.dispose(); generator?.decoder.dispose(); });

  it('raises the cosine to the targets by gradient steps through E and G, leaking nothing', async () => {
    const before = tf.memory().numTensors;
    const cos: number[] = [];
    const model = new DecoderFaceModel(generator);
    const targets = [unitRandom(512, 7), unitRandom(512, 11)];
    const start = new Float32Array(2 * 512);
    const res = await gradientSearch(model, config, targets, start, { steps: 8, learningRate: 0.1, init: 'normal', priorWeight: 0, batchSize: 2 }, {
      seed: 3, engine: 'tfjs', loadTfEncoder: async () => ({ ...encoder, dispose: () => undefined }), onStep: (_b, _n, s) => cos.push(s.meanCosine),
    });
    assert.equal(res.engine.chosen, 'tfjs');
    const images = await renderFaces(model, res.latents, 2);
    assert.equal(images.length, 2 * 64 * 64 * 3);
    // Arbitrary unit vectors are far from any face this small generator draws, so the gain is small but it
    // must be there: without gradients reaching z the cosine stays exactly where it started.
    assert.ok(cos[cos.length - 1] > cos[0] + 1e-3, `cosine ${cos[0].toFixed(4)} → ${cos[cos.length - 1].toFixed(4)}`);
    assert.ok(res.cosine.every((c) => c >= cos[0] - 1e-6));
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects targets of the wrong dimension or with non-finite values', () => {
    assert.throws(() => checkTargets([new Float32Array(128)], config), /dimension 128, encoder arcface512-faceplugin produces 512/);
    const bad = unitRandom(512, 5); bad[3] = NaN;
    assert.throws(() => checkTargets([bad], config), /value 3 is NaN/);
    assert.throws(() => checkTargets([], config), /no targets/);
  });

  it('refuses a generator whose output cannot be mapped to the encoder input', () => {
    const faceapi = findEncoderConfig('faceapi-resnet128').config;
    const model = new DecoderFaceModel(generator);
    assert.throws(() => checkFrame(model, faceapi), /cannot be mapped to the encoder's input/);
    assert.doesNotThrow(() => checkFrame(model, config));
  });
});
