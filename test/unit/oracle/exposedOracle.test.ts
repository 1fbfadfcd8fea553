/**
 * An encoder config may declare what its deployed system answers (`exposes`, issue 25 item 1): the option
 * schema is the audit threat's own (one source, written into encoder.schema.json), options of another kind
 * and a query format that answers embeddings contradict it, and the config language server warns when an
 * audit's threat model says otherwise than the encoder it attacks.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateEncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { checkConfigText, type CheckEnv } from '../../../daemon/lsp/checks';
import { npyBytes } from '../../../daemon/audit/templateStore';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const shipped = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'encoders', 'arcface512-faceplugin.json'), 'utf8')) as Record<string, unknown>;

describe('oracle: what an encoder config says its system exposes', () => {
  it('takes exposes of each kind with its own options, and refuses options of another kind', () => {
    assert.deepEqual(validateEncoderConfig({ ...shipped, exposes: { kind: 'score', decimals: 2 } }, 'e.json'), []);
    assert.deepEqual(validateEncoderConfig({ ...shipped, exposes: { kind: 'decision', threshold: 0.41 } }, 'e.json'), []);
    const bad = validateEncoderConfig({ ...shipped, exposes: { kind: 'decision', decimals: 2 } }, 'e.json');
    assert.ok(bad.some((p) => /decimals/.test(p.reason) && p.where === 'e.json#/exposes/decimals'), JSON.stringify(bad));
    assert.ok(validateEncoderConfig({ ...shipped, exposes: { kind: 'votes' } }, 'e.json').length > 0);
  });

  it('a query format answering embeddings contradicts a score / decision system', () => {
    const http = { ...shipped, format: 'http', model: { http: { url: 'https://faces.example/embed' } }, known: { architecture: false, weights: false, differentiable: false } };
    assert.deepEqual(validateEncoderConfig({ ...http, exposes: { kind: 'embedding' } }, 'e.json'), []);
    const p = validateEncoderConfig({ ...http, exposes: { kind: 'decision' } }, 'e.json');
    assert.ok(p.some((x) => x.where === 'e.json#/exposes/kind' && /asks this encoder for embeddings/.test(x.reason)), JSON.stringify(p));
  });

  it('the written encoder schema carries exposes with the threat model\'s oracle kinds', () => {
    const s = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'schemas', 'encoder.schema.json'), 'utf8')) as { properties: Record<string, { properties: { kind: { anyOf: { const: string }[] } } }> };
    assert.deepEqual(s.properties.exposes.properties.kind.anyOf.map((k) => k.const), ['embedding', 'score', 'decision']);
  });

  describe('the config language server', () => {
    let tmp: string;
    let env: CheckEnv;
    before(() => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-exposes-'));
      env = { repoRoot: ROOT, workspaceDirs: [tmp], lfwCandidates: () => [] };
      fs.writeFileSync(path.join(tmp, 'store.npy'), npyBytes([new Array(512).fill(0.04)], 512));
      fs.writeFileSync(path.join(tmp, 'gate.faceinv-encoder.json'), JSON.stringify({ ...shipped, id: 'gate-decision', exposes: { kind: 'decision' } }));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const check = async (name: string, value: object) => (await checkConfigText(path.join(tmp, name), JSON.stringify(value, null, 2), env)).map((d) => `${d.code}: ${d.message}`);

    it('warns when an audit\'s threat model contradicts what its encoder exposes, and not when they agree', async () => {
      const base = { name: 'a', encoder: 'gate-decision', templates: 'store.npy', reference: { path: 'lfw' } };
      const none = await check('a.faceinv-audit.json', base);
      assert.ok(none.some((d) => /^threat-contradicts-encoder: encoder "gate-decision" declares that its system answers accept \/ reject only.*"embedding"/.test(d)), none.join('\n'));
      const agree = await check('a.faceinv-audit.json', { ...base, threat: { oracle: { kind: 'decision' }, attacker: { template: 'none' } } });
      assert.ok(!agree.some((d) => /threat-contradicts-encoder/.test(d)), agree.join('\n'));
      const enc = await check('bad.faceinv-encoder.json', { ...shipped, id: 'bad', exposes: { kind: 'score', threshold: 0.4 } });
      assert.ok(enc.some((d) => /^config-semantic: threshold applies to a "decision" oracle/.test(d)), enc.join('\n'));
    });
  });
});
