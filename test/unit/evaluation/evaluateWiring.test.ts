/**
 * The evaluation's wiring on a tiny LFW run (daemon/evaluation/evaluate.ts): when every "reconstruction" is
 * its source's own aligned crop, the attacked encoder under `direct` must accept all of them at every
 * operating point; the nearest-face baseline is exactly the best training template's cosine; thresholds
 * keep at most FMR · pairs impostor scores above them; failures and bad files are named.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAttack } from '../../../daemon/attack/orchestrator';
import { assertRunConfig } from '../../../daemon/protocol/runConfig';
import { openImageDataset, subsetByIdentity } from '../../../daemon/data/dataset';
import { getEmbeddings } from '../../../daemon/data/embeddingCache';
import { parseSplit } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { evaluateRun } from '../../../daemon/evaluation/evaluate';
import { findRow } from '../../../daemon/protocol/report';
import { RUN_FILES, type ReconstructionIndex } from '../../../daemon/protocol/runFolder';
import { quietContext } from '../../fixtures/evaluatedRun';
import { lfwAvailable, makeTinyWorkspace, TinyWorkspace } from '../../fixtures/tinyWorkspace';

describe('evaluation wiring (tiny LFW subset)', function () {
  this.timeout(600_000);
  let ws: TinyWorkspace;
  let runDir: string;
  before(async function () {
    if (!lfwAvailable()) { console.log('    (skipped: ../shared/data/lfw not found)'); this.skip(); }
    await initEngine({ backend: 'wasm' });
    ws = makeTinyWorkspace({ identities: 10, name: 'wiring' });
    const c = assertRunConfig({ ...JSON.parse(JSON.stringify(ws.config)), faceModel: { kind: 'pca', components: 8 }, start: 'ridge' }, 'test');
    runDir = (await runAttack(c, quietContext(ws.dir), { cacheDir: ws.cacheDir, evaluate: false })).runDir;
  });
  after(() => ws?.cleanup());

  it('a perfect reconstruction (the source crop itself) passes type I at every point under direct', async () => {
    const recDir = path.join(runDir, RUN_FILES.reconstructions);
    const index = JSON.parse(fs.readFileSync(path.join(recDir, 'index.json'), 'utf8')) as ReconstructionIndex;
    for (const it of index.items) fs.copyFileSync(path.join(recDir, it.original as string), path.join(recDir, it.image));
    const r = await evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir });
    const direct = findRow(r, 'attack', 'direct', 'arcface512-faceplugin');
    assert.ok(direct);
    for (const t of direct.typeI) assert.equal(t.successes, r.probes, 'every copy is accepted');
    assert.ok((direct.meanCosine ?? 0) > 0.9999, `mean cosine ${direct.meanCosine}`);
    for (const it of r.items) assert.ok((it.attack.direct.cosine ?? 0) > 0.9999);
    // Type II of a copy equals the genuine pairs of the real photos, so it cannot exceed 100 % nor fall below 0.
    assert.equal(direct.typeII.pairs, direct.typeII.perPair[0].trials);

    // The nearest-face baseline's direct cosine by the attacked encoder is the best training template's cosine.
    const split = parseSplit(fs.readFileSync(path.join(runDir, RUN_FILES.split), 'utf8'));
    const ds = openImageDataset(path.join(ws.dir, 'data', 'tiny'));
    const train = await getEmbeddings(subsetByIdentity(ds, split.train), 'arcface512-faceplugin', { cacheDir: ws.cacheDir });
    const test = await getEmbeddings(subsetByIdentity(ds, split.test), 'arcface512-faceplugin', { cacheDir: ws.cacheDir });
    for (const it of r.items) {
      const t = test.rels.indexOf(it.source);
      let best = -2;
      let rel = '';
      for (let j = 0; j < train.rels.length; j++) {
        let s = 0;
        for (let k = 0; k < 512; k++) s += test.embeddings[t * 512 + k] * train.embeddings[j * 512 + k];
        if (s > best) { best = s; rel = train.rels[j]; }
      }
      assert.equal(it.nearestFace.rel, rel);
      assert.ok(Math.abs((it.nearestFace.direct.cosine as number) - best) < 1e-4, `${it.nearestFace.direct.cosine} vs ${best}`);
      assert.notEqual(rel.split('/')[0], it.identity, 'the baseline is always another person');
    }
    for (const t of r.thresholds) {
      for (const p of t.points) assert.ok(p.impostorsAbove <= Math.floor(p.fmr * p.impostorPairs), `${t.encoderId} @${p.fmr}: ${p.impostorsAbove} above`);
    }
    // Pixel similarity: a copy is the original; the images that reconstruct nothing are not.
    assert.ok(Math.abs((r.imageQuality.ssim as number) - 1) < 1e-9, `ssim ${r.imageQuality.ssim}`);
    const refs = r.imageQuality.references ?? [];
    assert.deepEqual(refs.map((x) => x.subject), ['mean-face', 'nearest-face', 'same-person']);
    for (const x of refs.slice(0, 2)) assert.ok(x.compared === r.probes && (x.ssim as number) < 0.99, `${x.subject}: ${x.ssim} over ${x.compared}`);
    const multi = r.items.filter((it) => test.rels.filter((rel) => rel.split('/')[0] === it.identity).length > 1).length;
    assert.equal(refs[2].compared, multi, 'another photo exactly for the targets whose identity has one');
    const transfer = findRow(r, 'attack', 'direct', 'faceapi-resnet128');
    assert.ok(transfer && (transfer.meanCosine ?? 0) > 0.8, `a copy warped into dlib's chip by the mean geometry stays close: ${transfer?.meanCosine}`);
  });

  it('under a deadline it cannot keep, the independent protocol is not scored and the report says why; without one it is, from the detection cache', async () => {
    fs.rmSync(path.join(ws.cacheDir, 'detections'), { recursive: true, force: true }); // what earlier tests detected
    const late = await evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir, deadline: Date.now() });
    assert.ok(!late.rows.some((r) => r.protocol === 'independent'));
    const info = late.protocols?.find((p) => p.protocol === 'independent');
    assert.match(info?.notScored ?? '', /the run's time budget: \d+ of its \d+ images are not in the detection cache.*faceinv evaluate/);
    assert.ok(late.rows.some((r) => r.protocol === 'redetect'), 'the other protocols are scored');
    // The probes it timed are kept: the cache file exists and later evaluations reuse it.
    assert.ok(fs.existsSync(path.join(ws.cacheDir, 'detections')));
    const full = await evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir });
    assert.ok(full.rows.some((r) => r.protocol === 'independent'));
    assert.equal(full.protocols?.find((p) => p.protocol === 'independent')?.notScored, undefined);
    const roomy = await evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir, deadline: Date.now() + 600_000 });
    assert.deepEqual(roomy.rows.filter((r) => r.protocol === 'independent').map((r) => r.typeI), full.rows.filter((r) => r.protocol === 'independent').map((r) => r.typeI), 'cached detections give the same rows');
  });

  it('the content caches change nothing: an evaluation from empty caches and one from full caches give the same rows', async () => {
    for (const d of ['detections', 'crop-emb']) fs.rmSync(path.join(ws.cacheDir, d), { recursive: true, force: true });
    const cold = await evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir });
    assert.ok(fs.existsSync(path.join(ws.cacheDir, 'crop-emb')), 'the baselines\' and real crops\' templates were kept');
    const warm = await evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir });
    const figures = (r: typeof cold) => r.rows.map((x) => ({ at: `${x.subject}/${x.protocol}/${x.encoderId}`, typeI: x.typeI.map((t) => t.rate), typeII: x.typeII.perPair.map((t) => t.rate), mean: x.meanCosine }));
    assert.deepEqual(figures(warm), figures(cold));
  });

  it('names a missing or corrupt reconstruction or split file and overwrites nothing', async () => {
    const recDir = path.join(runDir, RUN_FILES.reconstructions);
    const index = JSON.parse(fs.readFileSync(path.join(recDir, 'index.json'), 'utf8')) as ReconstructionIndex;
    const report = fs.readFileSync(path.join(runDir, RUN_FILES.evaluationReport));
    const img = path.join(recDir, index.items[0].image);
    const saved = fs.readFileSync(img);
    fs.writeFileSync(img, 'not a png');
    await assert.rejects(evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir }), new RegExp(`reconstruction .*${index.items[0].image} cannot be read`));
    fs.writeFileSync(img, saved);
    fs.writeFileSync(path.join(recDir, 'index.json'), '{"items": 3}');
    await assert.rejects(evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir }), /index\.json is not a reconstruction index/);
    fs.writeFileSync(path.join(recDir, 'index.json'), JSON.stringify(index));
    const split = fs.readFileSync(path.join(runDir, RUN_FILES.split));
    fs.rmSync(path.join(runDir, RUN_FILES.split));
    await assert.rejects(evaluateRun(runDir, quietContext(ws.dir), { cacheDir: ws.cacheDir }), /split\.json is missing \(a run from an older version/);
    fs.writeFileSync(path.join(runDir, RUN_FILES.split), split);
    assert.deepEqual(fs.readFileSync(path.join(runDir, RUN_FILES.evaluationReport)), report, 'the previous report is untouched');
  });
});
