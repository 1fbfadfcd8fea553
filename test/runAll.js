#!/usr/bin/env node
// `npm test` after the build: every suite in turn (unit, robustness, browser, real VS Code host), all run even
// when one fails; ends with one total line "tests: N passed, N failed, N skipped" (plus the suites skipped
// for a missing tool, with why) and a non-zero exit on any failure. Every suite's tests count, the host
// suites' mocha runs inside code-server too (test/host/run.js reports them); see test/totals.js. Under
// CI=true (.ci/run) a suite CI is meant to run may not be skipped. Suites can be picked:
// `node test/runAll.js unit browser`.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseCounts, summarise } = require('./totals');

const ROOT = path.resolve(__dirname, '..');
const CHROMIUM = process.env.CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CODE_SERVER = path.join(ROOT, '.cache', 'code-server', 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js');

/** Why a tool is missing, or undefined when it is there. */
function missing(file, what) {
  return fs.existsSync(file) ? undefined : `no ${what ?? file}`;
}

/**
 * Each suite: its command; `prepare`, run first (installs what it can); `needs`, the reason it cannot run
 * (a tool missing) or undefined; `ci`, whether CI (.ci/run, which installs every tool) must run it.
 */
const SUITES = {
  unit: { run: ['npx', ['mocha']], ci: true },
  robustness: { run: ['npx', ['mocha', '--no-config', '--reporter', './test/reporter.js', '--timeout', '600000', 'out/test/robustness/*.test.js']], ci: true },
  browser: {
    run: ['npx', ['mocha', '--no-config', '--reporter', './test/reporter.js', '--timeout', '180000', 'out/test/browser/*.test.js']],
    needs: () => missing(CHROMIUM),
    ci: true,
  },
  host: {
    prepare: ['bash', ['test/host/setup-code-server.sh']],
    run: ['node', ['test/host/run.js']],
    needs: () => missing(CHROMIUM) ?? missing(CODE_SERVER, `code-server (${path.relative(ROOT, CODE_SERVER)}; test/host/setup-code-server.sh installs it)`),
    ci: true,
  },
};

const picked = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(SUITES);
// Where the suites' counts are collected (a test of this runner points it elsewhere).
const summary = process.env.FACEINV_RUNALL_SUMMARY || path.join(ROOT, '.test-output', 'summary.jsonl');
fs.mkdirSync(path.dirname(summary), { recursive: true });
fs.rmSync(summary, { force: true });
const ci = process.env.CI === 'true';

const results = [];
for (const name of picked) {
  const suite = SUITES[name];
  if (!suite) { console.error(`unknown suite "${name}" (known: ${Object.keys(SUITES).join(', ')})`); process.exit(2); }
  const t0 = Date.now();
  console.log(`\n===== ${name} =====`);
  const env = { ...process.env, FACEINV_TEST_SUMMARY: summary, FACEINV_TEST_SUITE: name };
  let prepared = '';
  if (suite.prepare) {
    const p = spawnSync(suite.prepare[0], suite.prepare[1], { cwd: ROOT, stdio: 'inherit', env });
    if (p.status !== 0) prepared = `; ${suite.prepare[1].join(' ')} failed (exit ${p.status ?? p.signal})`;
  }
  const lacking = suite.needs?.();
  if (lacking) {
    console.log(`${name}: skipped, ${lacking}${prepared}`);
    results.push({ name, ci: suite.ci, skipped: `${lacking}${prepared}` });
    continue;
  }
  const r = spawnSync(suite.run[0], suite.run[1], { cwd: ROOT, stdio: 'inherit', env });
  results.push({ name, ci: suite.ci, ok: r.status === 0, seconds: (Date.now() - t0) / 1000, exit: r.status ?? r.signal });
}
const counts = fs.existsSync(summary) ? parseCounts(fs.readFileSync(summary, 'utf8')) : [];
const { lines, total, ok } = summarise(results, counts, { ci });
console.log('\n===== summary =====');
for (const l of lines) console.log(l);
console.log(total);
process.exit(ok ? 0 : 1);
