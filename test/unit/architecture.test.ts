/**
 * The daemon's folders form layers, each importing only from folders below it (or itself), so a change low
 * down never needs code above it: the shared protocol at the bottom; then the engine, run folders, I/O,
 * security, config and small dense linear algebra (math); the ONNX importer; networks and encoders; the data
 * pipeline and the ONNX Runtime training/search engine; decoder training; the evaluation; the attacks; jobs
 * and the language server; the daemon's server; the CLI and the benches.
 * (The extension and webview may import only daemon/protocol: `tsc -b` enforces that through project references.)
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

const DAEMON = path.resolve(__dirname, '..', '..', '..', 'daemon');
const EXTENSION = path.resolve(__dirname, '..', '..', '..', 'extension');

export const LAYERS: string[][] = [
  ['protocol'],
  ['engine', 'runs', 'io', 'security', 'config', 'math'],
  ['onnx'],
  ['nets', 'encoders'],
  ['data', 'ort'],
  ['blackbox'],
  ['evaluation'],
  ['attack', 'audit', 'protect'],
  ['jobs', 'lsp'],
  ['server'],
  ['cli', 'bench'],
];

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

describe('architecture: import layers of daemon/', () => {
  it('every folder imports only from its own or lower layers', () => {
    const layerOf = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));
    const folders = fs.readdirSync(DAEMON, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    const unplaced = folders.filter((f) => !layerOf.has(f));
    assert.deepEqual(unplaced, [], 'every daemon folder has a layer (add new ones to LAYERS)');
    const upward: string[] = [];
    for (const file of tsFiles(DAEMON)) {
      const from = path.relative(DAEMON, file).split(path.sep)[0];
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = path.relative(DAEMON, path.resolve(path.dirname(file), m[1])).split(path.sep)[0];
        if (target === from || target.startsWith('..') || !layerOf.has(target)) continue;
        if ((layerOf.get(target) as number) > (layerOf.get(from) as number)) upward.push(`${path.relative(DAEMON, file)} imports ${m[1]} (${from} → ${target})`);
      }
    }
    assert.deepEqual(upward, [], `imports that run upwards:\n${upward.join('\n')}`);
  });
});

describe('architecture: the dashboard is fed by the daemon', () => {
  it('no extension file reads run folders or polls them (the daemon\'s run feed sends them, local or remote)', () => {
    const readers: string[] = [];
    for (const file of tsFiles(path.join(EXTENSION, 'dashboard'))) {
      const src = fs.readFileSync(file, 'utf8');
      const rel = path.relative(EXTENSION, file);
      if (/\bRUN_FILES\b|protocol\/runFolder'/.test(src)) readers.push(`${rel} uses the run-folder layout`);
      if (/\bset(Interval|Timeout)\(/.test(src)) readers.push(`${rel} runs a timer (polling)`);
      if (/\b(readFileSync|readdirSync|statSync|createReadStream|watch)\(/.test(src)) readers.push(`${rel} reads the disk`);
    }
    assert.deepEqual(readers, []);
    assert.ok(!fs.existsSync(path.join(EXTENSION, 'dashboard', 'runReader.ts')) && !fs.existsSync(path.join(EXTENSION, 'dashboard', 'runWatcher.ts')));
  });
});
