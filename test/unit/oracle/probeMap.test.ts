/**
 * The no-encoder score attack's start (daemon/attack/oracle/probeMap.ts): on a synthetic linear "encoder" of
 * the face latent, the ridge map from P answered probe scores recovers the latent of held-out identities far
 * better than the mean face, and gets worse as answers are rounded; bad answers are refused. Also the query
 * oracle's rounding of answered scores (daemon/attack/search/oracle.ts).
 */
import * as assert from 'node:assert/strict';
import { fitProbeMap, probeStart } from '../../../daemon/attack/oracle/probeMap';
import { mulberry32 } from '../../../daemon/data/split';
import { QueryOracle } from '../../../daemon/attack/search/oracle';
import type { Encoder } from '../../../daemon/encoders/types';
import type { FaceModel } from '../../../daemon/attack/faceModel/types';

const k = 8, dim = 24, P = 30;
const rand = mulberry32(3);
const g = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const A = Array.from({ length: dim * k }, g);
const embed = (z: ArrayLike<number>) => {
  const e = Array.from({ length: dim }, (_, i) => { let s = 0; for (let c = 0; c < k; c++) s += A[i * k + c] * z[c]; return s; });
  const n = Math.hypot(...e);
  return e.map((x) => x / n);
};
const latent = () => Array.from({ length: k }, g);
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);

function meanCos(decimals?: number): number {
  const probes = Array.from({ length: P }, () => embed(latent()));
  const answers = (e: number[]) => probes.map((p) => { const s = dot(p, e); return decimals === undefined ? s : Number(s.toFixed(decimals)); });
  const m = 600;
  const zs = Array.from({ length: m }, latent);
  const map = fitProbeMap(Float32Array.from(zs.flatMap((z) => answers(embed(z)))), Float32Array.from(zs.flat()), m, P, k, 1e-3);
  const held = Array.from({ length: 50 }, latent);
  const start = probeStart(map, Float32Array.from(held.flatMap((z) => answers(embed(z)))), held.length);
  // The latent's scale is lost in a unit template, so compare directions.
  return held.reduce((s, z, i) => { const y = Array.from(start.subarray(i * k, (i + 1) * k)); return s + dot(y, z) / (Math.hypot(...y) * Math.hypot(...z)); }, 0) / held.length;
}

describe('oracle: the probe-set map (score oracle, no encoder)', () => {
  it('maps P answered scores to the held-out latent direction, worse when the answers are rounded', () => {
    const exact = meanCos(), tenth = meanCos(1), whole = meanCos(0);
    assert.ok(exact > 0.95, `exact answers: mean cosine ${exact.toFixed(3)}`);
    assert.ok(tenth < exact && whole < tenth - 0.05, `exact ${exact.toFixed(3)}, rounded to 0.1 ${tenth.toFixed(3)}, to 1 ${whole.toFixed(3)}`);
  });

  it('moves the start away from the mean face by the caricature scale, and refuses a bad scale', () => {
    const scores = Float32Array.from({ length: 40 * P }, g), z = Float32Array.from({ length: 40 * k }, g);
    const map = fitProbeMap(scores, z, 40, P, k, 0.1, 1.25);
    const one = probeStart({ ...map, caricature: 1 }, scores.subarray(0, P), 1), scaled = probeStart(map, scores.subarray(0, P), 1);
    one.forEach((v, i) => assert.ok(Math.abs(scaled[i] - 1.25 * v) < 1e-5, `component ${i}: ${scaled[i]} vs 1.25 × ${v}`));
    assert.throws(() => fitProbeMap(scores, z, 40, P, k, 0.1, 0), /caricature scale/);
    assert.throws(() => fitProbeMap(scores, z, 40, P, k, 0.1, NaN), /caricature scale/);
  });

  it('refuses too few training identities and non-numeric answers', () => {
    assert.throws(() => fitProbeMap(new Float32Array(10 * P), new Float32Array(10 * k), 10, P, k), /cannot fit/);
    const s = new Float32Array(40 * P); s[7] = NaN;
    assert.throws(() => fitProbeMap(s, new Float32Array(40 * k), 40, P, k), /not a finite number/);
    const map = fitProbeMap(Float32Array.from({ length: 40 * P }, g), Float32Array.from({ length: 40 * k }, g), 40, P, k);
    assert.throws(() => probeStart(map, new Float32Array(P - 1), 1), /not 1 rows/);
    assert.throws(() => probeStart(map, new Float32Array(P).fill(Infinity), 1), /not a finite number/);
  });

  it('the query oracle answers rounded scores when the system rounds', async () => {
    const { tf } = await import('../../../daemon/tfjs/tf');
    await tf.ready();
    const S = 4;
    const model = { latentDim: 2, render: (z: ReturnType<typeof tf.tensor2d>) => tf.tidy(() => tf.reshape(tf.tile(tf.slice(z, [0, 0], [-1, 1]), [1, S * S * 3]), [-1, S, S, 3])) } as unknown as FaceModel;
    const encoder = { id: 'stand-in', dim: 2, inputSize: S, embed: async (x: ReturnType<typeof tf.tensor4d>) => { const m = (await tf.mean(x, [1, 2, 3]).data()) as Float32Array; return Array.from(m, (v) => Float32Array.of(Math.cos(v), Math.sin(v))); } } as unknown as Encoder;
    const oracle = new QueryOracle(encoder, model, [Float32Array.of(1, 0)], 3);
    const z = Float32Array.of(0.3, 0);
    assert.ok(Math.abs((await oracle.score(z, [0]))[0] - Math.cos(0.3)) < 1e-5);
    oracle.roundAnswers(1);
    assert.equal((await oracle.score(z, [0]))[0], Number(Math.cos(0.3).toFixed(1)));
    assert.throws(() => oracle.roundAnswers(1.5), /whole number/);
    assert.deepEqual(Array.from(oracle.used), [2]);
    // A remote system answers instead of the encoder; an error (a lock-out) ends that target only.
    const two = new QueryOracle(encoder, model, [Float32Array.of(1, 0), Float32Array.of(0, 1)], 3);
    two.answerBy(async (_images, targets) => targets.map((t) => (t === 0 ? 0.42 : new Error('locked-out: subject "b"'))));
    assert.deepEqual(Array.from(await two.score(Float32Array.of(0.1, 0, 0.2, 0), [0, 1])).map((x) => (Number.isNaN(x) ? 'NaN' : x.toFixed(2))), ['0.42', 'NaN']);
    assert.deepEqual([two.failure[0], two.failure[1], two.remaining(1)], [undefined, 'locked-out: subject "b"', 0]);
  });
});
