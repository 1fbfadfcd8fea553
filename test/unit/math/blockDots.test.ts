/**
 * Row dot products in blocks (daemon/math/blockDots.ts), which the evaluation's all-pairs scores and rank-1
 * scans run on: every (row, row) product once, in order, on the engine and before it has a backend alike.
 */
import * as assert from 'node:assert/strict';
import { mulberry32 } from '../../../daemon/data/split';
import { allPairScores } from '../../../daemon/data/verify';
import { exactRowDots, forEachDotBlock, packRows } from '../../../daemon/math/blockDots';
import { initEngine } from '../../../daemon/tfjs/backend';

function naive(a: Float32Array, m: number, b: Float32Array, n: number, dim: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let k = 0; k < dim; k++) out[i * n + j] += a[i * dim + k] * b[j * dim + k];
  return out;
}

function blocked(a: Float32Array, m: number, b: Float32Array, n: number, dim: number, block: number): { all: Float32Array; firsts: number[] } {
  const all = new Float32Array(m * n).fill(NaN);
  const firsts: number[] = [];
  forEachDotBlock(a, m, b, n, dim, (first, count, scores) => {
    firsts.push(first);
    assert.equal(scores.length, count * n);
    all.set(scores, first * n);
  }, block);
  return { all, firsts };
}

describe('math/blockDots: row dot products a block at a time', () => {
  const rand = mulberry32(11);
  const m = 23, n = 17, dim = 9;
  const a = Float32Array.from({ length: m * dim }, () => rand() * 2 - 1);
  const b = Float32Array.from({ length: n * dim }, () => rand() * 2 - 1);
  const want = naive(a, m, b, n, dim);

  it('before the engine has a backend: every product once, blocks in order, a short last block', () => {
    const { all, firsts } = blocked(a, m, b, n, dim, 5);
    assert.deepEqual(firsts, [0, 5, 10, 15, 20]);
    all.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `product ${i}: ${v} vs ${want[i]}`));
  });

  it('on the engine: the same products; sizes that do not fit are refused', async () => {
    await initEngine({ backend: 'wasm' });
    const { all, firsts } = blocked(a, m, b, n, dim, 8);
    assert.deepEqual(firsts, [0, 8, 16]);
    all.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `product ${i}: ${v} vs ${want[i]}`));
    assert.throws(() => forEachDotBlock(a, m + 1, b, n, dim, () => undefined), /do not fit/);
  });

  it('all-pairs scores: genuine and impostor pairs as a pair loop gives them, in its order', () => {
    const ids = ['x', 'y', 'x', 'z', 'y', 'x', 'w', 'z'];
    const e = Float32Array.from({ length: ids.length * dim }, () => rand() * 2 - 1);
    const keep = ['x', 'y', 'z'];
    const rows = ids.map((id, i) => (keep.includes(id) ? i : -1)).filter((i) => i >= 0);
    const X = packRows(e, rows, dim);
    const dots = naive(X, rows.length, X, rows.length, dim);
    const genuine: number[] = [], impostor: number[] = [];
    for (let i = 0; i < rows.length; i++) for (let j = i + 1; j < rows.length; j++) (ids[rows[i]] === ids[rows[j]] ? genuine : impostor).push(dots[i * rows.length + j]);
    const got = allPairScores({ identities: ids, embeddings: e, dim }, keep);
    assert.equal(got.images, rows.length);
    assert.equal(got.genuine.length, genuine.length);
    assert.equal(got.impostor.length, impostor.length);
    genuine.forEach((v, i) => assert.ok(Math.abs(got.genuine[i] - v) < 1e-5));
    impostor.forEach((v, i) => assert.ok(Math.abs(got.impostor[i] - v) < 1e-5));
  });

  it('exact row dots: every row once, in order, each sum bit for bit a one-row double loop\'s (rows not a multiple of four), bad sizes refused', () => {
    const r = mulberry32(4), dim = 37, n = 11;
    const x = Float32Array.from({ length: 3 * dim }, () => r() * 2 - 1), rows = Float32Array.from({ length: n * dim }, () => r() * 2 - 1);
    const want = naive(x.subarray(dim, 2 * dim), 1, rows, n, dim);
    const seen: number[] = [];
    exactRowDots(x, dim, rows, n, dim, (q, dot) => { seen.push(q); assert.equal(dot, want[q], `row ${q}`); });
    assert.deepEqual(seen, Array.from({ length: n }, (_, q) => q));
    assert.throws(() => exactRowDots(x, 3 * dim - 1, rows, n, dim, () => undefined), /exactRowDots: a row of 37 at 110 of 111 values/);
    assert.throws(() => exactRowDots(x, 0, rows, n + 1, dim, () => undefined), /12 rows of 37 in 407 values, does not fit/);
  });
});
