/**
 * The daemon's `audit` job kind: its params schema (what the editor sends, secrets included), and every path
 * an audit names — templates, transfer stores, the reference set, the audit folder — confined to the daemon's
 * roots like a run config's, before anything is read or written.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { auditJob } from '../../../daemon/jobs/kinds/audit';
import { validate } from '../../../daemon/protocol/validate';
import type { JobContext } from '../../../daemon/jobs/context';

describe('audit: the daemon job kind', () => {
  let tmp: string;
  let ctx: JobContext;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-auditjob-'));
    ctx = { jobId: 't', signal: new AbortController().signal, workspaceDir: tmp, progress: () => undefined, log: () => undefined, setRunDir: () => undefined };
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('takes what the editor sends and refuses unknown fields', () => {
    assert.deepEqual(validate(auditJob.params, { templates: '/x/s.npy', encoder: 'e', reference: '/r', secrets: { 'svc-token': 'v' } }), []);
    assert.ok(validate(auditJob.params, { templates: 's.npy', encoder: 'e', token: 'x' }).some((p) => /unknown property "token"/.test(p.reason)));
    assert.equal(auditJob.label({ encoder: 'e', templates: '/x/store.npy' }), 'audit store.npy');
    // Neither a config nor an encoder with its templates: refused by the schema, before the job is queued.
    for (const p of [{}, { templates: 's.npy' }, { encoder: 'e' }, { budget: 5 }]) assert.notDeepEqual(validate(auditJob.params, p), [], JSON.stringify(p));
    assert.deepEqual(validate(auditJob.params, { config: 'a.faceinv-audit.json' }), []);
  });

  it('confines the store, transfer stores, the reference set and the audit folder to the daemon\'s roots', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 's.npy'), 'x');
      fs.mkdirSync(path.join(tmp, 'ref', 'a'), { recursive: true });
      await assert.rejects(auditJob.run({ encoder: 'arcface512-faceplugin', templates: path.join(outside, 's.npy'), reference: 'ref' }, ctx), /audit templates: .* outside the allowed roots/);
      fs.writeFileSync(path.join(tmp, 's.npy'), 'x');
      await assert.rejects(auditJob.run({ encoder: 'arcface512-faceplugin', templates: 's.npy', reference: outside }, ctx), /audit reference\.path: .* outside the allowed roots/);
      await assert.rejects(auditJob.run({ encoder: 'arcface512-faceplugin', templates: 's.npy', reference: 'ref', out: outside }, ctx), /audit outDir: .* outside the allowed roots/);
      await assert.rejects(auditJob.run({ encoder: 'arcface512-faceplugin', templates: 's.npy', reference: 'ref', transfer: [{ encoder: 'faceapi-resnet128', templates: path.join(outside, 's.npy') }] }, ctx), /audit transfer\[0\]\.templates: .* outside the allowed roots/);
      await assert.rejects(auditJob.run({ templates: 's.npy' } as never, ctx), /give an audit config file, or encoder and templates/);
      assert.equal(fs.existsSync(path.join(tmp, 'audits')), false, 'nothing was written');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
