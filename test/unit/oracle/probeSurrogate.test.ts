/**
 * The score search's start through another encoder the attacker owns (daemon/attack/oracle/probeSurrogate.ts):
 * with answers that carry the other encoder's view linearly, the map fits held out and the warm-up moves each start
 * toward its goal in that encoder's space, at no query; answers that carry nothing are refused with the figure;
 * malformed input is refused by name. Toy faces in a 112-px arcface-5pt PCA model; faceapi-resnet128 on ONNX Runtime.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildPcaFaceModel, type PcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { warmProbeStarts, type ProbeAnswerPhotos } from '../../../daemon/attack/oracle/probeSurrogate';
import { centreRows } from '../../../daemon/attack/search/surrogatePrior';
import { openSurrogate, resolveSurrogate, type Surrogate } from '../../../daemon/decoder/surrogate';
import { findEncoderConfig } from '../../../daemon/encoders/registry';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';

const S = 112, D = S * S * 3, N = 240, SYSTEM = 'arcface512-faceplugin';

/** Smooth toy faces: a few random blobs on a grey field, so a 12-component model spans them loosely. */
function toyFaces(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(n * D);
  for (let k = 0; k < n; k++) {
    const blobs = Array.from({ length: 4 }, () => ({ x: 20 + r() * 72, y: 20 + r() * 72, s: 8 + r() * 20, c: [r(), r(), r()].map((v) => 160 * v - 80) }));
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
      let v = 128;
      for (const b of blobs) v += b.c[c] * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
      out[k * D + (y * S + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

describe('oracle: the score search\'s start through another encoder (probeSurrogate)', function () {
  this.timeout(300_000);
  let model: PcaFaceModel, sur: Surrogate, crops: Uint8Array, feats: Float32Array, cacheDir: string;
  before(async () => {
    await initEngine({ backend: 'wasm' });
    crops = toyFaces(N, 3);
    model = await buildPcaFaceModel(crops, N, { template: 'arcface-5pt', size: S }, { components: 12, clamp: 3, seed: 0 });
    sur = await openSurrogate(resolveSurrogate('faceapi-resnet128', SYSTEM, 'onnxruntime', S, undefined, 'test', 'arcface-5pt'));
    feats = await sur.embedCrops(crops, N);
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-probe-surrogate-'));
  });
  after(async () => { model?.dispose(); await sur?.dispose(); fs.rmSync(cacheDir, { recursive: true, force: true }); });

  /** The first `fit` faces as the attacker's enrolled photos, with `answers` [fit, P]. */
  const own = (answers: Float32Array, P: number, fit: number): ProbeAnswerPhotos => ({
    answers, probes: P, crops: crops.slice(0, fit * D), rels: Array.from({ length: fit }, (_, i) => `toy${i}/0.jpg`), identities: Array.from({ length: fit }, (_, i) => `toy${i}`),
  });
  /** The other encoder's centred cosine of rendered latents z [n, K] to the centred features of faces `rows`. */
  async function cosToGoals(z: Float32Array, rows: number[]): Promise<number[]> {
    const x = tf.tidy(() => tf.round(tf.mul(model.render(tf.tensor2d(z, [rows.length, model.latentDim])), 255)));
    const px = Uint8Array.from(await x.data());
    x.dispose();
    const f = await sur.embedCrops(px, rows.length);
    const { mean } = centreRows(feats, sur.dim);
    return rows.map((r, i) => {
      let ab = 0, aa = 0, bb = 0;
      for (let j = 0; j < sur.dim; j++) { const a = f[i * sur.dim + j] - mean[j], b = feats[r * sur.dim + j] - mean[j]; ab += a * b; aa += a * a; bb += b * b; }
      return ab / Math.sqrt(aa * bb);
    });
  }

  it('answers linear in the other encoder\'s view: the map fits held out, and 10 steps move every start toward its goal with no query', async () => {
    // The answers: a fixed random mixing of the other encoder's features (as probe answers mix the system's template).
    const P = 160, fd = sur.dim, fit = 200, r = mulberry32(8);
    const A = Float32Array.from({ length: fd * P }, () => r() * 2 - 1);
    const answersOf = (rows: number[]) => {
      const out = new Float32Array(rows.length * P);
      rows.forEach((row, i) => { for (let k = 0; k < P; k++) { let v = 0; for (let j = 0; j < fd; j++) v += feats[row * fd + j] * A[j * P + k]; out[i * P + k] = v; } });
      return out;
    };
    const subjects = [200, 210, 220, 230];
    const starts = new Float32Array(subjects.length * model.latentDim);
    const w = await warmProbeStarts(model, findEncoderConfig(SYSTEM).config, 'faceapi-resnet128', own(answersOf(Array.from({ length: fit }, (_, i) => i)), P, fit), answersOf(subjects), starts, subjects.length, { cacheDir });
    assert.ok(w.mapCosine > 0.9, `held-out cosine of the map ${w.mapCosine}`);
    assert.equal(w.evaluations, subjects.length * 11, 'ten steps and the start per subject');
    const before = await cosToGoals(starts, subjects), after = await cosToGoals(w.latents, subjects);
    after.forEach((a, i) => assert.ok(a > before[i] + 0.05, `subject ${i}: the other encoder's cosine to its goal ${before[i].toFixed(3)} → ${a.toFixed(3)}`));
  });

  it('answers that carry nothing: refused with the map\'s held-out figure; malformed answers or starts refused by name', async () => {
    const P = 16, fit = 200, r = mulberry32(9);
    const noise = Float32Array.from({ length: fit * P }, () => r());
    const starts = new Float32Array(2 * model.latentDim);
    await assert.rejects(warmProbeStarts(model, findEncoderConfig(SYSTEM).config, 'faceapi-resnet128', own(noise, P, fit), noise.slice(0, 2 * P), starts, 2, { cacheDir }),
      /surrogate "faceapi-resnet128": the ridge map from the 16 probe answers fits badly \(held-out cosine -?[\d.]+ < 0\.5\)/);
    await assert.rejects(warmProbeStarts(model, findEncoderConfig(SYSTEM).config, 'faceapi-resnet128', own(noise, P, fit), noise.slice(0, P), starts, 2, { cacheDir }), /probe warm-up: 16 answers are not 2 rows of 16/);
    await assert.rejects(warmProbeStarts(model, findEncoderConfig(SYSTEM).config, 'faceapi-resnet128', own(noise, P, fit), noise.slice(0, 2 * P), starts.slice(1), 2, { cacheDir }), /probe warm-up: 23 start values are not 2 latents of 12/);
    await assert.rejects(warmProbeStarts(model, findEncoderConfig(SYSTEM).config, SYSTEM, own(noise, P, fit), noise.slice(0, 2 * P), starts, 2, { cacheDir }), /threat.attacker.otherEncoder "arcface512-faceplugin"/);
  });
});
