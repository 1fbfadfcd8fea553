/**
 * Model selection never sees the test identities: the validation split is carved from the training side
 * and leaves the test side unchanged; the training input noise has the configured *variance*; run config
 * combinations that cannot work are named.
 */
import * as assert from 'node:assert/strict';
import { validateRunConfig } from '../../../daemon/protocol/runConfig';
import { makeIdentitySplit, parseSplit, splitToJson } from '../../../daemon/data/split';
import { initEngine } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { noisyInput } from '../../../daemon/nets/decoder';

describe('validation split, input noise, config combinations', () => {
  const ids = Array.from({ length: 200 }, (_, i) => `id${String(i).padStart(3, '0')}`);

  it('carves validation from the training identities; the test side does not depend on it', () => {
    const plain = makeIdentitySplit(ids, { seed: 0, testFraction: 0.2 });
    const withVal = makeIdentitySplit(ids, { seed: 0, testFraction: 0.2, validationFraction: 0.1 });
    assert.deepEqual(withVal.test, plain.test);
    assert.equal(withVal.validation.length, 16);
    assert.equal(withVal.train.length + withVal.validation.length, plain.train.length);
    const train = new Set(withVal.train), test = new Set(withVal.test);
    assert.ok(withVal.validation.every((v) => !train.has(v) && !test.has(v)));
    const back = parseSplit(splitToJson(withVal));
    assert.deepEqual(back.validation, withVal.validation);
    // An old split (no validation field) reads with an empty one; a leaking one is refused.
    const { validation: _v, validationFraction: _f, ...old } = plain;
    assert.deepEqual(parseSplit(JSON.stringify(old)).validation, []);
    assert.throws(() => parseSplit(JSON.stringify({ ...withVal, validation: [withVal.test[0]] }), 'x.json'), /x\.json: 1 validation identities are also in train or test/);
  });

  it('adds noise of the given variance (not the given standard deviation)', async () => {
    await initEngine({ backend: 'wasm' });
    const z = tf.zeros([200, 512]) as tf.Tensor2D;
    const noisy = noisyInput(z, 0.001, 5);
    const v = tf.tidy(() => tf.moments(noisy).variance.dataSync()[0]);
    assert.ok(Math.abs(v - 0.001) < 0.0001, `variance ${v}`);
    assert.equal(noisyInput(z, 0, 5), z);
    tf.dispose([z, noisy]);
  });

  it('names start/face-model combinations that cannot work', () => {
    const base = { name: 'x', encoder: 'arcface512-faceplugin' };
    const bad = (v: Record<string, unknown>, re: RegExp) => {
      const { problems } = validateRunConfig({ ...base, ...v }, 'c.json');
      assert.ok(problems.some((p) => re.test(p.reason)), problems.map((p) => p.reason).join('; '));
    };
    bad({ faceModel: { kind: 'pca' } }, /start "decoder" needs the decoder face model/);
    bad({ start: 'ridge' }, /start "ridge" regresses onto a linear face model/);
    bad({ faceModel: { kind: 'pca', run: 'runs/x' }, start: 'ridge' }, /faceModel.run names a decoder run/);
    assert.deepEqual(validateRunConfig({ ...base, faceModel: { kind: 'pca' }, start: 'ridge', search: { method: 'zeroth-order', queries: 100 } }, 'c').problems, []);
    assert.ok(validateRunConfig({ ...base, search: { queries: 0 } }, 'c').problems.some((p) => p.where.includes('/search/queries')), 'a budget of 0 queries is refused');
  });
});
