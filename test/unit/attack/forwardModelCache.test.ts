/**
 * The secant search's forward model kept between runs (daemon/attack/search/forwardModelCache.ts): a second
 * search with the same face model and encoder takes it from the cache — the same model, two fingerprint queries
 * instead of the fit's draws; another encoder or another fit misses; a damaged file is refitted, not trusted.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildPcaFaceModel, PcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { FORWARD_MODEL_DEFAULTS } from '../../../daemon/attack/search/forwardModel';
import { cachedForwardModel } from '../../../daemon/attack/search/forwardModelCache';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';

const S = 8, D = S * S * 3, DIM = 16, K = 6;

/** A fixed random linear "encoder" of the rendered faces (seed picks the encoder), counting the latents it is asked. */
function templatesOf(model: PcaFaceModel, seed: number, asked: { n: number }) {
  const r = mulberry32(seed);
  const W = Float32Array.from({ length: D * DIM }, () => r() * 2 - 1);
  return async (z: Float32Array): Promise<Float32Array> => {
    const n = z.length / K;
    asked.n += n;
    const img = tf.tidy(() => model.render(tf.tensor2d(z, [n, K])));
    const px = await img.data();
    img.dispose();
    const out = new Float32Array(n * DIM);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < DIM; j++) { let s = 0; for (let a = 0; a < D; a++) s += (px[i * D + a] - 0.5) * W[a * DIM + j]; out[i * DIM + j] = s; }
      const norm = Math.hypot(...out.subarray(i * DIM, (i + 1) * DIM));
      for (let j = 0; j < DIM; j++) out[i * DIM + j] /= norm;
    }
    return out;
  };
}

describe('attack/search: the forward model kept between runs', function () {
  this.timeout(120000);
  let model: PcaFaceModel;
  let dir: string;
  before(async () => {
    await initEngine({ backend: 'wasm' });
    const r = mulberry32(1);
    model = await buildPcaFaceModel(Uint8Array.from({ length: 60 * D }, (_, i) => Math.round(128 + 60 * Math.sin(i * 0.1 + r() * 2) * r())), 60, { template: 'arcface-5pt', size: S }, { components: K, clamp: 3 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fwd-cache-'));
  });
  after(() => { model?.dispose(); fs.rmSync(dir, { recursive: true, force: true }); });
  const o = { ...FORWARD_MODEL_DEFAULTS, draws: 4 * K, seed: 0 };

  it('fits once, then takes the same model from the cache for two fingerprint queries; no tensor leaks', async () => {
    const before = tf.memory().numTensors;
    const asked = { n: 0 };
    const first = await cachedForwardModel(model, templatesOf(model, 5, asked), o, dir);
    assert.equal(first.cached, false);
    assert.equal(asked.n, 2 + o.draws, 'the fingerprint and the fit');
    asked.n = 0;
    const second = await cachedForwardModel(model, templatesOf(model, 5, asked), o, dir);
    assert.equal(second.cached, true);
    assert.equal(asked.n, 2, 'only the fingerprint is asked');
    assert.deepEqual(Array.from(second.forward.slope), Array.from(first.forward.slope));
    assert.deepEqual(Array.from(second.forward.metric), Array.from(first.forward.metric));
    assert.equal(second.forward.queries, o.draws);
    assert.equal(second.forward.explained, first.forward.explained);
    assert.equal(tf.memory().numTensors, before);
  });

  it('misses for another encoder or another fit, and refits a damaged file', async () => {
    const asked = { n: 0 };
    assert.equal((await cachedForwardModel(model, templatesOf(model, 6, asked), o, dir)).cached, false, 'another encoder');
    assert.equal((await cachedForwardModel(model, templatesOf(model, 5, asked), { ...o, draws: 5 * K }, dir)).cached, false, 'other draws');
    const files = fs.readdirSync(path.join(dir, 'forward'));
    assert.equal(files.length, 3);
    for (const f of files) fs.writeFileSync(path.join(dir, 'forward', f), fs.readFileSync(path.join(dir, 'forward', f)).subarray(0, 100));
    const again = await cachedForwardModel(model, templatesOf(model, 5, asked), o, dir);
    assert.equal(again.cached, false, 'a truncated file is not trusted');
    assert.equal((await cachedForwardModel(model, templatesOf(model, 5, asked), o, dir)).cached, true, 'and is kept again');
  });
});
