/**
 * The attack orchestrator (daemon/attack/orchestrator.ts) end to end on a tiny LFW subset: a PCA face model
 * with a ridge start and a zeroth-order (or secant) query search writes reconstructions within the budget and evaluates;
 * a rerun evaluates without attacking again; the white box runs through the imported encoder; a decoder
 * borrowed from a run whose split trained on this run's targets is refused; an old run folder without its
 * split is named.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAttack } from '../../../daemon/attack/orchestrator';
import { assertRunConfig, configIdentity, RunConfig } from '../../../daemon/protocol/runConfig';
import { makeIdentitySplit } from '../../../daemon/data/split';
import { INSTALL_ROOT } from '../../../daemon/io/installation';
import { checkConfigText } from '../../../daemon/lsp/checks';
import { tf } from '../../../daemon/tfjs/tf';
import { RUN_FILES, type ReconstructionIndex } from '../../../daemon/protocol/runFolder';
import { quietContext } from '../../fixtures/evaluatedRun';
import { useTinyWorkspace } from '../../fixtures/tinyWorkspace';

describe('attack orchestrator (tiny LFW subset)', function () {
  this.timeout(600_000);
  const tiny = useTinyWorkspace({ identities: 10 });

  const config = (over: Record<string, unknown>): RunConfig => assertRunConfig({ ...JSON.parse(JSON.stringify(tiny.ws.config)), ...over }, 'test');

  it('black box: PCA face model, ridge start, zeroth-order search within its budget, then the evaluation', async () => {
    const c = config({ name: 'query', faceModel: { kind: 'pca', components: 8 }, start: 'ridge', search: { method: 'zeroth-order', queries: 11 } });
    const before = tf.memory().numTensors;
    const out = await runAttack(c, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir });
    assert.equal(out.decision.route, 'blackbox');
    const index = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.reconstructionIndex), 'utf8')) as ReconstructionIndex;
    assert.deepEqual(index.frame, { template: 'arcface-5pt', size: 112 });
    assert.ok(index.items.length > 0 && index.items.every((it) => it.queries !== undefined && it.queries <= 11 && it.queries >= 6), 'queries per target within the budget');
    assert.ok(fs.existsSync(path.join(out.runDir, 'facemodel', 'pca.json')), 'the face model is kept in the run folder');
    const r = out.report;
    assert.ok(r);
    assert.ok(r.queriesPerTarget !== undefined && r.queriesPerTarget <= 11);
    assert.ok(r.optimiserMeanCosine !== undefined);
    assert.match(r.method, /PCA face model, 8 components.*ridge-regression start; zeroth-order search, 11 queries per target/);
    const manifest = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.manifest), 'utf8'));
    assert.equal(manifest.state, 'finished');
    assert.equal(manifest.route.reason, 'black box requested');
    assert.equal(tf.memory().numTensors, before, 'no tensors left');

    // A rerun of the finished run evaluates it again without a new search.
    const mtime = fs.statSync(path.join(out.runDir, RUN_FILES.reconstructionIndex)).mtimeMs;
    const again = await runAttack(c, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir });
    assert.equal(fs.statSync(path.join(again.runDir, RUN_FILES.reconstructionIndex)).mtimeMs, mtime);
    assert.equal(again.report?.probes, r.probes);
  });

  it('black box with the secant search: its forward model\'s own queries are recorded apart from the targets\' budgets', async () => {
    const c = config({ name: 'secant', faceModel: { kind: 'pca', components: 8 }, start: 'ridge', search: { method: 'secant', queries: 11 } });
    const before = tf.memory().numTensors;
    const out = await runAttack(c, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir });
    const index = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.reconstructionIndex), 'utf8')) as ReconstructionIndex;
    assert.ok(index.items.length > 0 && index.items.every((it) => it.queries !== undefined && it.queries <= 11 && it.queries >= 10), 'one query a step, within the budget');
    assert.match(out.report!.method, /secant search, 11 queries per target/);
    const manifest = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.manifest), 'utf8'));
    assert.equal(manifest.searchForwardModel.queries, 64, '8 own queries per component, none of any target');
    assert.ok(manifest.searchForwardModel.explained <= 1);
    assert.equal(tf.memory().numTensors, before, 'no tensors left');
  });

  it('under a wall-clock budget the evaluation encoders\' galleries are embedded during setup, before the search, then evaluated within the budget', async () => {
    const c = config({ name: 'budgeted', minutes: 20, faceModel: { kind: 'pca', components: 8 }, start: 'ridge', search: { method: 'zeroth-order', queries: 6 } });
    const events: string[] = [];
    const ctx = { ...quietContext(tiny.ws.dir), log: (_l: string, m: string) => events.push(`log ${m}`), progress: (_s: number, _t: number, _m: unknown, phase?: string) => { if (phase) events.push(`phase ${phase}`); } };
    fs.rmSync(path.join(tiny.ws.cacheDir, 'emb', 'faceapi-resnet128'), { recursive: true, force: true }); // as on a first run
    const out = await runAttack(c, ctx as never, { cacheDir: tiny.ws.cacheDir });
    const forecast = events.findIndex((e) => /first run on this machine: \d+ photos are not embedded yet \(.*\d+ of the held-out photos under faceapi-resnet128\).*the search then gets what is left/.test(e));
    const gallery = events.findIndex((e) => /embedding the held-out photos with faceapi-resnet128 \(the evaluation's gallery\)/.test(e));
    assert.ok(forecast >= 0 && forecast < gallery, `said first: ${events.slice(0, 5).join(' | ')}`);
    const search = events.findIndex((e) => /query search/.test(e));
    assert.ok(gallery >= 0, `no gallery step in: ${events.slice(0, 30).join(' | ')}`);
    assert.ok(search > gallery, 'the gallery is embedded before the search');
    assert.ok(out.report?.rows.some((r) => r.encoderId === 'faceapi-resnet128'));
    // With every cache filled, a second budgeted run has nothing to forecast.
    events.length = 0;
    await runAttack({ ...c, name: 'budgeted-again' }, ctx as never, { cacheDir: tiny.ws.cacheDir });
    assert.ok(!events.some((e) => /first run on this machine/.test(e)), events.filter((e) => /first run/.test(e)).join(' | '));
  });

  it('white box: gradient steps through the imported encoder from the ridge start', async () => {
    const c = config({ name: 'white', route: 'whitebox', faceModel: { kind: 'pca', components: 8 }, start: 'ridge', whitebox: { steps: 3, batchSize: 16, learningRate: 0.05, restarts: 2 } });
    const logs: string[] = [];
    const out = await runAttack(c, { ...quietContext(tiny.ws.dir), log: (_l, m) => logs.push(m) }, { cacheDir: tiny.ws.cacheDir, evaluate: false });
    assert.equal(out.decision.route, 'whitebox');
    assert.ok(logs.some((l) => /using the PCA face model built for this split before/.test(l)), 'the face model of the earlier run with this split is reused');
    const st = fs.statSync(path.join(out.runDir, 'facemodel', 'pca.bin'));
    assert.ok(st.size > 0 && st.nlink >= 2, `pca.bin is hard-linked from the shared cache (links: ${st.nlink})`);
    const index = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.reconstructionIndex), 'utf8')) as ReconstructionIndex;
    assert.ok(index.items.every((it) => typeof it.cosine === 'number' && it.queries === undefined));
    const metrics = fs.readFileSync(path.join(out.runDir, RUN_FILES.metrics), 'utf8').trim().split('\n');
    assert.ok(metrics.length >= 6, 'one metrics line per step of each restart');
    const manifest = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.manifest), 'utf8'));
    assert.match(manifest.method, /3 gradient steps through arcface512-faceplugin × 2 restarts, answers the face detector finds/);
    assert.equal(manifest.engine.chosen, 'onnxruntime', 'the white box runs on ONNX Runtime for an ONNX encoder');
  });

  it('refuses a decoder trained on this run\'s held-out identities, and an old decoder run without a split', async () => {
    const gen = config({ name: 'gen', training: { ...tiny.ws.config.training, epochs: 1 } });
    await runAttack(gen, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir, evaluate: false });
    // Another split seed puts some of the decoder's training identities on this run's test side.
    const borrow = config({ name: 'borrow', split: { seed: 7, testFraction: 0.34 }, faceModel: { kind: 'decoder', run: 'runs/gen' }, start: 'decoder' });
    await assert.rejects(runAttack(borrow, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir, evaluate: false }),
      /the decoder of .*runs\/gen was trained on \d+ of this run's held-out identities/);
    // The same split is fine.
    const same = config({ name: 'same', faceModel: { kind: 'decoder', run: 'runs/gen' }, start: 'decoder' });
    const ok = await runAttack(same, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir, evaluate: false });
    assert.ok(fs.existsSync(path.join(ok.runDir, RUN_FILES.reconstructionIndex)));
    fs.rmSync(path.join(tiny.ws.dir, 'runs', 'gen', RUN_FILES.split));
    const again = config({ name: 'same2', faceModel: { kind: 'decoder', run: 'runs/gen' }, start: 'decoder' });
    await assert.rejects(runAttack(again, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir, evaluate: false }), /runs\/gen has no split\.json \(a run from an older version\)/);
  });

  it('a workspace encoder config: checked clean by the language server, then attacked and evaluated by the daemon; a shadowing copy is noted', async () => {
    const shipped = JSON.parse(fs.readFileSync(path.join(INSTALL_ROOT, 'models', 'encoders', 'arcface512-faceplugin.json'), 'utf8'));
    delete shipped.$schema;
    fs.writeFileSync(path.join(tiny.ws.dir, 'mine.faceinv-encoder.json'), JSON.stringify({ ...shipped, id: 'my-arcface' }));
    fs.mkdirSync(path.join(tiny.ws.dir, 'models', 'encoders'), { recursive: true });
    fs.writeFileSync(path.join(tiny.ws.dir, 'models', 'encoders', 'arcface512-faceplugin.json'), JSON.stringify({ ...shipped, description: 'a workspace copy' }));
    const runFile = path.join(tiny.ws.dir, 'mine.faceinv-run.json');
    const text = JSON.stringify({ name: 'mine', encoder: 'my-arcface', dataset: { path: 'data/tiny' }, split: { testFraction: 0.34 }, faceModel: { kind: 'pca', components: 8 }, start: 'ridge', evaluation: { encoders: [], maxImages: 6 } });
    fs.writeFileSync(runFile, text);
    const diags = await checkConfigText(runFile, text, { repoRoot: INSTALL_ROOT, workspaceDirs: [tiny.ws.dir] });
    assert.deepEqual(diags.filter((d) => d.severity === 'error'), [], 'the language server knows the workspace encoder');
    const out = await runAttack(assertRunConfig(JSON.parse(text), runFile), quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir });
    assert.equal(out.report?.attackedEncoderId, 'my-arcface');
    assert.ok((out.report?.probes ?? 0) > 0);
    const manifest = JSON.parse(fs.readFileSync(path.join(out.runDir, RUN_FILES.manifest), 'utf8'));
    assert.equal(manifest.encoderConfig.file, path.join(tiny.ws.dir, 'mine.faceinv-encoder.json'));
    const shadow = config({ name: 'shadow', faceModel: { kind: 'pca', components: 8 }, start: 'ridge' });
    const logs: string[] = [];
    const s = await runAttack(shadow, { ...quietContext(tiny.ws.dir), log: (_l, m) => logs.push(m) }, { cacheDir: tiny.ws.cacheDir, evaluate: false });
    const m2 = JSON.parse(fs.readFileSync(path.join(s.runDir, RUN_FILES.manifest), 'utf8'));
    assert.equal(m2.encoderConfig.shadows, path.join(INSTALL_ROOT, 'models', 'encoders', 'arcface512-faceplugin.json'));
    assert.ok(logs.some((l) => /replaces the shipped/.test(l)), logs.join('\n'));
    fs.rmSync(path.join(tiny.ws.dir, 'models'), { recursive: true });
  });

  it('refuses a stored split that does not match the config', async () => {
    const c = config({ name: 'splitcheck', faceModel: { kind: 'pca', components: 8 }, start: 'ridge' });
    const dir = path.join(tiny.ws.dir, 'runs', 'splitcheck');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, RUN_FILES.config), JSON.stringify(configIdentity(c)));
    const ids = fs.readdirSync(path.join(tiny.ws.dir, 'data', 'tiny')).sort();
    fs.writeFileSync(path.join(dir, RUN_FILES.split), JSON.stringify(makeIdentitySplit(ids, { seed: 3, testFraction: 0.34 })));
    await assert.rejects(runAttack(c, quietContext(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir, evaluate: false }),
      /split\.json was made with seed 3, testFraction 0\.34, validationFraction 0, but the config asks for 0, 0\.34, 0/);
  });
});
