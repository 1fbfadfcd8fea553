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
const MOCHA_UNIT = ['mocha', '--no-config', '--reporter', './test/reporter.js', '--timeout', '120000'];
/**
 * The unit tests, one mocha process per top-level folder of out/test/unit (and one for its loose files):
 * TF.js's wasm heap and ONNX Runtime's arenas only grow within a process, so 700 tests in one process carry
 * every earlier test's memory; and a native crash then costs one folder's counts, named, not the suite's.
 */
function unitGroups() {
  // A test of this runner points it at a folder of its own.
  const dir = process.env.FACEINV_RUNALL_UNIT_DIR || path.join(ROOT, 'out', 'test', 'unit');
  const rel = path.relative(ROOT, dir) || '.';
  if (!fs.existsSync(dir)) return [{ label: 'unit', args: [...MOCHA_UNIT, `${rel}/**/*.test.js`] }];
  const entries = fs.readdirSync(dir, { withFileTypes: true });
  const groups = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()
    .map((d) => ({ label: `unit/${d}`, args: [...MOCHA_UNIT, `${rel}/${d}/**/*.test.js`] }));
  if (entries.some((e) => e.isFile() && e.name.endsWith('.test.js'))) groups.unshift({ label: 'unit/*.test.js', args: [...MOCHA_UNIT, `${rel}/*.test.js`] });
  return groups;
}

const SUITES = {
  unit: { run: ['npx', ['mocha']], groups: unitGroups, ci: true },
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
/** One line per mocha process that exited without reporting its counts (a crash): where, in which test, why. */
const crashes = [];
const progressFile = path.join(path.dirname(summary), 'progress.txt');
const reportDir = path.join(path.dirname(summary), 'fatal-reports');

/**
 * Runs one command with the reporter's progress file and Node's fatal-error report switched on; when it ends
 * without adding counts to the summary, the test it was in and the report's reason are kept for the end.
 */
function runWatched(one, env) {
  const countsBefore = fs.existsSync(summary) ? fs.readFileSync(summary, 'utf8') : '';
  fs.rmSync(progressFile, { force: true });
  fs.mkdirSync(reportDir, { recursive: true }); // Node writes no report into a folder that is not there
  const reportsBefore = new Set(fs.existsSync(reportDir) ? fs.readdirSync(reportDir) : []);
  const nodeOptions = [process.env.NODE_OPTIONS, '--report-on-fatalerror', `--report-directory=${reportDir}`].filter(Boolean).join(' ');
  const r = spawnSync(one.cmd[0], one.cmd[1], { cwd: ROOT, stdio: 'inherit', env: { ...env, FACEINV_TEST_PROGRESS: progressFile, NODE_OPTIONS: nodeOptions } });
  const countsAfter = fs.existsSync(summary) ? fs.readFileSync(summary, 'utf8') : '';
  if (r.status !== 0 && countsAfter === countsBefore) {
    const last = fs.existsSync(progressFile) ? fs.readFileSync(progressFile, 'utf8').trim() : '(none started)';
    const reports = fs.existsSync(reportDir) ? fs.readdirSync(reportDir).filter((f) => !reportsBefore.has(f)) : [];
    crashes.push(`crash: ${one.label} ended (exit ${r.status ?? r.signal}) without its counts, in test: ${last}` +
      reports.map((f) => `\n  ${describeReport(path.join(reportDir, f))}`).join(''));
  }
  return r;
}

/** The few lines of a Node diagnostic report (--report-on-fatalerror) that say why the process died. */
function describeReport(file) {
  try {
    const rep = JSON.parse(fs.readFileSync(file, 'utf8'));
    const js = rep.javascriptStack ?? {};
    const native = (rep.nativeStack ?? []).slice(0, 8).map((f) => f.symbol).join(' < ');
    return `${path.relative(ROOT, file)}: ${rep.header?.event ?? '?'} (${rep.header?.trigger ?? '?'}); JS: ${js.message ?? ''} ${(js.stack ?? []).slice(0, 4).join(' ')}; native: ${native}`;
  } catch (err) {
    return `${path.relative(ROOT, file)}: unreadable (${err.message})`;
  }
}

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
  const runs = suite.groups ? suite.groups().map((g) => ({ label: g.label, cmd: ['npx', g.args] })) : [{ label: name, cmd: suite.run }];
  let ok = true;
  let exit = 0;
  for (const one of runs) {
    const r = runWatched(one, env);
    if (r.status !== 0) { ok = false; exit = r.status ?? r.signal; }
  }
  results.push({ name, ci: suite.ci, ok, seconds: (Date.now() - t0) / 1000, exit });
}
const counts = fs.existsSync(summary) ? parseCounts(fs.readFileSync(summary, 'utf8')) : [];
const { lines, total, ok } = summarise(results, counts, { ci });
console.log('\n===== summary =====');
for (const l of lines) console.log(l);
console.log(total);
// Last, so they are in the tail a CI log keeps: which process died, in which test, and Node's fatal-error report.
for (const c of crashes) console.log(c);
process.exit(ok ? 0 : 1);
