#!/usr/bin/env node
// `npm test` after the build: every suite in turn (unit, robustness, browser, real VS Code host), all run even
// when one fails; ends with one total line "tests: N passed, N failed, N skipped" and a non-zero exit on any
// failure. Suites can be picked: `node test/runAll.js unit browser`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SUITES = {
  unit: ['npx', ['mocha']],
  robustness: ['npx', ['mocha', '--no-config', '--reporter', './test/reporter.js', '--timeout', '600000', 'out/test/robustness/*.test.js']],
  browser: ['npx', ['mocha', '--no-config', '--reporter', './test/reporter.js', '--timeout', '180000', 'out/test/browser/*.test.js']],
  host: ['bash', ['-c', 'bash test/host/setup-code-server.sh && node test/host/run.js']],
};
const picked = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SUITES);
const summary = path.join(ROOT, '.test-output', 'summary.jsonl');
fs.mkdirSync(path.dirname(summary), { recursive: true });
fs.rmSync(summary, { force: true });

const results = [];
for (const name of picked) {
  const suite = SUITES[name];
  if (!suite) { console.error(`unknown suite "${name}" (known: ${Object.keys(SUITES).join(', ')})`); process.exit(2); }
  const t0 = Date.now();
  console.log(`\n===== ${name} =====`);
  const r = spawnSync(suite[0], suite[1], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, FACEINV_TEST_SUMMARY: summary } });
  results.push({ name, ok: r.status === 0, seconds: (Date.now() - t0) / 1000, status: r.status ?? r.signal });
}
const totals = { passed: 0, failed: 0, skipped: 0 };
if (fs.existsSync(summary)) {
  for (const line of fs.readFileSync(summary, 'utf8').split('\n').filter(Boolean)) {
    const c = JSON.parse(line);
    totals.passed += c.passed; totals.failed += c.failed; totals.skipped += c.skipped;
  }
}
// A suite that failed without reporting a mocha failure (a crash, the host runner) still counts as one.
for (const r of results) if (!r.ok && totals.failed === 0) totals.failed += 1;
console.log('\n===== summary =====');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(11)} ${r.seconds.toFixed(0)} s${r.ok ? '' : ` (exit ${r.status})`}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
