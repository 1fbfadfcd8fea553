/** package.json's extension manifest agrees with the code: commands, activation, schemas, main. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
interface Manifest {
  main: string;
  activationEvents: string[];
  engines: { vscode: string };
  contributes: { commands: { command: string; title: string; category: string }[]; jsonValidation: { fileMatch: string; url: string }[] };
}
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;

describe('extension: manifest', () => {
  it('contributes exactly the commands the extension registers, in category Face Inversion', () => {
    // Loaded through the compiled module list, not vscode: commands.ts imports vscode, so read its ids from the source.
    const src = fs.readFileSync(path.join(ROOT, 'extension', 'commands.ts'), 'utf8');
    const block = src.slice(src.indexOf('export const COMMANDS'));
    const registered = [...block.matchAll(/'(faceInversion\.[A-Za-z]+)'/g)].map((m) => m[1]).sort();
    assert.deepEqual(pkg.contributes.commands.map((c) => c.command).sort(), registered);
    for (const c of pkg.contributes.commands) assert.equal(c.category, 'Face Inversion', c.command);
    for (const want of ['startDaemon', 'stopDaemon', 'restartDaemon', 'connectDaemon', 'runConfig', 'trainModel', 'invertEmbeddings', 'evaluateAttack', 'openDashboard', 'cancelJob', 'newEncoderConfig', 'newRunConfig', 'newProtectConfig']) {
      assert.ok(registered.includes(`faceInversion.${want}`), want);
    }
  });
  it('activates on config files, never on *', () => {
    assert.ok(!pkg.activationEvents.includes('*'));
    assert.ok(pkg.activationEvents.includes('workspaceContains:**/*.faceinv-encoder.json'));
    assert.ok(pkg.activationEvents.includes('workspaceContains:**/*.faceinv-run.json'));
  });
  it('binds both schemas to user and shipped config names, and the files exist', () => {
    const byMatch = new Map(pkg.contributes.jsonValidation.map((j) => [j.fileMatch, j.url]));
    assert.equal(byMatch.get('*.faceinv-encoder.json'), './models/schemas/encoder.schema.json');
    assert.equal(byMatch.get('**/models/encoders/*.json'), './models/schemas/encoder.schema.json');
    assert.equal(byMatch.get('*.faceinv-run.json'), './models/schemas/run.schema.json');
    assert.equal(byMatch.get('**/models/experiments/*.json'), './models/schemas/run.schema.json');
    assert.ok(fs.existsSync(path.join(ROOT, 'models', 'schemas', 'encoder.schema.json')));
  });
  it('main points at the compiled entry and engines pin VS Code 1.100', () => {
    assert.equal(pkg.main, './out/extension/extension.js');
    assert.ok(fs.existsSync(path.join(ROOT, pkg.main)), `${pkg.main} is built`);
    assert.equal(pkg.engines.vscode, '^1.100.0');
  });
});

/** Every installed package that declares an install-time lifecycle script (npm's allowScripts scope). */
function packagesWithInstallScripts(dir: string, out = new Set<string>()): Set<string> {
  let names: string[];
  try { names = fs.readdirSync(dir); } catch { return out; }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) { packagesWithInstallScripts(path.join(dir, name), out); continue; }
    const pkgDir = path.join(dir, name);
    try {
      const p = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { name?: string; scripts?: Record<string, string> };
      if (p.name && ['preinstall', 'install', 'postinstall'].some((s) => p.scripts?.[s])) out.add(p.name);
    } catch { /* not a package */ }
    packagesWithInstallScripts(path.join(pkgDir, 'node_modules'), out);
  }
  return out;
}

describe('npm install configuration', () => {
  it('.npmrc holds no key npm does not know (npm warns "Unknown project config" on every command)', () => {
    const file = path.join(ROOT, '.npmrc');
    const keys = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith(';')).map((l) => l.split('=')[0].trim()) : [];
    assert.ok(!keys.includes('onnxruntime-node-install'), 'onnxruntime-node-install is not an npm setting');
  });
  it('allowScripts denies onnxruntime-node (its CUDA download) and covers every installed install script', () => {
    const allow = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    assert.equal(allow['onnxruntime-node'], false);
    const uncovered = [...packagesWithInstallScripts(path.join(ROOT, 'node_modules'))].filter((n) => !(n in allow)).sort();
    assert.deepEqual(uncovered, [], 'npm warns "install scripts not yet covered by allowScripts" for these');
  });
});
