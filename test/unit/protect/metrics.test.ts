/** Accuracy and unlinkability metrics (daemon/protect/metrics.ts) on distributions with known answers. */
import * as assert from 'node:assert/strict';
import { KeyStream } from '../../../daemon/protect/keys';
import { accuracy, accuracyIntervals, unlinkability, unlinkabilityInterval, wilson, type PairScores } from '../../../daemon/protect/metrics';

describe('protect: metrics', () => {
  it('D↔sys is 0 when mated and non-mated scores have the same distribution', () => {
    const s = new KeyStream(1);
    const a = s.normals(20000), b = s.normals(20000);
    const u = unlinkability(a, b);
    assert.ok(u.dsys < 0.05, `D↔sys ${u.dsys}`);
    const same = unlinkability(Float64Array.from({ length: 1000 }, (_, i) => i % 10), Float64Array.from({ length: 1000 }, (_, i) => i % 10), { bins: 10 });
    assert.equal(same.dsys, 0);
  });

  it('D↔sys → 1 for separated distributions, in between for overlapping ones', () => {
    const s = new KeyStream(2);
    const mated = s.normals(5000).map((x) => x + 10), non = s.normals(5000);
    assert.ok(unlinkability(mated, non).dsys > 0.99);
    const half = unlinkability(s.normals(20000).map((x) => x + 1), s.normals(20000));
    assert.ok(half.dsys > 0.2 && half.dsys < 0.6, `D↔sys ${half.dsys}`);
    // Local measure: 0 where the non-mated density dominates, 1 where only mated scores fall.
    assert.equal(half.dLocal[0], 0);
    assert.equal(unlinkability(mated, non).dLocal[unlinkability(mated, non).bins - 1], 1);
  });

  it('D↔(s) follows 2ωLR/(1+ωLR) − 1 on a two-bin case', () => {
    // Bins [0, 0.5) and [0.5, 1]: mated 1/4 low, 3/4 high; non-mated 3/4 low, 1/4 high → LR 1/3 and 3.
    const mated = [0, 0.9, 0.9, 0.9], non = [0, 0, 0, 1];
    const u = unlinkability(mated, non, { bins: 2 });
    assert.equal(u.dLocal[0], 0);
    assert.ok(Math.abs(u.dLocal[1] - (2 * 3 / 4 - 1)) < 1e-12);
    assert.ok(Math.abs(u.dsys - 0.5 * 0.75) < 1e-12);
    assert.ok(unlinkability(mated, non, { bins: 2, omega: 3 }).dsys > u.dsys);
  });

  it('FNMR at FMR, EER and the DET curve on known scores', () => {
    const impostor = Float64Array.from({ length: 10000 }, (_, i) => i / 10000); // uniform on [0, 1)
    const genuine = Float64Array.from({ length: 1000 }, (_, i) => 0.5 + i / 2000); // uniform on [0.5, 1)
    const a = accuracy(genuine, impostor, [1e-3, 1e-2]);
    // FMR 1e-3 → threshold 0.9989 (10 of 10 000 impostor scores strictly above): nearly every genuine score is ≤ it.
    assert.ok(Math.abs(a.points[0].threshold - 0.9989) < 1e-9);
    assert.ok(a.points[0].measuredFmr <= 1e-3);
    assert.ok(Math.abs(a.points[0].fnmr - 0.998) < 0.002);
    // EER: FMR = 1 − t, FNMR = 2t − 1 → t = 2/3, EER = 1/3.
    assert.ok(Math.abs(a.eer - 1 / 3) < 0.01, `EER ${a.eer}`);
    assert.equal(a.det.fmr.length, a.det.fnmr.length);
    assert.throws(() => accuracy([], impostor, [1e-3]), /no genuine/);
  });

  it('separated genuine and impostor scores: EER 0 and FNMR 0', () => {
    const a = accuracy([0.9, 0.95, 0.8], [0.1, 0.2, 0.3, 0.15], [0.25]);
    assert.equal(a.eer, 0);
    assert.equal(a.points[0].fnmr, 0);
  });

  it("Wilson's interval: known values, contains the rate, stays in [0, 1]", () => {
    // Wilson 1927 / Newcombe 1998 table: 81 of 263 → [0.2553, 0.3662]; 0 of 10 → [0, 0.2775]; 10 of 10 → [0.7225, 1].
    const [lo, hi] = wilson(81, 263);
    assert.ok(Math.abs(lo - 0.2553) < 5e-4 && Math.abs(hi - 0.3662) < 5e-4, `${lo} ${hi}`);
    assert.ok(Math.abs(wilson(0, 10)[1] - 0.2775) < 5e-4 && wilson(0, 10)[0] === 0);
    assert.ok(Math.abs(wilson(10, 10)[0] - 0.7225) < 5e-4 && wilson(10, 10)[1] <= 1);
    assert.ok(Number.isNaN(wilson(0, 0)[0]));
  });

  it('subject bootstrap of EER and FNMR: the interval holds the point estimate and narrows with more subjects', () => {
    const pairsOf = (U: number, seed: number): PairScores => {
      const s = new KeyStream(seed);
      const per = 3, same: number[] = [], sameSubject: number[] = [], diff: number[] = [], diffA: number[] = [], diffB: number[] = [];
      const shift = s.normals(U); // subject effects make pairs of one subject dependent, as photos of a person are
      for (let a = 0; a < U; a++) for (let i = 0; i < per; i++) {
        for (let j = i + 1; j < per; j++) { same.push(2 + 0.5 * shift[a] + s.normals(1)[0]); sameSubject.push(a); }
        for (let b = a + 1; b < U; b++) { diff.push(s.normals(1)[0]); diffA.push(a); diffB.push(b); }
      }
      return { same: Float64Array.from(same), sameSubject: Int32Array.from(sameSubject), diff: Float64Array.from(diff), diffA: Int32Array.from(diffA), diffB: Int32Array.from(diffB), subjects: U };
    };
    const small = pairsOf(40, 3), big = pairsOf(400, 3);
    for (const p of [small, big]) {
      const a = accuracy(p.same, p.diff, [1e-2]);
      const ci = accuracyIntervals(p, [1e-2], 100, 0);
      assert.equal(ci.resamples, 100);
      assert.ok(ci.eer[0] <= a.eer && a.eer <= ci.eer[1], `EER ${a.eer} in [${ci.eer}]`);
      assert.ok(ci.fnmr[0][0] <= a.points[0].fnmr && a.points[0].fnmr <= ci.fnmr[0][1], `FNMR ${a.points[0].fnmr} in [${ci.fnmr[0]}]`);
    }
    const w = (p: PairScores) => { const c = accuracyIntervals(p, [1e-2], 100, 0).eer; return c[1] - c[0]; };
    assert.ok(w(big) < w(small), `width ${w(big)} < ${w(small)}`);
    assert.deepEqual(accuracyIntervals(small, [1e-2], 50, 7), accuracyIntervals(small, [1e-2], 50, 7), 'seeded');
  });

  it('subject bootstrap of D↔sys: centred on the point estimate (θ̂ ± 1.96 SE), narrows with more subjects, ~0 for unlinkable pairs', () => {
    const pairsOf = (U: number, seed: number, gap: number): PairScores => {
      const s = new KeyStream(seed);
      const per = 3, same: number[] = [], sameSubject: number[] = [], diff: number[] = [], diffA: number[] = [], diffB: number[] = [];
      const shift = s.normals(U);
      for (let a = 0; a < U; a++) for (let i = 0; i < per; i++) {
        for (let j = 0; j < per; j++) { same.push(gap + 0.3 * shift[a] + s.normals(1)[0]); sameSubject.push(a); }
        for (let b = a + 1; b < U; b++) { diff.push(s.normals(1)[0]); diffA.push(a); diffB.push(b); }
      }
      return { same: Float64Array.from(same), sameSubject: Int32Array.from(sameSubject), diff: Float64Array.from(diff), diffA: Int32Array.from(diffA), diffB: Int32Array.from(diffB), subjects: U };
    };
    const width = (p: PairScores) => { const u = unlinkability(p.same, p.diff, { bins: 20 }); const c = unlinkabilityInterval(p, u, 100, 0); return c[1] - c[0]; };
    for (const p of [pairsOf(40, 5, 1.5), pairsOf(300, 5, 1.5)]) {
      const u = unlinkability(p.same, p.diff, { bins: 20 });
      const ci = unlinkabilityInterval(p, u, 100, 0);
      assert.ok(ci[0] <= u.dsys && u.dsys <= ci[1], `D↔sys ${u.dsys} in [${ci}]`);
      assert.ok(ci[1] <= 1 && ci[0] >= 0);
      assert.ok(ci[0] > 0.2, `linkable pairs: the interval stays away from 0 ([${ci}])`);
    }
    assert.ok(width(pairsOf(300, 5, 1.5)) < width(pairsOf(40, 5, 1.5)), 'more subjects, narrower interval');
    const flat = pairsOf(300, 6, 0);
    const uf = unlinkability(flat.same, flat.diff, { bins: 20 });
    assert.ok(unlinkabilityInterval(flat, uf, 100, 0)[1] < 0.15, 'same distributions: D↔sys near 0');
    assert.deepEqual(unlinkabilityInterval(flat, uf, 30, 7), unlinkabilityInterval(flat, uf, 30, 7), 'seeded');
  });
});
