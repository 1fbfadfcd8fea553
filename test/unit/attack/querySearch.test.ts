/**
 * Black-box query search (daemon/attack/search): zeroth-order and genetic improve the cosine from the start
 * with only encoder answers, never spend more than the budget, fail only the target whose encoder answers go
 * bad, and the detector acceptance test keeps answers the detector finds.
 */
import * as assert from 'node:assert/strict';
import { buildPcaFaceModel, PcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import { QueryOracle } from '../../../daemon/attack/search/oracle';
import { querySearch, QuerySearchOptions } from '../../../daemon/attack/search/querySearch';
import { pickRestarts } from '../../../daemon/attack/search/whiteboxRestarts';
import { QueryPacer } from '../../../daemon/attack/search/pacer';
import type { SurrogatePrior } from '../../../daemon/attack/search/surrogatePrior';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import type { Encoder } from '../../../daemon/encoders/types';

const S = 8, D = S * S * 3, DIM = 16;

/** The toy encoder's weights (a fresh tensor; the caller disposes it, or a tidy does). */
function toyWeights(): tf.Tensor2D {
  const r = mulberry32(9);
  return tf.tensor2d(Float32Array.from({ length: D * DIM }, () => r() * 2 - 1), [D, DIM]);
}

/** A random linear "encoder" of the pixels; `poison(call, row)` makes a row's template NaN. */
function toyEncoder(poison?: (call: number, row: number) => boolean): Encoder & { calls: number } {
  const W = toyWeights();
  const enc = {
    id: 'toy', dim: DIM, inputSize: S, calls: 0,
    async embed(images: tf.Tensor4D): Promise<Float32Array[]> {
      enc.calls++;
      const e = tf.tidy(() => tf.matMul(tf.reshape(tf.sub(images, 0.5), [images.shape[0], D]), W));
      const rows = (await e.array()) as number[][];
      e.dispose();
      return rows.map((row, i) => {
        if (poison?.(enc.calls, i)) return new Float32Array(DIM).fill(NaN);
        const n = Math.hypot(...row);
        return Float32Array.from(row, (v) => v / n);
      });
    },
    dispose: () => W.dispose(),
  };
  return enc;
}

function faces(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  return Uint8Array.from({ length: n * D }, (_, i) => Math.round(128 + 60 * Math.sin(i * 0.1 + r() * 2) * r()));
}

/** A PCA face model of toy faces, and `n` targets: the toy encoder's templates of other toy faces. */
async function toyWorld(n: number, seed: number): Promise<{ model: PcaFaceModel; targets: Float32Array[] }> {
  await initEngine({ backend: 'wasm' });
  const model = await buildPcaFaceModel(faces(80, 1), 80, { template: 'arcface-5pt', size: S }, { components: 12, clamp: 3 });
  const enc = toyEncoder();
  const t = tf.tensor4d(Float32Array.from(faces(n, seed), (v) => v / 255), [n, S, S, 3]);
  const targets = await enc.embed(t);
  t.dispose();
  enc.dispose();
  return { model, targets };
}

describe('attack/search: query search', function () {
  this.timeout(120000);
  let model: PcaFaceModel;
  let targets: Float32Array[];
  before(async () => ({ model, targets } = await toyWorld(4, 2)));
  after(() => model?.dispose());

  const base: Omit<QuerySearchOptions, 'method'> = { sigma: 0.5, learningRate: 0.3, directions: 2, population: 8, seed: 1, checks: 0 };

  for (const method of ['zeroth-order', 'genetic'] as const) {
    it(`${method}: raises the cosine from the start within the budget, leaking no tensors`, async () => {
      const enc = toyEncoder();
      const before = tf.memory().numTensors;
      const oracle = new QueryOracle(enc, model, targets, 61);
      const res = await querySearch(oracle, model, new Float32Array(targets.length * model.latentDim), { ...base, method });
      const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
      assert.ok(mean(res.bestCos) > mean(res.startCos) + 0.05, `${mean(res.startCos)} → ${mean(res.bestCos)}`);
      for (const q of res.queries) assert.ok(q <= 61 && q >= 50, `queries ${q}`);
      assert.ok(res.failure.every((f) => f === undefined));
      for (let t = 0; t < targets.length; t++) for (let c = 0; c < model.latentDim; c++) assert.ok(Math.abs(res.bestLatents[t * model.latentDim + c]) <= 3);
      assert.equal(tf.memory().numTensors, before);
      enc.dispose();
    });
  }

  it('fails only the target whose templates come back non-finite, with the reason', async () => {
    // At the third encoder call, the first row (target 0's base point) comes back NaN.
    const enc = toyEncoder((call, row) => call === 3 && row === 0);
    const oracle = new QueryOracle(enc, model, targets, 31);
    const res = await querySearch(oracle, model, new Float32Array(targets.length * model.latentDim), { ...base, method: 'zeroth-order' });
    assert.match(res.failure[0] ?? '', /toy returned a non-finite template/);
    assert.deepEqual(res.failure.slice(1), [undefined, undefined, undefined]);
    assert.ok(res.queries[1] > 20, 'the other targets go on');
    assert.ok(Number.isFinite(res.bestCos[0]), 'the failed target keeps its best so far');
    enc.dispose();
  });

  it('refuses a budget overrun', async () => {
    const enc = toyEncoder();
    const oracle = new QueryOracle(enc, model, targets, 2);
    await assert.rejects(oracle.score(new Float32Array(3 * model.latentDim), [0, 0, 0]), /target 0: 0 \+ 3 queries exceed the budget of 2/);
    enc.dispose();
  });

  it('the acceptance test keeps answers the detector finds', async () => {
    const enc = toyEncoder();
    const k = model.latentDim;
    // A "detector" that only finds faces whose first two latents stay within ±0.2 of 0.
    const detect = async (z: Float32Array, n: number) => Array.from({ length: n }, (_, t) => Math.abs(z[t * k]) <= 0.2 && Math.abs(z[t * k + 1]) <= 0.2);
    const oracle = new QueryOracle(enc, model, targets, 81);
    const res = await querySearch(oracle, model, new Float32Array(targets.length * k), { ...base, method: 'zeroth-order', detect, checks: 3 });
    for (let t = 0; t < targets.length; t++) {
      assert.ok(Math.abs(res.bestLatents[t * k]) <= 0.2 && Math.abs(res.bestLatents[t * k + 1]) <= 0.2, `target ${t} answer is not one the detector finds`);
    }
    assert.ok(res.detected.every(Boolean));
    enc.dispose();
  });
});

describe('attack/search: surrogate prior and wall-clock budget', function () {
  this.timeout(120000);
  let model: PcaFaceModel;
  let targets: Float32Array[];
  before(async () => ({ model, targets } = await toyWorld(6, 3)));
  after(() => model?.dispose());

  /** A prior that knows the toy encoder exactly: the true gradient of the cosine (what a perfect surrogate gives). */
  function exactPrior(weight: number): SurrogatePrior & { calls: number } {
    const enc = toyEncoder();
    const k = model.latentDim;
    const prior = {
      id: 'exact', weight, mapCosine: 1, map: 'ridge' as const, mapLambda: 0.1, calls: 0, stats: { evaluations: 0, seconds: 0 },
      async gradient(latents: Float32Array, owners: readonly number[]): Promise<Float32Array> {
        prior.calls++;
        const T = tf.tensor2d(Float32Array.from(owners.flatMap((t) => Array.from(targets[t]))), [owners.length, DIM]);
        const g = tf.tidy(() => tf.grad((z: tf.Tensor) => {
          const img = model.render(z as tf.Tensor2D);
          const e = tf.matMul(tf.reshape(tf.sub(img, 0.5), [owners.length, D]), toyWeights());
          const cos = tf.div(tf.sum(tf.mul(e, T), 1), tf.norm(e, 2, 1));
          return tf.sum(cos);
        })(tf.tensor2d(latents, [owners.length, k])));
        const out = g.dataSync() as Float32Array;
        g.dispose(); T.dispose();
        prior.stats.evaluations += owners.length;
        return Float32Array.from(out);
      },
      async warmup(start: Float32Array) { return Float32Array.from(start); },
      async dispose() { enc.dispose(); },
    };
    return prior;
  }
  const base: QuerySearchOptions = { method: 'zeroth-order', sigma: 0.5, learningRate: 0.3, directions: 2, population: 8, seed: 1, checks: 0 };
  const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;

  it('a surrogate prior lifts the cosine further for the same queries, and its work is counted apart from queries', async () => {
    const results: number[] = [];
    for (const prior of [undefined, exactPrior(0), exactPrior(0.5)]) {
      const enc = toyEncoder();
      const oracle = new QueryOracle(enc, model, targets, 26);
      const res = await querySearch(oracle, model, new Float32Array(targets.length * model.latentDim), { ...base, ...(prior ? { prior } : {}) });
      results.push(mean(res.bestCos));
      for (const q of res.queries) assert.ok(q <= 26, `queries ${q}`);
      if (prior) {
        assert.equal(prior.calls, 5, 'one gradient per step (5 steps of 5 queries after the start)');
        assert.equal(prior.stats.evaluations, 5 * targets.length);
        await prior.dispose();
      }
      enc.dispose();
    }
    assert.ok(results[1] > results[0] + 0.02, `probe pair along the prior: ${results[0].toFixed(3)} → ${results[1].toFixed(3)}`);
    assert.ok(results[2] > results[0] + 0.02, `prior pair and weight: ${results[0].toFixed(3)} → ${results[2].toFixed(3)}`);
  });

  it('the genetic search refuses a surrogate prior', async () => {
    const enc = toyEncoder();
    const oracle = new QueryOracle(enc, model, targets, 20);
    await assert.rejects(querySearch(oracle, model, new Float32Array(targets.length * model.latentDim), { ...base, method: 'genetic', prior: exactPrior(1) }), /guides the zeroth-order search, not "genetic"/);
    enc.dispose();
  });

  it('search.minutes cuts the queries per target to what the measured rate affords, and says so', async () => {
    let now = 0;
    const pacer = new QueryPacer(300, 60, () => now);
    // 600 targets' start + one 5-query step took 36 s: 0.01 s a query → 24 s left afford 4 more per target.
    now = 36_000;
    const d = pacer.update(3600, 6, 600, 5);
    assert.equal(d.budget, 10);
    assert.match(d.cut ?? '', /cut from 300 to 10 queries per target to fit search.minutes 1 \(measured 100 queries\/s/);
    // Fast enough: the configured maximum stands and nothing is cut.
    const fast = new QueryPacer(300, 600, () => now);
    now += 1000;
    assert.deepEqual(fast.update(3600, 6, 600, 5).cut, undefined);
    assert.equal(fast.current.budget, 300);
  });

  it('one-off work before the first query (a surrogate warm-up) counts against the minutes, not as a per-query cost', async () => {
    let now = 100_000;
    // 100 s of warm-up before the queries began; 5-minute budget from the warm-up's start.
    const pacer = new QueryPacer(300, 300, () => now, 0);
    now = 110_000;
    // 1,000 queries in the 10 s since: 100 queries/s; 190 s left for 100 targets → 190 more each, within 300.
    const d = pacer.update(1000, 10, 100, 5);
    assert.equal(d.budget, 200);
    assert.match(d.cut ?? '', /measured 100 queries\/s/);
  });

  it('a search budget too small for one step is an error naming the minimum', async () => {
    let now = 0;
    const pacer = new QueryPacer(300, 3, () => now);
    now = 2_500;
    assert.throws(() => pacer.update(600, 1, 600, 5), /search.minutes 0.05 is too small for one search step here: .*set search.minutes to at least 0.3/);
    assert.throws(() => new QueryPacer(10, 0), /search.minutes must be > 0/);
  });

  it('the oracle follows the pacer: a lowered budget stops the search early', async () => {
    const enc = toyEncoder();
    const oracle = new QueryOracle(enc, model, targets, 200);
    // A clock that jumps 1 s per read: the first step shows the rate, the budget of 0.05 min then leaves a few steps.
    let t = 0;
    const realNow = Date.now;
    Date.now = () => (t += 1000);
    try {
      const res = await querySearch(oracle, model, new Float32Array(targets.length * model.latentDim), { ...base, minutes: 0.3 });
      assert.ok(res.pace.cut, 'the budget was cut');
      assert.ok(Math.max(...res.queries) < 200, `queries ${Math.max(...res.queries)}`);
      assert.equal(oracle.budget, res.pace.budget);
    } finally {
      Date.now = realNow;
      enc.dispose();
    }
  });
});

describe('attack/search: white-box restarts', () => {
  it('answer with the best restart the detector finds, else the best overall', () => {
    const runs = [
      { cosine: [0.9, 0.5, NaN], found: [false, true, false] },
      { cosine: [0.8, 0.7, 0.2], found: [true, false, false] },
      { cosine: [0.7, 0.6, 0.1], found: [true, true, false] },
    ];
    assert.deepEqual(pickRestarts(runs, 3), [1, 2, 1]);
  });
});

