/**
 * The run config's decoder training options: accepted values, refused ones with the field named
 * (a negative identity weight, a surrogate equal to the attacked encoder, unknown schedules and sizes), and
 * the run-folder identity that keeps folders made before these settings existed resumable.
 */
import * as assert from 'node:assert/strict';
import { configIdentity, validateRunConfig } from '../../../daemon/protocol/runConfig';
import { loadRunConfig } from '../../../daemon/config/loadRunConfig';
import * as path from 'node:path';

const base = { name: 'x', encoder: 'arcface512-faceplugin' };
const EXPERIMENTS = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'experiments');

function problemsOf(v: Record<string, unknown>): { where: string; reason: string }[] {
  return validateRunConfig({ ...base, ...v }, 'c.json').problems;
}

describe('run config: decoder training options', () => {
  it('accepts every option and fills neutral defaults', () => {
    const { config, problems } = validateRunConfig({
      ...base, target: 'image',
      decoder: { outputSize: 112, baseChannels: 128, linearBase: true, ssimWeight: 0.75, identity: { surrogate: 'faceapi-resnet128', weight: 0.1 } },
      training: { lrSchedule: 'cosine' },
    }, 'c.json');
    assert.deepEqual(problems, []);
    assert.equal(config!.decoder.outputSize, 112);
    assert.equal(config!.decoder.identity?.target, 'photo', 'the identity term matches the photo unless told otherwise');
    const tmpl = validateRunConfig({ ...base, decoder: { identity: { surrogate: 'faceapi-resnet128', weight: 0.1, target: 'template' } } }, 'c.json');
    assert.deepEqual(tmpl.problems, []);
    assert.equal(tmpl.config!.decoder.identity?.target, 'template');
    const plain = validateRunConfig(base, 'c.json').config!;
    assert.equal(plain.decoder.linearBase, false);
    assert.equal(plain.decoder.ssimWeight, 0);
    assert.equal(plain.decoder.identity, undefined);
    assert.equal(plain.training.lrSchedule, 'constant');
  });

  it('refuses bad values with the field named', () => {
    const at = (v: Record<string, unknown>, where: string) => {
      const p = problemsOf(v);
      assert.ok(p.some((x) => x.where.includes(where)), `expected a problem at ${where}, got ${JSON.stringify(p)}`);
    };
    at({ decoder: { identity: { surrogate: 'faceapi-resnet128', weight: -0.5 } } }, '/decoder/identity/weight');
    at({ decoder: { identity: { weight: 0.1 } } }, '/decoder/identity');
    at({ decoder: { ssimWeight: -1 } }, '/decoder/ssimWeight');
    at({ decoder: { outputSize: 96 } }, '/decoder/outputSize');
    at({ decoder: { baseChannels: 100 } }, '/decoder/baseChannels');
    at({ training: { lrSchedule: 'linear' } }, '/training/lrSchedule');
    at({ decoder: { identity: { surrogate: 'faceapi-resnet128', weight: 0.1, target: 'embedding' } } }, '/decoder/identity/target');
    const self = problemsOf({ decoder: { identity: { surrogate: 'arcface512-faceplugin', weight: 0.1 } } });
    assert.ok(self.some((p) => p.where.endsWith('/decoder/identity/surrogate') && /is the attacked encoder/.test(p.reason)), JSON.stringify(self));
  });

  it('keeps the identity of configs made before these settings (old run folders still resume)', () => {
    const c = loadRunConfig(path.join(EXPERIMENTS, 'seed-decoder.json'));
    const id = configIdentity(c) as { decoder: Record<string, unknown>; training: Record<string, unknown> };
    assert.ok(!('linearBase' in id.decoder) && !('ssimWeight' in id.decoder) && !('lrSchedule' in id.training));
    c.decoder.linearBase = true;
    c.training.lrSchedule = 'cosine';
    const changed = configIdentity(c) as typeof id;
    assert.equal(changed.decoder.linearBase, true);
    assert.equal(changed.training.lrSchedule, 'cosine');
    // identity.target came later than identity: "photo" (what identity terms did before) is left out.
    c.decoder.identity = { surrogate: 'faceapi-resnet128', weight: 0.1, target: 'photo' };
    const photo = configIdentity(c) as { decoder: { identity: Record<string, unknown> } };
    assert.deepEqual(photo.decoder.identity, { surrogate: 'faceapi-resnet128', weight: 0.1 });
    c.decoder.identity = { surrogate: 'faceapi-resnet128', weight: 0.1, target: 'template' };
    assert.equal((configIdentity(c) as typeof photo).decoder.identity.target, 'template');
  });
});
