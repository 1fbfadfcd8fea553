/**
 * Entry point VS Code's extension host loads for `extensionTestsPath`: runs the mocha suites in this folder
 * inside the real host (code-server), so they can use the `vscode` API. Started by `test/host/run.js`, which
 * names in FACEINV_HOST_COUNTS a file for this run's counts (passed, failed, skipped, the failures' titles):
 * `npm test` totals them with every other suite's.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  const only = process.env.FACEINV_HOST_SUITE; // e.g. "vsix" for the installed-package check
  for (const f of fs.readdirSync(__dirname).sort()) {
    if (!f.endsWith('.test.js')) continue;
    if (only ? !f.startsWith(`${only}.`) : f.startsWith('vsix.')) continue;
    mocha.addFile(path.join(__dirname, f));
  }
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [] as string[] };
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const file = process.env.FACEINV_HOST_COUNTS;
      if (file) fs.writeFileSync(file, JSON.stringify(counts));
      if (failures > 0) reject(new Error(`${failures} host test(s) failed`)); else resolve();
    });
    runner.on('pass', () => { counts.passed++; });
    runner.on('fail', (test) => { counts.failed++; counts.failures.push(test.fullTitle()); });
    runner.on('pending', () => { counts.skipped++; });
  });
}
