/**
 * The protection config (daemon/protocol/protectConfig.ts) in the editor and the daemon: the shipped sample is
 * valid and fills its defaults, degenerate parameters are named (schema, meaning, and for the encoder's
 * dimension by the language server), the `protect` job kind is registered, and a `*.faceinv-protect.json` is
 * recognised. The schema file's drift is caught by test/unit/config/schemas.test.ts (SCHEMA_FILES).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SCHEMA_FILES } from '../../../daemon/config/schemaFiles';
import { JOB_KINDS } from '../../../daemon/jobs/registry';
import { checkConfigText, type CheckEnv } from '../../../daemon/lsp/checks';
import { configKindOf } from '../../../daemon/protocol/configServer';
import { validateProtectConfig } from '../../../daemon/protocol/protectConfig';
import { makeScheme } from '../../../daemon/protect/schemes';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SAMPLE = path.join(ROOT, 'models', 'protection', 'lfw-four-schemes.faceinv-protect.json');

describe('protect: config', () => {
  it('the shipped sample is valid, has all five schemes, and each builds for 512-d embeddings', () => {
    const { config, problems } = validateProtectConfig(JSON.parse(fs.readFileSync(SAMPLE, 'utf8')), SAMPLE);
    assert.deepEqual(problems, []);
    assert.ok(config);
    assert.deepEqual(config.schemes.map((s) => s.scheme), ['biohash', 'iom-grp', 'iom-urp', 'polyprotect', 'mlphash']);
    assert.equal(config.dataset.split.seed, 0);
    assert.deepEqual(config.operatingPoints, [0.001, 0.0001]);
    for (const s of config.schemes) assert.ok(makeScheme(s, 512).paper.length > 20);
  });

  it('defaults fill a minimal config; bad values are named with where and what was expected', () => {
    const ok = validateProtectConfig({ name: 'x', schemes: [{ scheme: 'biohash' }] }, 'f.json');
    assert.equal(ok.config?.encoder, 'arcface512-faceplugin');
    assert.equal((ok.config?.schemes[0] as { bits: number }).bits, 256);
    const bad = validateProtectConfig({ name: 'x', schemes: [{ scheme: 'polyprotect', order: 5, overlap: 5 }, { scheme: 'mlphash', hidden: [64], bits: 128 }] }, 'f.json');
    assert.ok(bad.problems.some((p) => p.where === 'f.json#/schemes/0/overlap' && /overlap 5 ≥ order 5/.test(p.reason)), JSON.stringify(bad.problems));
    assert.ok(bad.problems.some((p) => p.where === 'f.json#/schemes/1/bits' && /128 bits from a 64-wide/.test(p.reason)));
    const unknown = validateProtectConfig({ name: 'x', schemes: [{ scheme: 'fuzzy-vault' }] }, 'f.json');
    assert.ok(unknown.problems.length > 0 && !unknown.config);
  });

  it('the language server flags a scheme degenerate for the encoder\'s dimension (more BioHash bits than 512)', async () => {
    const env: CheckEnv = { repoRoot: ROOT, workspaceDirs: [], lfwCandidates: () => [] };
    const text = JSON.stringify({ name: 'x', schemes: [{ scheme: 'biohash', bits: 600 }] });
    const diags = await checkConfigText('/tmp/a.faceinv-protect.json', text, env);
    assert.ok(diags.some((d) => /BioHashing: 600 bits need 600 orthonormal projections, a 512-d embedding supports at most 512/.test(d.message)), JSON.stringify(diags));
    assert.deepEqual(await checkConfigText('/tmp/a.faceinv-protect.json', fs.readFileSync(SAMPLE, 'utf8'), env), []);
  });

  it('is wired: a config kind, a schema file, a job kind', () => {
    assert.equal(configKindOf('/w/x.faceinv-protect.json'), 'protect');
    assert.ok(SCHEMA_FILES.some((s) => s.file === 'protect.schema.json'));
    assert.ok(JOB_KINDS.some((k) => k.kind === 'protect'));
  });
});
