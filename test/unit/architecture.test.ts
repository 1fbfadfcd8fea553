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
import { ENV_VARIABLES } from '../../daemon/protocol/env';

const DAEMON = path.resolve(__dirname, '..', '..', '..', 'daemon');
const EXTENSION = path.resolve(__dirname, '..', '..', '..', 'extension');

export const LAYERS: string[][] = [
  ['protocol'],
  ['tfjs', 'runs', 'io', 'security', 'config', 'math'],
  ['onnx'],
  ['nets', 'encoders'],
  ['data', 'ort'],
  ['decoder'],
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

describe('architecture: one plan, one inversion', () => {
  /**
   * The entry points of an attack; each reads its config, plans once and inverts through ./invert.ts. An entry
   * point may span files (`faceinv protect` plans in protect/run.ts and inverts in its face step, protect/faces.ts):
   * together they import attack/plan and attack/invert, and none imports the attack below them.
   */
  const ENTRY_POINTS: string[][] = [['attack/orchestrator.ts'], ['audit/run.ts'], ['attack/invertFile.ts'], ['protect/run.ts', 'protect/faces.ts']];
  /** What assembling an attack by hand would import: the searches, the judge, the engine chooser, the detector. */
  const BELOW_THE_PLAN = [/^attack\/search\//, /^attack\/faceCheck$/, /^encoders\/judge$/, /^ort\/engineChoice$/, /^ort\/search$/, /^nets\/latentSearch$/];

  function importsOf(rel: string): string[] {
    const file = path.join(DAEMON, rel);
    return [...fs.readFileSync(file, 'utf8').matchAll(/^import\s+(type\s+)?[^;]*?from\s+'(\.{1,2}\/[^']+)'/gm)]
      .filter((m) => !m[1]) // a type-only import assembles nothing
      .map((m) => path.relative(DAEMON, path.resolve(path.dirname(file), m[2])).split(path.sep).join('/'));
  }

  for (const files of ENTRY_POINTS) {
    const name = files.join(' + ');
    it(`${name} plans with attack/plan and inverts with attack/invert, importing nothing of the attack below them`, () => {
      const imports = files.flatMap(importsOf);
      assert.ok(imports.includes('attack/plan'), `${name} does not import attack/plan`);
      assert.ok(imports.includes('attack/invert'), `${name} does not import attack/invert`);
      for (const rel of files) {
        const below = importsOf(rel).filter((i) => BELOW_THE_PLAN.some((re) => re.test(i)));
        assert.deepEqual(below, [], `${rel} assembles the attack itself: it imports ${below.join(', ')}`);
        const src = fs.readFileSync(path.join(DAEMON, rel), 'utf8');
        for (const call of ['judgeRoute(', 'whiteboxWithRestarts(', 'gradientSearch(', 'querySearch(', 'new QueryOracle(', 'findEncoderConfig(config.encoder']) {
          assert.ok(!src.includes(call), `${rel} calls ${call.replace('(', '')} itself instead of going through the plan and invertTargets`);
        }
      }
    });
  }

  it('whether a decoder fits an encoder is decided in one place (protocol/decoderFit.ts), for the run, invert and the LSP', () => {
    const users = tsFiles(DAEMON).filter((f) => /decoderMisfit\(/.test(fs.readFileSync(f, 'utf8'))).map((f) => path.relative(DAEMON, f).split(path.sep).join('/')).sort();
    assert.deepEqual(users, ['attack/faceModel/decoder.ts', 'lsp/generator.ts', 'protocol/decoderFit.ts']);
    for (const rel of ['attack/orchestrator.ts', 'attack/invertFile.ts']) assert.match(fs.readFileSync(path.join(DAEMON, rel), 'utf8'), /openDecoderFaceModel\(/);
  });
});

describe('architecture: the environment has one door', () => {
  it('FACEINV_* variables are read only in daemon/protocol/env.ts, and each is documented in docs/environment.md', () => {
    const readers: string[] = [];
    for (const file of [...tsFiles(DAEMON), ...tsFiles(EXTENSION)]) {
      const rel = path.relative(path.dirname(DAEMON), file);
      if (rel === path.join('daemon', 'protocol', 'env.ts')) continue;
      const src = fs.readFileSync(file, 'utf8');
      if (/process\.env\.FACEINV_|process\.env\[['"`]FACEINV_/.test(src)) readers.push(rel);
    }
    assert.deepEqual(readers, []);
    const docs = fs.readFileSync(path.join(DAEMON, '..', 'docs', 'environment.md'), 'utf8');
    const missing = Object.keys(ENV_VARIABLES).filter((v) => !docs.includes(v));
    assert.deepEqual(missing, [], 'every variable is documented');
  });
});

describe('architecture: job kinds are typed both ways in the shared layer', () => {
  it('no file outside daemon/protocol casts a job\'s params or result (they are ParamsOf / resultOf a kind of protocol/jobKinds.ts)', () => {
    const casts: string[] = [];
    const ROOT = path.dirname(DAEMON);
    const files = [...tsFiles(path.join(DAEMON, 'cli')), ...tsFiles(path.join(DAEMON, 'jobs')), ...tsFiles(path.join(DAEMON, 'server')), ...tsFiles(EXTENSION), ...tsFiles(path.join(ROOT, 'webview'))];
    for (const file of files) {
      const src = fs.readFileSync(file, 'utf8');
      const rel = path.relative(ROOT, file);
      if (/runJobKind\([^;]*?\)\s+as\s/s.test(src)) casts.push(`${rel}: runJobKind(…) as`);
      if (/\.result\s+as\s/.test(src)) casts.push(`${rel}: .result as`);
      if (/\b(params|p|clean)\s+as\s+(never|unknown|Record|\{)/.test(src)) casts.push(`${rel}: params as`);
      if (/params:\s*Record<string,\s*unknown>/.test(src)) casts.push(`${rel}: untyped params`);
    }
    assert.deepEqual(casts, []);
    const shared = fs.readFileSync(path.join(DAEMON, 'protocol', 'jobKinds.ts'), 'utf8');
    for (const kind of ['probe', 'train', 'evaluate', 'run', 'invert', 'audit']) assert.match(shared, new RegExp(`defineJobKind\\('${kind}'`), `job kind ${kind} is declared in the shared layer`);
  });
});
