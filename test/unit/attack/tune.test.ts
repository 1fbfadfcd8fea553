/**
 * `faceinv tune` (daemon/attack/tune/): the validation identities come from the run's training side only
 * (never a test identity, and the run's test identities are the same with or without them); too few of them
 * is an error naming the minimum; the grid ranks by the attacked encoder's cosine (a fake search: no
 * encoder runs here) and keeps grid order on a tie; the tuned config is a valid run config that differs from
 * the input only in its search settings and the `tuned` record.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeIdentitySplit } from '../../../daemon/data/split';
import { validateRunConfig, type TunedRecord } from '../../../daemon/protocol/runConfig';
import { gridCentre, gridPoints, isGridName, type GridPoint } from '../../../daemon/attack/tune/grid';
import { rankGrid, rankTable, tunedRows } from '../../../daemon/attack/tune/rank';
import { tunedConfig } from '../../../daemon/attack/tune/tunedConfig';
import { assertNoTestIdentities, carveValidation, checkValidationSize, MIN_VALIDATION_IDENTITIES } from '../../../daemon/attack/tune/validationCarve';
import { INSTALL_ROOT } from '../../../daemon/io/installation';

const QUICK = path.join(INSTALL_ROOT, 'models', 'experiments', 'quick-attack.json');
const ids = Array.from({ length: 600 }, (_, i) => `Person_${String(i).padStart(4, '0')}`);

describe('attack/tune: choosing the search settings on a validation split', () => {
  it('carves validation identities from the training side only; the run\'s test identities are unchanged', () => {
    for (const seed of [0, 7]) {
      const c = carveValidation(ids, { seed, testFraction: 0.2, validationFraction: 0 });
      const test = new Set(c.test);
      assert.ok(c.validation.length > 0 && c.fit.length > 0);
      assert.deepEqual(c.validation.filter((i) => test.has(i)), [], 'no validation identity is a test identity');
      assert.deepEqual(c.fit.filter((i) => test.has(i)), [], 'no fit identity is a test identity');
      assert.deepEqual(c.validation.filter((i) => c.fit.includes(i)), [], 'validation and fit are disjoint');
      assert.deepEqual(c.test, makeIdentitySplit(ids, { seed, testFraction: 0.2 }).test, 'the same test identities as the run, which has no validation split');
      assert.equal(c.validationFraction, 0.1);
    }
    const c = carveValidation(ids, { seed: 0, testFraction: 0.2, validationFraction: 0 });
    assert.throws(() => assertNoTestIdentities(c, [c.fit[0], c.test[3]], 'the photos the tune reads'), new RegExp(`holds the test identity "${c.test[3]}"`));
  });

  it('refuses too few validation identities, naming the minimum and the count', () => {
    assert.equal(MIN_VALIDATION_IDENTITIES, 20);
    assert.doesNotThrow(() => checkValidationSize(20, 0.1));
    assert.throws(() => checkValidationSize(8, 0.1), /at least 20 validation identities.*this split has 8 \(10 % of its training identities\)/);
    // 100 identities: 80 train, 8 held out for validation.
    const small = carveValidation(ids.slice(0, 100), { seed: 0, testFraction: 0.2, validationFraction: 0 });
    assert.throws(() => checkValidationSize(small.validation.length, small.validationFraction), /at least 20 validation identities.*this split has 8 /);
  });

  it('small grid: the config\'s point first, then one axis at a time; queries-only grids have no surrogate axes', () => {
    const centre = gridCentre({ sigma: 0.1, learningRate: 0.05, surrogate: { encoder: 's', weight: 0.5, warmupSteps: 10, warmupLearningRate: 0.05, fitPhotos: 3000 } } as never, true, { weight: 0.5, warmupSteps: 10 });
    const pts = gridPoints('small', centre, [512]);
    assert.deepEqual(pts[0], { components: 512, sigma: 0.1, learningRate: 0.05, weight: 0.5, warmupSteps: 10 });
    assert.equal(pts.length, 5);
    assert.equal(new Set(pts.map((p) => JSON.stringify(p))).size, pts.length, 'no point twice');
    const q = gridPoints('small', gridCentre({ sigma: 0.1, learningRate: 0.05 } as never, false, { weight: 0.5, warmupSteps: 10 }), [512, 1024]);
    assert.equal(q.length, 8);
    assert.ok(q.every((p) => p.weight === undefined && p.warmupSteps === undefined));
    assert.equal(gridPoints('full', centre, [512]).length, 81);
    assert.ok(isGridName('small') && !isGridName('huge'));
  });

  it('ranks by the attacked encoder\'s mean cosine after the budget, ties kept in grid order', async () => {
    const pts: GridPoint[] = [0.1, 0.05, 0.2, 0.4].map((sigma) => ({ components: 512, sigma, learningRate: 0.05, weight: 0.5, warmupSteps: 10 }));
    // A fake search: the cosine peaks at σ 0.2; σ 0.1 and 0.4 tie (0.1 comes first in the grid).
    const cosOf = (s: number) => 0.8 - Math.abs(Math.log2(s / 0.2)) * 0.05;
    const seen: number[] = [];
    const rows = await rankGrid(pts, async (p, i) => { seen.push(i); return { startCosine: 0.5, meanCosine: cosOf(p.sigma), typeI: [p.sigma > 0.1 ? 1 : 0.5, 0.25], seconds: 1 }; });
    assert.deepEqual(seen, [0, 1, 2, 3], 'every point searched once, in grid order');
    assert.deepEqual(rows.map((r) => r.point.sigma), [0.2, 0.1, 0.4, 0.05]);
    const table = rankTable(rows, [1e-3, 1e-4], 100);
    assert.match(table.split('\n')[2], /^\| 1 \| 512 \| 0.2 \| 0.05 \| 0.5 \| 10 \| 0.500 → \*\*0.800\*\* \| 100.0 \/ 25.0 \|/);
    assert.equal(tunedRows(rows)[0].meanCosine, 0.8);
    await assert.rejects(rankGrid(pts, async () => ({ startCosine: 0, meanCosine: NaN, typeI: [], seconds: 0 })), /scored NaN/);
  });

  it('writes a valid run config that differs from the input only in the search settings and the tuned record', () => {
    const input = JSON.parse(fs.readFileSync(QUICK, 'utf8')) as Record<string, unknown>;
    const record: TunedRecord = {
      by: 'faceinv tune quick-attack.json', date: '2026-12-06T00:00:00.000Z', validationFraction: 0.1, validationIdentities: 458, targets: 64, queries: 100,
      grid: 'small', surrogate: 'faceapi-resnet128 (the config\'s)', fmrs: [1e-3, 1e-4], thresholds: [0.3, 0.4],
      rows: [{ components: 512, sigma: 0.05, learningRate: 0.1, weight: 1, warmupSteps: 0, startCosine: 0.5, meanCosine: 0.7, typeI: [1, 1] }],
    };
    const best: GridPoint = { components: 512, sigma: 0.05, learningRate: 0.1, weight: 1, warmupSteps: 0 };
    const out = tunedConfig(input, best, { encoder: 'faceapi-resnet128' }, record, 'quick-attack.json');
    const { config, problems } = validateRunConfig(JSON.parse(JSON.stringify(out)), 'tuned');
    assert.deepEqual(problems, []);
    assert.equal(config!.search.sigma, 0.05);
    assert.equal(config!.search.surrogate!.warmupSteps, 0);
    const strip = (c: Record<string, unknown>) => { const { search: _s, tuned: _t, ...rest } = c; void _s; void _t; return rest; };
    assert.deepEqual(strip(out), strip(input), 'nothing but search and tuned changes');
    const inS = input.search as Record<string, unknown>, outS = out.search as Record<string, unknown>;
    const changed = Object.keys({ ...inS, ...outS }).filter((k) => JSON.stringify(inS[k]) !== JSON.stringify(outS[k])).sort();
    assert.deepEqual(changed, ['learningRate', 'sigma', 'surrogate']);
    assert.deepEqual(out.tuned, record);
    // Queries only: the surrogate goes; another face-model size changes faceModel.components too.
    const q = tunedConfig(input, { components: 1024, sigma: 0.1, learningRate: 0.05 }, { encoder: null }, record, 'q');
    assert.equal((q.search as Record<string, unknown>).surrogate, undefined);
    assert.equal((q.faceModel as Record<string, unknown>).components, 1024);
    assert.deepEqual(validateRunConfig(JSON.parse(JSON.stringify(q)), 'q').problems, []);
  });
});
