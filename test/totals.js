// The closing lines of `npm test` (test/runAll.js), from what each suite did and the counts its tests
// reported (one JSON line per mocha run in .test-output/summary.jsonl: test/reporter.js for the Node suites,
// test/host/run.js for the mocha runs inside the real VS Code host). Pure, so a unit test checks it.
//
// A suite's tests all count; a suite that failed without reporting a failing test (a crash, a timeout, the
// host runner's own check) counts one failure; one that ran and reported no counts at all counts one failure
// too (its tests would otherwise silently count 0). A suite skipped for a missing tool is named in the total
// with the reason; under CI a skip of a suite that CI is meant to run is a failure.
'use strict';

/**
 * @param {{ name: string, ci: boolean, skipped?: string, ok?: boolean, exit?: number|string|null, seconds?: number }[]} suites
 *   what happened to each suite picked: `skipped` (the reason) or ran (`ok`, `exit`, `seconds`)
 * @param {{ suite?: string, passed: number, failed: number, skipped: number }[]} counts the reported counts
 * @param {{ ci: boolean }} env
 * @returns {{ lines: string[], total: string, ok: boolean }}
 */
function summarise(suites, counts, env) {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const lines = [];
  const skippedSuites = [];
  for (const s of suites) {
    if (s.skipped !== undefined) {
      const fails = env.ci && s.ci;
      if (fails) totals.failed += 1;
      skippedSuites.push(`${s.name} (${s.skipped}${fails ? '; CI must run it' : ''})`);
      lines.push(`${fails ? 'FAIL' : 'skip'} ${s.name.padEnd(11)} skipped: ${s.skipped}${fails ? ' (CI=true: a suite CI is meant to run may not be skipped)' : ''}`);
      continue;
    }
    const mine = counts.filter((c) => c.suite === s.name);
    const c = mine.reduce((a, x) => ({ passed: a.passed + x.passed, failed: a.failed + x.failed, skipped: a.skipped + x.skipped }), { passed: 0, failed: 0, skipped: 0 });
    let note = '';
    if (mine.length === 0) { c.failed += 1; note = ' (reported no test counts)'; } else if (!s.ok && c.failed === 0) { c.failed += 1; note = ` (exit ${s.exit} without a failing test)`; }
    totals.passed += c.passed; totals.failed += c.failed; totals.skipped += c.skipped;
    const ok = s.ok && c.failed === 0;
    lines.push(`${ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(11)} ${(s.seconds ?? 0).toFixed(0)} s, ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped${s.ok ? '' : ` (exit ${s.exit})`}${note}`);
  }
  const tail = skippedSuites.length ? `, ${skippedSuites.length} suite${skippedSuites.length > 1 ? 's' : ''} skipped: ${skippedSuites.join(', ')}` : '';
  return { lines, total: `tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${tail}`, ok: totals.failed === 0 };
}

/** Reads summary.jsonl text: one counts object per line; unparseable lines are ignored. */
function parseCounts(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const c = JSON.parse(line);
      if (c && Number.isInteger(c.passed) && Number.isInteger(c.failed) && Number.isInteger(c.skipped)) out.push(c);
    } catch { /* a torn line */ }
  }
  return out;
}

module.exports = { summarise, parseCounts };
