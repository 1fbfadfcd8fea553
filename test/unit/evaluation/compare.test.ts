/** `faceinv compare` (daemon/evaluation/compare.ts): one row per run under one protocol, the baselines once, incomparable runs named. */
import * as assert from 'node:assert/strict';
import { compareTable, comparability } from '../../../daemon/evaluation/compare';
import { syntheticReport } from '../webview/fixture';

const ids = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => ({ id: x, identity: x.toUpperCase() }));

describe('evaluation: compare runs', () => {
  it('a row per run, the baselines once, type I with intervals at the strict points', () => {
    const one = syntheticReport('one', ids);
    const two = { ...syntheticReport('two', ids), method: 'white box: something', route: 'whitebox' as const, queriesPerTarget: undefined };
    const t = compareTable([{ name: 'one', report: one, command: 'faceinv run x.json' }, { name: 'two', report: two }], { protocol: 'redetect' });
    const rows = t.split('\n').filter((l) => l.startsWith('| '));
    assert.equal(rows.length, 5, 'header + 2 runs + 2 baselines');
    assert.match(rows[0], /type I @1e-3 \| type I @1e-4 \| type I @1e-5 \| type II per identity @1e-3 \| type II per identity @1e-4 \| type II per pair @1e-3 \| type II per pair @1e-4 \| transfer faceapi-resnet128 type I @1e-3 \| transfer faceapi-resnet128 type I @1e-4/);
    assert.match(rows[1], /\*\*one\*\*: black box.*\(`faceinv run x\.json`\) \| 6 \| 96 \| 5\.3 min \| 66\.7 % \[30\.0–90\.3\]/);
    assert.match(rows[2], /\*\*two\*\*: white box: something \| 6 \| white box \|/);
    assert.match(rows[3], /^\| baseline: nearest training face/);
    assert.deepEqual(comparability([{ name: 'one', report: one }, { name: 'two', report: two }]), []);
  });

  it('names runs scored on other thresholds or other targets', () => {
    const one = syntheticReport('one', ids);
    const other = syntheticReport('other', ids.map((x) => ({ ...x, identity: `${x.identity}2` })));
    other.thresholds[0].points[1].threshold = 0.9;
    const notes = comparability([{ name: 'one', report: one }, { name: 'other', report: other }]);
    assert.ok(notes.some((n) => /other thresholds/.test(n)) && notes.some((n) => /different targets/.test(n)), notes.join('; '));
    assert.throws(() => compareTable([], { protocol: 'direct' }), /no reports/);
  });
});
