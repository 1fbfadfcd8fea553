/**
 * Decoder training with its training options end to end on a tiny LFW subset: a run with the 112-px frame,
 * the linear base, SSIM and an identity term through faceapi-resnet128 trains on ONNX Runtime, records the
 * surrogate (run.json and model/meta.json), follows its cosine learning-rate schedule and reports the loss
 * terms per step; an identity term against the attacked template through a fitted head trains and is recorded; a surrogate that is the attacked encoder is refused before any data is built; a
 * non-finite identity weight passed past the schema is refused too.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { trainBlackBox } from '../../../daemon/decoder/train';
import type { DecoderModelMeta } from '../../../daemon/decoder/train';
import { tf } from '../../../daemon/tfjs/tf';
import type { JobContext } from '../../../daemon/jobs/context';
import type { RunConfig } from '../../../daemon/protocol/runConfig';
import { RUN_FILES } from '../../../daemon/protocol/runFolder';
import { readManifest, readMetrics } from '../../../daemon/runs/runFolder';
import { useTinyWorkspace } from '../../fixtures/tinyWorkspace';

function ctxOf(dir: string, logs: string[] = []): JobContext {
  return { jobId: 't', signal: new AbortController().signal, workspaceDir: dir, progress: () => undefined, log: (_l, m) => { logs.push(m); }, setRunDir: () => undefined };
}

/** Trains `config` in the tiny workspace; returns what the run wrote: manifest, model meta, train metrics, logs. */
async function trainAndRead(dir: string, cacheDir: string, config: RunConfig) {
  const before = tf.memory().numTensors;
  const logs: string[] = [];
  const out = await trainBlackBox(config, ctxOf(dir, logs), { cacheDir });
  assert.equal(tf.memory().numTensors, before, 'no tensors left');
  const runDir = path.join(dir, 'runs', config.name);
  return {
    out, logs, manifest: readManifest(runDir)!,
    meta: JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.model, 'meta.json'), 'utf8')) as DecoderModelMeta,
    train: readMetrics(path.join(runDir, RUN_FILES.metrics)).filter((l) => l.split === 'train'),
  };
}

describe('black-box decoder training with its training options (tiny LFW subset)', function () {
  this.timeout(600_000);
  const tiny = useTinyWorkspace({ name: 'options', training: { epochs: 2, checkpointEvery: 100, evalEvery: 100, lrSchedule: 'cosine' } });

  it('trains with every option, records the surrogate and follows the schedule', async () => {
    const config = {
      ...tiny.ws.config, target: 'image' as const,
      decoder: { ...tiny.ws.config.decoder, outputSize: 112 as const, baseChannels: 32, linearBase: true, ssimWeight: 0.5, identity: { surrogate: 'faceapi-resnet128', weight: 0.2, target: 'photo' as const } },
    };
    const { out, logs, manifest: m, meta, train } = await trainAndRead(tiny.ws.dir, tiny.ws.cacheDir, config);
    assert.ok(out.steps >= 2);
    assert.equal(m.engine?.chosen, 'onnxruntime');
    assert.equal(m.surrogate?.encoderId, 'faceapi-resnet128');
    assert.match(m.surrogate?.modelHash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(m.surrogate?.weight, 0.2);
    assert.equal(m.surrogate?.target, 'photo');
    assert.equal(m.surrogate?.engine, 'onnxruntime');
    assert.equal(meta.surrogate?.encoderId, 'faceapi-resnet128');
    assert.equal(meta.outputSize, 112);
    assert.ok(logs.some((l) => /identity term: weight 0.2 through the surrogate faceapi-resnet128 \(not the attacked arcface512-faceplugin\)/.test(l)));
    assert.ok(logs.some((l) => /^linear base: ridge regression/.test(l)));
    assert.equal(train[0].lr, config.training.learningRate, 'the cosine starts at the learning rate');
    for (let i = 1; i < train.length; i++) assert.ok(train[i].lr! <= train[i - 1].lr!, 'and decays');
    assert.ok(train.every((l) => l.terms && l.terms.identity > 0 && l.terms.identity < 2 && l.terms.ssim > 0));
  });

  it('matches the attacked template through a fitted head (identity.target "template") and records it', async () => {
    const config = {
      ...tiny.ws.config, name: 'template', target: 'image' as const,
      decoder: { ...tiny.ws.config.decoder, outputSize: 112 as const, baseChannels: 32, identity: { surrogate: 'faceapi-resnet128', weight: 0.2, target: 'template' as const } },
    };
    const { out, logs, manifest: m, meta, train } = await trainAndRead(tiny.ws.dir, tiny.ws.cacheDir, config);
    assert.ok(out.steps >= 2);
    assert.equal(m.surrogate?.encoderId, 'faceapi-resnet128');
    assert.equal(m.surrogate?.target, 'template');
    assert.equal(meta.surrogate?.target, 'template');
    assert.ok(logs.some((l) => /identity term against the attacked templates: a linear head 128→512 from faceapi-resnet128's embeddings, fitted on \d+ training pairs/.test(l)), logs.join('\n'));
    assert.ok(train.length > 0 && train.every((l) => l.terms && Number.isFinite(l.terms.identity) && l.terms.identity > 0 && l.terms.identity < 2), 'the identity term is 1 − cos against the attacked template');
  });

  it('refuses the attacked encoder and a surrogate the engine cannot differentiate before building any data, and a negative or non-finite weight', async () => {
    const attacked = { ...tiny.ws.config, name: 'self', decoder: { ...tiny.ws.config.decoder, identity: { surrogate: 'arcface512-faceplugin', weight: 0.1, target: 'photo' as const } } };
    await assert.rejects(trainBlackBox(attacked, ctxOf(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir }), /"arcface512-faceplugin" is the attacked encoder: a black-box attack has no gradients of the encoder it attacks; surrogates that can be used: .*faceapi-resnet128/);
    assert.ok(!fs.existsSync(path.join(tiny.ws.dir, 'runs', 'self')), 'no run folder, split or data made');
    const stiff = { ...tiny.ws.config, name: 'stiff', decoder: { ...tiny.ws.config.decoder, identity: { surrogate: 'human-faceres', weight: 0.1, target: 'photo' as const } } };
    await assert.rejects(trainBlackBox(stiff, ctxOf(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir }), /"human-faceres" cannot be differentiated by the engine: .*surrogates that can be used: .*faceapi-resnet128/);
    assert.ok(!fs.existsSync(path.join(tiny.ws.dir, 'runs', 'stiff')), 'no run folder for a surrogate the engine cannot differentiate');
    for (const weight of [Infinity, -1, NaN]) {
      const bad = { ...tiny.ws.config, name: 'badweight', decoder: { ...tiny.ws.config.decoder, identity: { surrogate: 'faceapi-resnet128', weight, target: 'photo' as const } } };
      await assert.rejects(trainBlackBox(bad, ctxOf(tiny.ws.dir), { cacheDir: tiny.ws.cacheDir, overwrite: true }), /decoder.identity.weight must be a finite number ≥ 0, got (Infinity|-1|NaN)/);
    }
  });
});
