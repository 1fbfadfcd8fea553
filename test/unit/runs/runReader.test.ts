/**
 * Reading run folders for the daemon's run feed (daemon/runs/runReader.ts) and watching them
 * (runWatcher.ts): history order, incremental metrics with a partial last line, bad content reported with
 * the file named, index paths that leave the folder, and the change events (append, new report, rewrite,
 * deletion).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileVersion, listRuns, readFaces, readMetrics, readRun, resolveInside } from '../../../daemon/runs/runReader';
import { RunsListWatcher, RunWatcher, type RunsDelta } from '../../../daemon/runs/runWatcher';
import { appendMetrics, makeRun, manifest, metricsLines, tempDir, writeJson } from '../webview/fixture';

describe('run feed: runReader', function () {
  this.timeout(60_000);
  let root: string;
  beforeEach(() => { root = tempDir('runs'); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('lists run folders newest first, with state, and folders without run.json as unknown', async () => {
    await makeRun(root, 'old', { faces: 0, evaluation: false, manifest: { createdAt: '2026-11-01T00:00:00.000Z' } });
    await makeRun(root, 'new', { faces: 0, evaluation: true, manifest: { createdAt: '2026-11-27T00:00:00.000Z', state: 'running', kind: 'whitebox' } });
    fs.mkdirSync(path.join(root, 'broken'));
    fs.writeFileSync(path.join(root, 'broken', 'run.json'), '{ not json');
    fs.mkdirSync(path.join(root, '.hidden'));
    fs.writeFileSync(path.join(root, 'stray.txt'), 'x');
    const runs = listRuns(root);
    assert.deepEqual(runs.map((r) => r.name), ['broken', 'new', 'old'], 'broken has the folder mtime (now), newest');
    assert.equal(runs[0].state, 'unknown');
    assert.match(runs[0].problem ?? '', /broken.run\.json: not valid JSON/);
    assert.deepEqual([runs[1].state, runs[1].kind, runs[1].hasReport], ['running', 'whitebox', true]);
    assert.equal(runs[2].hasReport, false);
    assert.deepEqual(listRuns(path.join(root, 'missing')), []);
  });

  it('reports a manifest that does not match the layout, naming the file and field', async () => {
    const dir = await makeRun(root, 'r', { faces: 0, evaluation: false });
    writeJson(path.join(dir, 'run.json'), { ...manifest('r'), state: 'exploded' });
    const snap = readRun(dir);
    assert.equal(snap.manifest, null);
    assert.ok(snap.problems.some((p) => p.includes(path.join(dir, 'run.json')) && p.includes('/state')), snap.problems.join('\n'));
  });

  it('reads metrics incrementally, holding back a line without its newline, skipping bad lines', async () => {
    const dir = await makeRun(root, 'r', { faces: 0, evaluation: false, steps: 0 });
    const file = path.join(dir, 'metrics.jsonl');
    appendMetrics(dir, metricsLines(5));
    fs.appendFileSync(file, 'garbage\n{"step":1}\n');
    const half = JSON.stringify(metricsLines(1, 5)[0]);
    fs.appendFileSync(file, half.slice(0, 20));
    const a = readMetrics(dir);
    assert.equal(a.lines.length, 5);
    assert.equal(a.problems.length, 2);
    assert.match(a.problems[0], /metrics\.jsonl:6: not valid JSON/);
    assert.match(a.problems[1], /metrics\.jsonl:7: not a metrics line/);
    fs.appendFileSync(file, half.slice(20) + '\n');
    const b = readMetrics(dir, a.offset, a.lineNumber);
    assert.equal(b.lines.length, 1);
    assert.equal(b.lines[0].step, 5);
    assert.deepEqual(b.problems, []);
    assert.equal(b.offset, fs.statSync(file).size);
    assert.deepEqual(readMetrics(dir, b.offset, b.lineNumber).lines, []);
    assert.deepEqual(readMetrics(path.join(root, 'nope')).lines, []);
  });

  it('keeps reconstruction paths inside the reconstructions folder', async () => {
    const dir = await makeRun(root, 'r', { faces: 2, evaluation: false });
    const base = path.join(dir, 'reconstructions');
    assert.equal(resolveInside(base, '../run.json'), null);
    assert.equal(resolveInside(base, '/etc/passwd'), null);
    assert.equal(resolveInside(base, 'a/b.png'), path.join(base, 'a', 'b.png'));
    const index = JSON.parse(fs.readFileSync(path.join(base, 'index.json'), 'utf8'));
    index.items[0].image = '../../../../etc/passwd';
    index.items[1].original = '../run.json';
    writeJson(path.join(base, 'index.json'), index);
    const faces = readFaces(dir);
    assert.equal(faces.value?.length, 1, 'the item whose image escapes is skipped');
    assert.equal(faces.value?.[0].original, undefined, 'an escaping original is dropped');
    assert.equal(faces.value?.[0].originalVersion, undefined);
    assert.equal(faces.problems.length, 2);
    assert.match(faces.problems[0], /leaves the reconstructions folder/);
  });

  it('reads a whole finished run', async () => {
    const dir = await makeRun(root, 'done', { steps: 30, faces: 3 });
    const snap = readRun(dir);
    assert.equal(snap.manifest?.state, 'finished');
    assert.equal(snap.metrics.length, 33);
    assert.equal(snap.faces.length, 3);
    const base = path.join(dir, 'reconstructions');
    const f = snap.faces[0];
    assert.ok(fs.existsSync(path.join(base, f.image)) && f.original && fs.existsSync(path.join(base, f.original)), 'paths relative to reconstructions/');
    assert.equal(f.imageVersion, fileVersion(path.join(base, f.image)));
    assert.match(f.imageVersion, /^\d+-\d+$/);
    assert.equal(fileVersion(path.join(base, 'missing.png')), '');
    assert.equal(snap.evaluation?.rows.length, 12);
    assert.deepEqual(snap.problems, []);
  });

  it('names a report of an older version, and what it lacks, instead of a layout error', async () => {
    const dir = await makeRun(root, 'old-report', { faces: 0, evaluation: false });
    writeJson(path.join(dir, 'evaluation', 'report.json'), { createdAt: 't', run: 'old-report', attackedEncoderId: 'a', route: 'blackbox', images: 3, scores: [], items: [] });
    const snap = readRun(dir);
    assert.equal(snap.evaluation, null);
    assert.match(snap.evaluationProblem ?? '', /older version of Face Inversion Lab \(missing version, operatingPoints, thresholds, rows\).*faceinv evaluate/);
  });

  describe('RunWatcher', () => {
    it('reports appended metrics, a new report, a changed manifest, then the folder deletion once', async () => {
      const dir = await makeRun(root, 'live', { steps: 10, faces: 0, evaluation: false, manifest: { state: 'running' } });
      const events: string[] = [];
      const w = new RunWatcher(readRun(dir), {
        metrics: (lines) => events.push(`metrics ${lines.length}`),
        manifest: (m) => events.push(`manifest ${m?.state}`),
        evaluation: (r) => events.push(`evaluation ${r?.rows.length}`),
        faces: (f) => events.push(`faces ${f.length}`),
        removed: () => events.push('removed'),
        reset: () => events.push('reset'),
      }, 0);
      w.poll();
      assert.deepEqual(events, [], 'nothing changed since the snapshot');
      appendMetrics(dir, metricsLines(3, 10));
      w.poll();
      assert.deepEqual(events, ['metrics 3']);
      const other = await makeRun(root, 'other', { faces: 2 });
      fs.cpSync(path.join(other, 'evaluation'), path.join(dir, 'evaluation'), { recursive: true });
      fs.cpSync(path.join(other, 'reconstructions'), path.join(dir, 'reconstructions'), { recursive: true });
      writeJson(path.join(dir, 'run.json'), manifest('live', { state: 'finished', updatedAt: '2026-11-27T12:00:00.000Z' }));
      w.poll();
      assert.deepEqual(events.slice(1), ['manifest finished', 'faces 2', 'evaluation 12']);
      fs.rmSync(dir, { recursive: true });
      w.poll();
      w.poll();
      assert.deepEqual(events.slice(4), ['removed']);
      fs.mkdirSync(dir);
      w.poll();
      assert.deepEqual(events.slice(5), ['reset'], 'a recreated folder asks for a full re-read');
      w.dispose();
    });

    it('a report.json or run.json caught half-written is read again, not shown as broken; one broken for long is reported', async () => {
      const dir = await makeRun(root, 'w', { steps: 5, faces: 2, evaluation: false, manifest: { state: 'running' } });
      const events: string[] = [];
      const w = new RunWatcher(readRun(dir), {
        manifest: (m, p) => events.push(`manifest ${m?.state ?? p}`),
        evaluation: (r, p) => events.push(`evaluation ${r ? r.rows.length : p}`),
      }, 0);
      const other = await makeRun(root, 'o', { faces: 2 });
      const report = fs.readFileSync(path.join(other, 'evaluation', 'report.json'), 'utf8');
      const runJson = JSON.stringify(manifest('w', { state: 'finished', stopReason: 'budget of 5 min reached' }));
      fs.mkdirSync(path.join(dir, 'evaluation'));
      fs.writeFileSync(path.join(dir, 'evaluation', 'report.json'), report.slice(0, report.length / 2));
      fs.writeFileSync(path.join(dir, 'run.json'), runJson.slice(0, 40));
      w.poll();
      assert.deepEqual(events, [], 'half-written files are not pushed');
      fs.writeFileSync(path.join(dir, 'evaluation', 'report.json'), report);
      fs.writeFileSync(path.join(dir, 'run.json'), runJson);
      w.poll();
      assert.deepEqual(events, ['manifest finished', 'evaluation 12']);
      // Broken and old: that is a real problem, named.
      const file = path.join(dir, 'evaluation', 'report.json');
      fs.writeFileSync(file, '{"createdAt": ');
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(file, old, old);
      w.poll();
      assert.equal(events.length, 3);
      assert.match(events[2], /^evaluation .*report\.json: not valid JSON/);
      w.dispose();
    });

    it('asks for a full re-read when metrics.jsonl is rewritten shorter', async () => {
      const dir = await makeRun(root, 'r', { steps: 50, faces: 0, evaluation: false });
      const events: string[] = [];
      const w = new RunWatcher(readRun(dir), { metrics: () => events.push('metrics'), reset: () => events.push('reset') }, 0);
      fs.writeFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify(metricsLines(1)[0]) + '\n');
      w.poll();
      assert.deepEqual(events, ['reset']);
      w.dispose();
    });

    it('polls on its own timer', async () => {
      const dir = await makeRun(root, 'r', { steps: 5, faces: 0, evaluation: false });
      let got = 0;
      const w = new RunWatcher(readRun(dir), { metrics: (l) => { got += l.length; } }, 20);
      appendMetrics(dir, metricsLines(2, 5));
      const t0 = Date.now();
      while (got === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
      w.dispose();
      assert.equal(got, 2);
    });
  });

  it('RunsListWatcher reports what changed (rows added or changed, names removed) only when something did', async () => {
    await makeRun(root, 'a', { faces: 0, evaluation: false });
    const deltas: RunsDelta[] = [];
    const lists: string[][] = [];
    const w = new RunsListWatcher(root, listRuns(root), (d, runs) => { deltas.push(d); lists.push(runs.map((r) => r.name)); }, 0);
    w.poll();
    assert.equal(deltas.length, 0);
    await makeRun(root, 'b', { faces: 0, evaluation: false, manifest: { createdAt: '2026-11-28T00:00:00.000Z' } });
    w.poll();
    assert.deepEqual(lists, [['b', 'a']]);
    assert.deepEqual([deltas[0].changed.map((r) => r.name), deltas[0].removed], [['b'], []]);
    writeJson(path.join(root, 'b', 'run.json'), manifest('b', { createdAt: '2026-11-28T00:00:00.000Z', state: 'failed' }));
    w.poll();
    assert.deepEqual([deltas[1].changed.map((r) => [r.name, r.state]), deltas[1].removed], [[['b', 'failed']], []]);
    fs.rmSync(path.join(root, 'a'), { recursive: true });
    w.poll();
    assert.deepEqual([deltas[2].changed, deltas[2].removed], [[], ['a']]);
    assert.deepEqual(lists[2], ['b']);
    w.dispose();
  });
});
