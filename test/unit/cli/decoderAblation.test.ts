/**
 * `faceinv ablate --decoders`, the parts that need no training: the seed's configuration is
 * the first row and unchanged, every option is a row (keys unique), the template-head row differs from the
 * photo identity row only in identity.target, and a per-row budget too short to finish one held-out
 * evaluation is refused with the minimum (the slowest row's seconds per step × evalEvery, plus its
 * linear-base fit).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { checkRowBudget, DECODER_ROWS, minimumRowMinutes } from '../../../daemon/cli/decoderAblation';
import { UsageError } from '../../../daemon/cli/command';
import { loadRunConfig } from '../../../daemon/config/loadRunConfig';

const EXPERIMENTS = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'experiments');
const seed = () => loadRunConfig(path.join(EXPERIMENTS, 'seed-decoder.json'));

describe('cli/decoderAblation: rows and the budget check', () => {
  it('has the seed as its first row, unchanged, and one row per option', () => {
    assert.equal(DECODER_ROWS[0].key, 'seed');
    const c = seed();
    DECODER_ROWS[0].patch(c);
    assert.deepEqual(c, seed());
    const keys = DECODER_ROWS.map((r) => r.key);
    assert.equal(new Set(keys).size, keys.length, 'row keys are unique');
    const patched = (key: string) => { const x = seed(); DECODER_ROWS.find((r) => r.key === key)!.patch(x); return x; };
    assert.equal(patched('image').target, 'image');
    assert.equal(patched('frame112').decoder.outputSize, 112);
    assert.ok(patched('ssim').decoder.ssimWeight > 0);
    assert.equal(patched('cosine').training.lrSchedule, 'cosine');
    assert.equal(patched('identity').decoder.identity?.target, 'photo');
    assert.notEqual(patched('identity').decoder.identity?.surrogate, seed().encoder, 'the surrogate is never the attacked encoder');
    const tmpl = patched('id-template');
    assert.equal(tmpl.decoder.identity?.target, 'template');
    assert.deepEqual({ ...tmpl, decoder: { ...tmpl.decoder, identity: { ...tmpl.decoder.identity!, target: 'photo' } } }, patched('identity'));
    assert.equal(patched('linear').decoder.linearBase, true);
    assert.deepEqual(DECODER_ROWS.filter((r) => r.linear).map((r) => r.key), ['base-alone', 'ridge-1024']);
  });

  it('refuses a per-row budget too short for one held-out evaluation, naming the minimum', () => {
    const cost = { row: 'identity', stepSeconds: 3, fitSeconds: 30 };
    // 30 s + 200 steps × 3 s = 630 s = 10.5 min.
    assert.equal(minimumRowMinutes(200, cost), 10.5);
    assert.equal(minimumRowMinutes(200, { ...cost, fitSeconds: 31 }), 10.6, 'rounded up to a tenth');
    assert.throws(() => checkRowBudget(5, 200, cost, 2.5), (e: unknown) => e instanceof UsageError &&
      /--minutes 5 is too short to finish one held-out evaluation: row "identity" takes ≈ 3\.00 s a step here \(load 2\.5\) and ≈ 30 s to fit its linear base, so its first evaluation \(after 200 steps\) comes at ≈ 10\.5 min; use --minutes ≥ 10\.5/.test(e.message));
    assert.doesNotThrow(() => checkRowBudget(10.5, 200, cost, 2.5));
    assert.doesNotThrow(() => checkRowBudget(2, 20, { row: 'seed', stepSeconds: 3, fitSeconds: 0 }, 1), 'fewer steps between evaluations, a shorter minimum');
    for (const bad of [0, -1, NaN, Infinity]) assert.throws(() => checkRowBudget(bad, 200, cost, 1), UsageError);
  });
});
