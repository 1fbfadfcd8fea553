/**
 * Entry point VS Code's extension host loads for `extensionTestsPath`: runs the mocha suites in this folder
 * inside the real host (code-server), so they can use the `vscode` API. Started by `test/host/run.js`.
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
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} host test(s) failed`)) : resolve()));
  });
}
