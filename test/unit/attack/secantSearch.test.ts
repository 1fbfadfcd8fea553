/**
 * The secant search (daemon/attack/search/secant.ts): reads every answered template, not one score — so for
 * the same queries it climbs further than the zeroth-order search; its forward model's own queries are counted
 * apart from the targets' budgets; a system that answers scores only is refused; the Gauss–Newton step asks
 * for exactly the template change that is missing when the forward model is exact, and the secant pairs
 * correct a forward model that is wrong.
 */
import * as assert from 'node:assert/strict';
import { buildPcaFaceModel, PcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { fitForwardModel, FORWARD_MODEL_DEFAULTS, ForwardModel } from '../../../daemon/attack/search/forwardModel';
import { QueryOracle } from '../../../daemon/attack/search/oracle';
import { querySearch, QuerySearchOptions } from '../../../daemon/attack/search/querySearch';
import { gaussNewtonStep, TargetMemory } from '../../../daemon/attack/search/secant';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import type { Encoder } from '../../../daemon/encoders/types';

const S = 8, D = S * S * 3, DIM = 16;

/** A random "encoder" of the pixels, bent by tanh so that its Jacobian changes from face to face. */
function toyEncoder(): Encoder {
  const r = mulberry32(9);
  const W = tf.tensor2d(Float32Array.from({ length: D * DIM }, () => r() * 2 - 1), [D, DIM]);
  return {
    id: 'toy', dim: DIM, inputSize: S,
    async embed(images: tf.Tensor4D): Promise<Float32Array[]> {
      const e = tf.tidy(() => tf.tanh(tf.mul(tf.matMul(tf.reshape(tf.sub(images, 0.5), [images.shape[0], D]), W), 0.3)));
      const rows = (await e.array()) as number[][];
      e.dispose();
      return rows.map((row) => { const n = Math.hypot(...row); return Float32Array.from(row, (v) => v / n); });
    },
    dispose: () => W.dispose(),
  };
}

function faces(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n * D }, (_, i) => Math.round(128 + 60 * Math.sin(i * 0.1 + r() * 2) * r()));
}

describe('attack/search: secant search', function () {
  this.timeout(120000);
  let model: PcaFaceModel;
  let targets: Float32Array[];
  before(async () => {
    await initEngine({ backend: 'wasm' });
    model = await buildPcaFaceModel(faces(80, 1), 80, { template: 'arcface-5pt', size: S }, { components: 12, clamp: 3 });
    const enc = toyEncoder();
    const t = tf.tensor4d(Float32Array.from(faces(6, 4), (v) => v / 255), [6, S, S, 3]);
    targets = await enc.embed(t);
    t.dispose();
    enc.dispose();
  });
  after(() => model?.dispose());
  const base: Omit<QuerySearchOptions, 'method'> = { sigma: 0.5, learningRate: 0.3, directions: 2, population: 8, seed: 1, checks: 0 };
  const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;

  it('climbs further than the zeroth-order search for the same queries; its forward model is the attacker\'s own queries, no target\'s; no tensor leaks', async () => {
    const enc = toyEncoder();
    const start = new Float32Array(targets.length * model.latentDim);
    const zo = await querySearch(new QueryOracle(enc, model, targets, 21), model, start, { ...base, method: 'zeroth-order' });
    const before = tf.memory().numTensors;
    const oracle = new QueryOracle(enc, model, targets, 21);
    const sec = await querySearch(oracle, model, start, { ...base, method: 'secant', secant: { draws: 48 } });
    assert.equal(tf.memory().numTensors, before);
    for (const q of sec.queries) assert.ok(q <= 21 && q >= 20, `queries ${q}`);
    assert.equal(oracle.setupQueries, 48);
    assert.equal(sec.forward?.queries, 48);
    assert.ok(sec.forward!.explained > 0.5, `the toy encoder is nearly linear: explained ${sec.forward!.explained}`);
    assert.ok(mean(sec.bestCos) > mean(zo.bestCos) + 0.05, `zeroth-order ${mean(zo.bestCos).toFixed(3)}, secant ${mean(sec.bestCos).toFixed(3)}`);
    enc.dispose();
  });

  it('refuses a system that answers scores only, and a forward model with fewer draws than twice the latent', async () => {
    const enc = toyEncoder();
    const oracle = new QueryOracle(enc, model, targets, 21);
    oracle.answerBy(async (images, owners) => owners.map(() => 0.5));
    await assert.rejects(querySearch(oracle, model, new Float32Array(targets.length * model.latentDim), { ...base, method: 'secant', secant: { draws: 48 } }),
      /answers scores, not templates; the secant search needs an embedding oracle/);
    await assert.rejects(fitForwardModel(model, async (z) => new Float32Array((z.length / 12) * DIM), { ...FORWARD_MODEL_DEFAULTS, draws: 10 }),
      /needs at least 2 × 12 latent draws \(the face model's size\), got 10/);
    enc.dispose();
  });

  it('the Gauss–Newton step asks for the missing template change; the secant pairs correct a wrong forward model', () => {
    // k = 3 latents, dim = 2 outputs; A = [[1, 0, 0], [0, 2, 0]] (slope is Aᵀ), metric ≈ (AAᵀ)⁻¹.
    const slope = Float32Array.from([1, 0, 0, 2, 0, 0]);
    const fm: ForwardModel = { k: 3, dim: 2, slope, metric: Float32Array.from([1, 0, 0, 0.25]), explained: 1, queries: 6 };
    const m = new TargetMemory(Float32Array.from([1, 0]), 0, 100);
    const d = gaussNewtonStep(fm, m, Float32Array.from([0.6, 0.8]));
    // A·d = t − e = (−0.4, 0.8).
    assert.ok(Math.abs(d[0] - -0.4) < 1e-6 && Math.abs(2 * d[1] - 0.8) < 1e-6 && d[2] === 0, `${Array.from(d)}`);
    // A forward model that knows nothing (A = 0) learns the response from one pair: the step goes along it.
    const blind: ForwardModel = { ...fm, slope: new Float32Array(6), metric: Float32Array.from([1, 0, 0, 1]) };
    const b = new TargetMemory(Float32Array.from([1, 0]), 0, 100);
    b.push(Float32Array.from([0, 0, 1]), Float32Array.from([0, 1]), 32);
    const step = gaussNewtonStep(blind, b, Float32Array.from([0.6, 0.8]));
    assert.ok(step[2] > 0.7 && Math.abs(step[0]) < 1e-9 && Math.abs(step[1]) < 1e-9, `${Array.from(step)}`);
    // And the trust radius cuts the step.
    b.radius = 0.1;
    const cut = gaussNewtonStep(blind, b, Float32Array.from([0.6, 0.8]));
    assert.ok(Math.abs(Math.hypot(...cut) - 0.1) < 1e-6);
  });

  it('the window keeps the newest pairs and their Gram matrix in step', () => {
    const m = new TargetMemory(Float32Array.from([1, 0]), 0, 1);
    const steps = [[1, 0, 0], [1, 1, 0], [0, 2, 1], [3, 0, 1]].map((v) => Float32Array.from(v));
    for (const s of steps) m.push(s, Float32Array.from([0, 0]), 3);
    assert.deepEqual(m.steps.map((s) => Array.from(s)), [[1, 1, 0], [0, 2, 1], [3, 0, 1]]);
    const dot = (a: Float32Array, b: Float32Array) => a.reduce((x, v, i) => x + v * b[i], 0);
    assert.deepEqual(m.gram, m.steps.map((a) => m.steps.map((b) => dot(a, b))));
  });
});
