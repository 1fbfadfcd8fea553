import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateRunConfig } from '../../../daemon/protocol/runConfig';
import { claimRunFolder, ensureWritableDir, MetricsWriter, readMetrics, truncateMetrics, writeJsonAtomic } from '../../../daemon/runs/runFolder';

describe('run folders', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-')); });
  afterEach(() => { fs.chmodSync(dir, 0o700); fs.rmSync(dir, { recursive: true, force: true }); });

  it('claims a new folder, resumes the same config, refuses a different one unless overwriting', () => {
    const run = path.join(dir, 'r');
    assert.equal(claimRunFolder(run, { a: 1, b: [1, 2] }, false), 'new');
    assert.equal(claimRunFolder(run, { b: [1, 2], a: 1 }, false), 'resume');
    assert.throws(() => claimRunFolder(run, { a: 2 }, false), /already holds a different config.*--overwrite/);
    fs.writeFileSync(path.join(run, 'old.txt'), 'x');
    assert.equal(claimRunFolder(run, { a: 2 }, true), 'new');
    assert.ok(!fs.existsSync(path.join(run, 'old.txt')));
  });

  it('skips a torn last metrics line and truncates after a resume point', () => {
    const f = path.join(dir, 'metrics.jsonl');
    const w = new MetricsWriter(f);
    for (let s = 1; s <= 5; s++) w.append({ time: '', step: s, split: 'train', loss: 1 / s });
    w.close();
    fs.appendFileSync(f, '{"step": 6, "los');
    assert.deepEqual(readMetrics(f).map((m) => m.step), [1, 2, 3, 4, 5]);
    truncateMetrics(f, 3);
    assert.deepEqual(readMetrics(f).map((m) => m.step), [1, 2, 3]);
  });

  it('reports a read-only run folder clearly', function () {
    if (process.getuid && process.getuid() === 0) {
      // root ignores permission bits; use a path under a file instead (ENOTDIR), which is as unwritable.
      const file = path.join(dir, 'file');
      fs.writeFileSync(file, 'x');
      assert.throws(() => ensureWritableDir(path.join(file, 'run')), /run folder .* is not writable/);
      return;
    }
    fs.chmodSync(dir, 0o500);
    assert.throws(() => ensureWritableDir(path.join(dir, 'run')), /not writable: permission denied/);
  });

  it('writes JSON atomically (no temp files left)', () => {
    writeJsonAtomic(path.join(dir, 'x.json'), { ok: true });
    assert.deepEqual(fs.readdirSync(dir), ['x.json']);
  });
});

describe('run config validation', () => {
  it('fills defaults (the seed\'s group 3) and accepts a minimal config', () => {
    const { config, problems } = validateRunConfig({ name: 'r1', encoder: 'arcface512-faceplugin' }, 'x.json');
    assert.deepEqual(problems, []);
    assert.equal(config?.decoder.loss, 'l1');
    assert.equal(config?.decoder.noiseVariance, 0.001);
    assert.equal(config?.decoder.residualLayers, 1);
    assert.equal(config?.target, 'average-face');
  });

  it('names the place and the expectation of each problem', () => {
    const { problems } = validateRunConfig({ name: 'bad name!', encoder: 'e', decoder: { outputSize: 96 }, extra: 1 }, 'x.json');
    const text = problems.map((p) => `${p.where} ${p.reason}`).join('\n');
    assert.match(text, /x\.json#/);
    assert.ok(problems.length >= 2, text);
    assert.equal(validateRunConfig([], 'y.json').problems[0].where, 'y.json#/');
  });

  it('ignores __proto__ keys instead of polluting prototypes', () => {
    const value = JSON.parse('{"name":"r","encoder":"e","__proto__":{"polluted":1}}');
    validateRunConfig(value, 'p.json');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
