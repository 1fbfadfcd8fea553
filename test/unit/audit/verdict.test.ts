/**
 * The reviewer-facing words and pictures: verdict sentences and their reading per operating point, the
 * per-template aggregation (failures count as not accepted; skipped rows leave every denominator; transfer
 * counts only templates the second system has), the histogram grid, the plot layout and its SVG (labels
 * escaped), and the evaluation report's distribution.
 */
import * as assert from 'node:assert/strict';
import { binOf, distributionPlot, distributionSvg, histogramOf } from '../../../daemon/protocol/distribution';
import { evaluationDistribution } from '../../../daemon/evaluation/distribution';
import type { TemplateResult } from '../../../daemon/audit/reportSchema';
import { distributionFor, rowCounts, verdictsFor, type ScorerSummaryInput } from '../../../daemon/audit/summary';
import { evaluationVerdicts, verdictClass, verdictSentence } from '../../../daemon/protocol/verdict';
import { rate } from '../../../daemon/evaluation/stats';

const sc = (c: number | null, failure?: string) => ({ cosine: c, ...(failure ? { failure } : {}) });
const both = (d: number | null, r: number | null) => ({ direct: sc(d), redetect: sc(r, r === null ? 'no-face' : undefined) });

function result(row: number, a: [number | null, number | null], n: [number, number], extra: Partial<TemplateResult> = {}): TemplateResult {
  return { row, id: `t${row}`, attack: both(...a), nearest: { rel: 'P/p.jpg', cosine: 0.3, ...both(...n) }, ...extra };
}

const scorer = (transfer = false, encoderId = 'enc'): ScorerSummaryInput => ({
  encoderId, transfer, pairsFrom: 'synthetic',
  points: [{ fmr: 1e-3, threshold: 0.4, impostorsAbove: 300, attainable: true, lowSupport: false }, { fmr: 1e-5, threshold: 0.6, impostorsAbove: 0, attainable: false, lowSupport: true }],
  genuine: histogramOf('genuine', 'g', [0.7, 0.8]), impostor: histogramOf('impostor', 'i', [0.0, 0.1, 0.2]),
});

describe('audit: verdict, aggregation and plots', () => {
  it('writes the verdict sentence of the issue, and says when a point cannot be measured', () => {
    const p = { fmr: 1e-4, attainable: true, lowSupport: false, attack: rate(136, 300), baseline: rate(120, 300) };
    assert.match(verdictSentence(p), /^136 of 300 templates \(45\.3 %, 95 % CI 39\.8–51\.0 %\) yield a face this system accepts at FMR 1e-4; a lookalike from the reference set does so for 40\.0 % \(95 % CI 34\.6–45\.6 %\)\.$/);
    assert.equal(verdictClass(p), 'like-lookalike');
    assert.equal(verdictClass({ ...p, attack: rate(290, 300) }), 'leaks');
    assert.equal(verdictClass({ ...p, attack: rate(0, 300), baseline: rate(0, 300) }), 'resists');
    assert.match(verdictSentence({ ...p, attainable: false }), /not measurable — the reference set has too few impostor pairs/);
    assert.match(verdictSentence({ ...p, lowSupport: true }), /fewer than 20 impostor scores/);
  });

  it('counts failures as not accepted, leaves skipped rows out, and counts transfer over the templates it has', () => {
    const results: TemplateResult[] = [
      result(0, [0.5, 0.45], [0.3, 0.2], { transfer: [{ attack: both(0.9, 0.9), nearest: both(0.1, 0.1) }] }),
      result(1, [0.5, null], [0.5, 0.5], { transfer: [null] }),
      result(2, [0.2, 0.1], [0.1, 0.1], { failure: 'search stopped early: encoder x failed: HTTP 503', transfer: [{ attack: both(0.1, 0.1), nearest: both(0.1, 0.1) }] }),
      { row: 3, id: 't3', skipped: 'not-finite: value 0 is NaN' },
    ];
    const [red, dir] = verdictsFor(results, scorer(), 0);
    assert.equal(red.protocol, 'redetect');
    assert.equal(red.templates, 3);
    assert.deepEqual([red.points[0].attack.successes, red.points[0].attack.trials], [1, 3], 'the no-face row counts as not accepted');
    assert.deepEqual([red.points[0].baseline.successes, dir.points[0].attack.successes], [1, 2]);
    assert.deepEqual(red.failures, { 'no-face': 1 });
    assert.equal(red.points[1].attainable, false);
    const [tRed] = verdictsFor(results, scorer(true, 'other'), 1);
    assert.equal(tRed.templates, 2, 'row 1 has no template in the second system');
    assert.equal(tRed.points[0].attack.successes, 1);
    assert.match(tRed.points[0].sentence, /other \(a second system\) accepts/);
    const counts = rowCounts(results);
    assert.deepEqual(counts, { audited: 3, skipped: { 'not-finite': 1 }, unnormalised: 0, failed: 1, failures: { 'search stopped early': 1 } });
    const d = distributionFor(results, scorer(), 0);
    assert.deepEqual(d.histograms.map((h) => [h.key, h.total, h.missing]), [
      ['genuine', 2, 0], ['impostor', 3, 0], ['attack/redetect', 2, 1], ['attack/direct', 3, 0], ['nearest-face/redetect', 3, 0], ['nearest-face/direct', 3, 0]]);
    assert.deepEqual(d.thresholds.map((t) => t.fmr), [1e-3], 'only attainable thresholds are drawn');
  });

  it('bins on a fixed grid and lays the plot out inside its area; the SVG escapes labels', () => {
    assert.equal(binOf(-1), 0);
    assert.equal(binOf(0.999), 99);
    assert.equal(binOf(1.2), 99);
    assert.equal(binOf(0.01), 50);
    const h = histogramOf('attack/redetect', 'reconstructions <script>', [0.5, 0.51, null, NaN]);
    assert.deepEqual([h.total, h.missing, h.counts[75]], [2, 2, 2]);
    const dist = { encoderId: 'e&c', pairsFrom: 'x', start: -1, width: 0.02, histograms: [histogramOf('impostor', 'i', [0, 0.02, 0.1]), h], thresholds: [{ fmr: 1e-3, threshold: 0.3, lowSupport: true }] };
    const p = distributionPlot(dist, 400, 200);
    const nums = p.series.flatMap((s) => s.d.match(/-?\d+(\.\d+)?/g)?.map(Number) ?? []);
    assert.ok(nums.length > 0);
    const xs = nums.filter((_, i) => i % 2 === 0), ys = nums.filter((_, i) => i % 2 === 1);
    assert.ok(xs.every((x) => x >= p.area.x - 0.1 && x <= p.area.x + p.area.w + 0.1));
    assert.ok(ys.every((y) => y >= p.area.y - 0.1 && y <= p.area.y + p.area.h + 0.1));
    assert.equal(p.thresholds[0].label, 'FMR 1e-3 †');
    const svg = distributionSvg(p);
    assert.ok(!svg.includes('<script>') && svg.includes('&lt;script&gt;') && svg.includes('e&amp;c'));
  });

  it('an evaluation report gets the same distribution and verdict: real pairs of the test photos, the attack and the baseline', () => {
    const g = { embeddings: Float32Array.from([1, 0, 0.8, 0.6, 0, 1]), dim: 2, identities: ['a', 'a', 'b'], rels: ['a/1', 'a/2', 'b/1'] };
    const thr = { encoderId: 'enc', images: 3, identities: 2, points: [{ fmr: 1e-3, threshold: 0.5, impostorsAbove: 0, impostorPairs: 2, lowSupport: true }] };
    const d = evaluationDistribution(g, ['a', 'b'], thr, new Map([['attack/redetect', [{ cosine: 0.9 }, { cosine: null }]]]));
    assert.deepEqual(d.histograms.map((h) => [h.key, h.total, h.missing]), [['genuine', 1, 0], ['impostor', 2, 0], ['attack/redetect', 1, 1]]);
    const rows = [
      { subject: 'attack', protocol: 'redetect', encoderId: 'enc', typeI: [rate(9, 10)] },
      { subject: 'nearest-face', protocol: 'redetect', encoderId: 'enc', typeI: [rate(2, 10)] },
    ];
    const v = evaluationVerdicts({ attackedEncoderId: 'enc', operatingPoints: [1e-3], thresholds: [thr], rows });
    assert.deepEqual(v.map((p) => [p.attack.successes, p.baseline.successes, p.attainable]), [[9, 2, false]]);
  });
});
