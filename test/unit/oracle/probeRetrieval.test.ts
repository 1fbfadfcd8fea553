/**
 * The no-encoder score attack's ranked pool (daemon/attack/oracle/probeRetrieval.ts): on a synthetic linear
 * "encoder", the candidate picked from P probe answers is far closer to the subject than a random candidate,
 * and near the best one; bad input is refused with the problem named.
 */
import * as assert from 'node:assert/strict';
import { fitProbeRetrieval, rankCandidates, retrievedPhotos } from '../../../daemon/attack/oracle/probeRetrieval';
import { mulberry32 } from '../../../daemon/data/split';

const dim = 16, P = 24;
const rand = mulberry32(11);
const g = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const unit = () => { const v = Array.from({ length: dim }, g); const n = Math.hypot(...v); return v.map((x) => x / n); };
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

describe('oracle: the ranked pool from probe answers (score oracle, no encoder)', () => {
  it('picks a candidate near the subject from its answers alone', () => {
    const probes = Array.from({ length: P }, unit), own = Array.from({ length: 400 }, unit), cands = Array.from({ length: 300 }, unit);
    const answers = (t: number[]) => probes.map((p) => dot(p, t));
    const r = fitProbeRetrieval(Float32Array.from(own.flatMap(answers)), Float32Array.from(own.flat()), own.length, P, dim, Float32Array.from(cands.flat()), cands.map((_, i) => 1000 + i));
    const subjects = Array.from({ length: 40 }, unit);
    const picked = retrievedPhotos(r, Float32Array.from(subjects.flatMap(answers)), subjects.length);
    const got = subjects.map((t, i) => dot(t, cands[picked[i] - 1000]));
    const best = subjects.map((t) => Math.max(...cands.map((c) => dot(t, c))));
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    assert.ok(mean(got) > 0.8 * mean(best), `picked ${mean(got).toFixed(3)} vs best ${mean(best).toFixed(3)}`);
    assert.ok(mean(got) > 0.5, `random candidates average ≈ 0; picked ${mean(got).toFixed(3)}`);
    const ranked = rankCandidates(r, Float32Array.from(answers(subjects[0])), 1)[0];
    assert.equal(ranked.length, cands.length);
    for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].predicted >= ranked[i].predicted, 'ranked best first');
  });

  it('refuses too few own photos, no candidates, mismatched shapes and non-numeric answers', () => {
    const e = Float32Array.from({ length: 40 * dim }, g), s = Float32Array.from({ length: 40 * P }, g), c = Float32Array.from({ length: 3 * dim }, g);
    assert.throws(() => fitProbeRetrieval(s.subarray(0, 10 * P), e.subarray(0, 10 * dim), 10, P, dim, c, [0, 1, 2]), /cannot fit/);
    assert.throws(() => fitProbeRetrieval(s, e, 40, P, dim, new Float32Array(0), []), /no candidate/);
    assert.throws(() => fitProbeRetrieval(s, e, 40, P, dim, c, [0, 1]), /not 2 rows/);
    const bad = s.slice(); bad[3] = NaN;
    assert.throws(() => fitProbeRetrieval(bad, e, 40, P, dim, c, [0, 1, 2]), /not a finite number/);
    const r = fitProbeRetrieval(s, e, 40, P, dim, c, [0, 1, 2]);
    assert.throws(() => rankCandidates(r, new Float32Array(P - 1), 1), /not 1 rows/);
    assert.throws(() => rankCandidates(r, new Float32Array(P).fill(Infinity), 1), /not a finite number/);
  });
});
