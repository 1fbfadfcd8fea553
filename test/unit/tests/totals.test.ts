/**
 * `npm test`'s closing line (test/totals.js, used by test/runAll.js): every suite's tests count, the real-host
 * suites' too; a suite that failed without a failing test or reported nothing counts a failure; a suite
 * skipped for a missing tool is named in the total with why, and under CI a skip of a suite CI must run fails.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Totals {
  summarise(suites: { name: string; ci: boolean; skipped?: string; ok?: boolean; exit?: number | string | null; seconds?: number }[],
    counts: { suite?: string; passed: number; failed: number; skipped: number }[], env: { ci: boolean }): { lines: string[]; total: string; ok: boolean };
  parseCounts(text: string): { suite?: string; passed: number; failed: number; skipped: number }[];
}
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const totals = require(path.join(ROOT, 'test', 'totals.js')) as Totals;

describe('test runner totals (test/totals.js)', () => {
  const unit = { suite: 'unit', passed: 300, failed: 0, skipped: 2 };

  it('counts the host suites\' tests (each mocha run inside code-server, and run.js\'s own check)', () => {
    const counts = totals.parseCounts([
      JSON.stringify(unit),
      JSON.stringify({ suite: 'host', part: 'dev', passed: 15, failed: 0, skipped: 0 }),
      JSON.stringify({ suite: 'host', part: 'vsix', passed: 2, failed: 0, skipped: 0 }),
      '{"torn', '',
    ].join('\n'));
    assert.equal(counts.length, 3);
    const r = totals.summarise([{ name: 'unit', ci: true, ok: true, exit: 0, seconds: 300 }, { name: 'host', ci: true, ok: true, exit: 0, seconds: 200 }], counts, { ci: false });
    assert.equal(r.total, 'tests: 317 passed, 0 failed, 2 skipped');
    assert.ok(r.ok);
    assert.match(r.lines[1], /^ok {3}host {8}200 s, 17 passed, 0 failed, 0 skipped$/);
  });

  it('a suite that failed without a failing test, or reported no counts, counts one failure each', () => {
    const r = totals.summarise([
      { name: 'unit', ci: true, ok: false, exit: 1 },
      { name: 'robustness', ci: true, ok: false, exit: 'SIGKILL' },
      { name: 'browser', ci: true, ok: true, exit: 0 },
    ], [{ ...unit, failed: 3 }, { suite: 'robustness', passed: 4, failed: 0, skipped: 0 }], { ci: false });
    assert.equal(r.total, 'tests: 304 passed, 5 failed, 2 skipped', 'unit 3, robustness crashed 1, browser reported nothing 1');
    assert.equal(r.ok, false);
    assert.match(r.lines[1], /exit SIGKILL without a failing test/);
    assert.match(r.lines[2], /^FAIL browser .*reported no test counts/);
  });

  it('names a suite skipped for a missing tool in the total; under CI that skip is a failure', () => {
    const suites = [{ name: 'unit', ci: true, ok: true, exit: 0 }, { name: 'browser', ci: true, skipped: 'no /usr/bin/chromium' }];
    const local = totals.summarise(suites, [unit], { ci: false });
    assert.equal(local.total, 'tests: 300 passed, 0 failed, 2 skipped, 1 suite skipped: browser (no /usr/bin/chromium)');
    assert.ok(local.ok);
    const ci = totals.summarise(suites, [unit], { ci: true });
    assert.equal(ci.total, 'tests: 300 passed, 1 failed, 2 skipped, 1 suite skipped: browser (no /usr/bin/chromium; CI must run it)');
    assert.equal(ci.ok, false);
    assert.match(ci.lines[1], /^FAIL browser .*CI=true/);
    const optional = totals.summarise([{ name: 'gpu', ci: false, skipped: 'no GPU' }], [], { ci: true });
    assert.equal(optional.ok, true, 'a suite CI is not meant to run may be skipped there');
    const two = totals.summarise([{ name: 'browser', ci: true, skipped: 'no /usr/bin/chromium' }, { name: 'host', ci: true, skipped: 'no /usr/bin/chromium' }], [], { ci: false });
    assert.match(two.total, /, 2 suites skipped: browser \(no \/usr\/bin\/chromium\), host \(no \/usr\/bin\/chromium\)$/);
  });

  it('runAll.js skips the browser suite without Chromium, says so in the total, and fails for it under CI=true', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-runall-'));
    try {
      const run = (ci: string) => spawnSync(process.execPath, [path.join(ROOT, 'test', 'runAll.js'), 'browser'], {
        cwd: ROOT, encoding: 'utf8',
        env: { ...process.env, CHROMIUM: path.join(tmp, 'no-chromium'), CI: ci, FACEINV_RUNALL_SUMMARY: path.join(tmp, 'summary.jsonl') },
      });
      const local = run('');
      assert.equal(local.status, 0, local.stdout + local.stderr);
      assert.match(local.stdout, new RegExp(`tests: 0 passed, 0 failed, 0 skipped, 1 suite skipped: browser \\(no ${path.join(tmp, 'no-chromium').replace(/[.]/g, '\\.')}\\)\\n`));
      const ci = run('true');
      assert.equal(ci.status, 1);
      assert.match(ci.stdout, /tests: 0 passed, 1 failed, 0 skipped, 1 suite skipped: browser \(no .*no-chromium; CI must run it\)/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('runAll.js runs the unit tests a process per folder, and names the folder and test a crash ended in, with Node\'s reason', function () {
    this.timeout(120_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-runall-'));
    try {
      const unit = path.join(tmp, 'unit');
      fs.mkdirSync(path.join(unit, 'fine'), { recursive: true });
      fs.mkdirSync(path.join(unit, 'dies'), { recursive: true });
      fs.writeFileSync(path.join(unit, 'fine', 'a.test.js'), "describe('fine', () => { it('passes', () => {}); });\n");
      // A heap that cannot hold what the test keeps: V8's fatal out-of-memory, an abort (exit 134), as a native crash would.
      fs.writeFileSync(path.join(unit, 'dies', 'b.test.js'), "describe('dies', () => { it('first passes', () => {}); it('runs out of heap', () => { const keep = []; for (;;) keep.push(new Array(1e5).fill(keep.length)); }); });\n");
      const r = spawnSync(process.execPath, [path.join(ROOT, 'test', 'runAll.js'), 'unit'], {
        cwd: ROOT, encoding: 'utf8',
        env: { ...process.env, CI: '', FACEINV_RUNALL_UNIT_DIR: unit, FACEINV_RUNALL_SUMMARY: path.join(tmp, 'summary.jsonl'), NODE_OPTIONS: '--max-old-space-size=24' },
      });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /FAIL unit .* 1 passed, 1 failed, 0 skipped \(exit 134\)/, r.stdout);
      const tail = r.stdout.slice(r.stdout.lastIndexOf('tests: '));
      assert.match(tail, /crash: unit\/dies ended \(exit 134\) without its counts, in test: b\.test\.js: dies runs out of heap/);
      assert.match(tail, /fatal-reports\/.*\.json: .*(heap|Allocation)/i);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
