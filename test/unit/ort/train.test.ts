/**
 * Black-box training through the engine choice (daemon/decoder/train.ts with training.engine): a run on ONNX
 * Runtime records the engine in the run manifest, is interrupted, and resumes on TF.js from the same
 * checkpoint (the engine is not part of the run's identity), with metrics continuing step by step.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { trainBlackBox } from '../../../daemon/decoder/train';
import type { JobContext } from '../../../daemon/jobs/context';
import { RUN_FILES, RunManifest } from '../../../daemon/protocol/runFolder';
import { readMetrics } from '../../../daemon/runs/runFolder';
import { wasmBackend } from './helpers';
import { lfwAvailable, makeTinyWorkspace, TinyWorkspace } from '../../fixtures/tinyWorkspace';

function ctxFor(dir: string, logs: string[], abortAtStep?: number): JobContext {
  const abort = new AbortController();
  return {
    jobId: 't', signal: abort.signal, workspaceDir: dir,
    progress: (step) => { if (abortAtStep !== undefined && step >= abortAtStep) abort.abort(); },
    log: (level, m) => logs.push(`${level}: ${m}`),
    setRunDir: () => undefined,
  };
}

describe('ort/train: the engine choice in a black-box run', function () {
  this.timeout(600000);
  let ws: TinyWorkspace;
  before(async function () {
    if (!lfwAvailable()) { console.log('    (skipped: ../shared/data/lfw not found)'); this.skip(); }
    await wasmBackend();
    ws = makeTinyWorkspace({ name: 'engines', training: { engine: 'onnxruntime', epochs: 2 } });
  });
  after(() => ws?.cleanup());

  it('trains on ONNX Runtime, records it, and resumes the same run on TF.js', async () => {
    const runDir = path.join(ws.dir, 'runs', 'engines');
    const logs: string[] = [];
    await assert.rejects(trainBlackBox(ws.config, ctxFor(ws.dir, logs, 3), { cacheDir: ws.cacheDir }), /cancelled/);
    const m1 = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.manifest), 'utf8')) as RunManifest;
    assert.equal(m1.engine?.chosen, 'onnxruntime');
    assert.equal(m1.engine?.requested, 'onnxruntime');
    assert.ok(logs.some((l) => /^info: engine: ONNX Runtime \(cpu\)/.test(l)), logs.join('\n'));
    const logs2: string[] = [];
    const out = await trainBlackBox({ ...ws.config, training: { ...ws.config.training, engine: 'tfjs' } }, ctxFor(ws.dir, logs2), { cacheDir: ws.cacheDir });
    const m2 = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.manifest), 'utf8')) as RunManifest;
    assert.equal(m2.engine?.chosen, 'tfjs');
    assert.ok(logs2.some((l) => /resumed from checkpoint at step 3/.test(l)), logs2.join('\n'));
    const train = readMetrics(path.join(runDir, RUN_FILES.metrics)).filter((m) => m.split === 'train');
    assert.deepEqual(train.map((m) => m.step), Array.from({ length: out.steps }, (_, i) => i + 1));
    assert.ok(train.every((m) => Number.isFinite(m.loss)));
    assert.ok(Number.isFinite(out.testLoss) && out.testLoss < 0.5);
  });
});
