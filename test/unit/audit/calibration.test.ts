/**
 * Threshold calibration on a reference set: the blocked two-pass calibration gives exactly the thresholds and
 * impostor support of the evaluation's all-pairs rule (daemon/evaluation/thresholds.ts) on the same
 * embeddings; a reference set too small for an FMR marks that point unattainable; one person or one photo is
 * a clear error; the histograms count every pair; the cache is reused and extended.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cachedCalibration, calibrate } from '../../../daemon/audit/calibration';
import { mulberry32 } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { encoderThresholds } from '../../../daemon/evaluation/thresholds';

/** n photos of `people` people: a random direction per person plus noise, unit norm. */
function synthetic(people: number, per: number, dim: number, seed = 1) {
  const rand = mulberry32(seed);
  const g = () => { let u = 0; while (u === 0) u = rand(); return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand()); };
  const identities: string[] = [], rels: string[] = [];
  const embeddings = new Float32Array(people * per * dim);
  for (let p = 0; p < people; p++) {
    const c = Array.from({ length: dim }, g);
    for (let k = 0; k < per; k++) {
      const i = p * per + k;
      let s = 0;
      for (let d = 0; d < dim; d++) { const v = c[d] + 1.2 * g(); embeddings[i * dim + d] = v; s += v * v; }
      for (let d = 0; d < dim; d++) embeddings[i * dim + d] /= Math.sqrt(s);
      identities.push(`p${p}`); rels.push(`p${p}/${k}.jpg`);
    }
  }
  return { embeddings, dim, identities, rels };
}

describe('audit: threshold calibration', function () {
  this.timeout(60_000);
  // The engine every unit test shares (no backend switch: later tests expect the one initEngine chose).
  before(async () => { await initEngine({ backend: 'wasm' }); });

  it('gives the evaluation\'s thresholds and support exactly, over more rows than one block', async () => {
    const set = synthetic(120, 6, 32);
    const fmrs = [1e-2, 1e-3, 1e-4, 1e-5];
    const c = await calibrate(set, fmrs);
    const ref = encoderThresholds('x', set, [...new Set(set.identities)], fmrs);
    assert.equal(c.impostorPairs, ref.points[0].impostorPairs);
    c.points.forEach((p, k) => {
      assert.ok(Math.abs(p.threshold - ref.points[k].threshold) < 2e-6, `FMR ${p.fmr}: ${p.threshold} vs ${ref.points[k].threshold}`);
      assert.equal(p.impostorsAbove, ref.points[k].impostorsAbove, `support at ${p.fmr}`);
      assert.equal(p.lowSupport, ref.points[k].lowSupport);
    });
    const n = set.identities.length;
    assert.equal(c.genuinePairs + c.impostorPairs, (n * (n - 1)) / 2);
    assert.equal(c.genuine.counts.reduce((a, b) => a + b, 0), c.genuinePairs);
    assert.equal(c.impostor.counts.reduce((a, b) => a + b, 0), c.impostorPairs);
    // 720 photos: 255k impostor pairs — 1e-5 is attainable only with ≥ 100k, and rests on 2 scores.
    assert.deepEqual(c.points.map((p) => p.attainable), [true, true, true, true]);
    assert.equal(c.points[3].lowSupport, true);
  });

  it('a reference set too small for an FMR says so: that point is not attainable', async () => {
    const c = await calibrate(synthetic(10, 4, 16), [1e-2, 1e-3, 1e-5]);
    assert.ok(c.impostorPairs < 1000);
    assert.deepEqual(c.points.map((p) => p.attainable), [true, false, false]);
  });

  it('one person, or a single photo, is a clear error', async () => {
    const one = synthetic(1, 5, 8);
    await assert.rejects(calibrate(one, [1e-3]), /holds one person/);
    await assert.rejects(calibrate({ embeddings: new Float32Array(8), dim: 8, identities: ['a'] }, [1e-3]), /1 embedded photo/);
  });

  it('is cached per encoder, hash and reference, and extended when another FMR is asked for', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-cal-'));
    try {
      const set = synthetic(20, 4, 16);
      const who = { encoderId: 'enc', encoderHash: 'a'.repeat(64), reference: { key: 'ref', description: 'synthetic', images: set.identities.length, identities: 20 } };
      const first = await cachedCalibration(dir, who, set, [1e-2]);
      assert.equal(first.cached, false);
      const again = await cachedCalibration(dir, who, set, [1e-2, 1e-3]);
      assert.equal(again.cached, true, '1e-3 is among the points always computed');
      assert.deepEqual(again.calibration.points.map((p) => p.fmr), [1e-2, 1e-3]);
      const more = await cachedCalibration(dir, who, set, [0.05]);
      assert.equal(more.cached, false);
      const other = await cachedCalibration(dir, { ...who, encoderHash: 'b'.repeat(64) }, set, [1e-2]);
      assert.equal(other.cached, false, 'another encoder hash is another calibration');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
