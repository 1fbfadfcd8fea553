/**
 * The audit in the editor, under plain Node: the config language server's checks of `*.faceinv-audit.json`
 * (unknown encoder, missing store, a store of another dimension read from its header, reference set,
 * transfer, white box for a query-only service, an HTTP credential not set), the HTTP encoder config's own
 * checks, and the "Audit Template Store…" / "Set Encoder Secret…" commands (vscode stubbed) against a daemon
 * with a recording `audit` kind: pickers → params, the secret from the editor's secret storage sent with
 * the job only, a missing secret refused before anything is submitted.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { npyBytes } from '../../../daemon/audit/templateStore';
import { tf } from '../../../daemon/tfjs/tf';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { checkConfigText, configKindOf, hoverText, listEncoders, storeDimension, type CheckEnv } from '../../../daemon/lsp/checks';
import { DaemonServer } from '../../../daemon/server/server';
import { fakeExtensionContext, installVscodeStub, makeVscodeStub } from '../extension/vscodeStub';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const ARCFACE = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'encoders', 'arcface512-faceplugin.json'), 'utf8')) as Record<string, unknown>;
const HTTP = {
  ...ARCFACE, id: 'face-service', format: 'http', known: { architecture: false, weights: false, differentiable: false },
  model: { http: { url: 'https://faces.example/v1/embed', auth: { prefix: 'Bearer ', secret: 'face-service-token' } } },
};

describe('audit: editor', function () {
  this.timeout(60_000);
  let tmp: string;
  let env: CheckEnv;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-audit-editor-'));
    env = { repoRoot: ROOT, workspaceDirs: [tmp], lfwCandidates: () => [] };
    fs.writeFileSync(path.join(tmp, 'store512.npy'), npyBytes([new Array(512).fill(0.04)], 512));
    fs.writeFileSync(path.join(tmp, 'store128.npy'), npyBytes([new Array(128).fill(0.08)], 128));
    fs.writeFileSync(path.join(tmp, 'service.faceinv-encoder.json'), JSON.stringify(HTTP));
    fs.writeFileSync(path.join(tmp, 'env-service.faceinv-encoder.json'), JSON.stringify({ ...HTTP, id: 'env-service', model: { http: { url: 'https://x.example/e', auth: { env: 'FACEINV_TEST_UNSET_TOKEN' } } } }));
    fs.mkdirSync(path.join(tmp, 'ref', 'alice'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'ref', 'alice', 'a.jpg'), 'x');
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const check = async (value: object) => (await checkConfigText(path.join(tmp, 'a.faceinv-audit.json'), JSON.stringify(value, null, 2), env)).map((d) => `${d.code}: ${d.message}`);

  it('knows the audit config by name and reads a store\'s dimension from its header', () => {
    assert.equal(configKindOf('/w/x.faceinv-audit.json'), 'audit');
    assert.equal(storeDimension(path.join(tmp, 'store128.npy')), 128);
    fs.writeFileSync(path.join(tmp, 's.json'), JSON.stringify([{ id: 'a', embedding: [0.5, 0.5, 0.5, 0.5] }]));
    assert.equal(storeDimension(path.join(tmp, 's.json')), 4);
  });

  it('checks what a schema cannot: encoder, store and its dimension, reference, transfer, route, credential', async () => {
    assert.deepEqual(await check({ name: 'a', encoder: 'arcface512-faceplugin', templates: 'store512.npy', reference: { path: 'ref' } }), []);
    const d = await check({
      name: 'a', encoder: 'arcface512-faceplugin', templates: 'store128.npy', reference: { path: 'nowhere' },
      transfer: [{ encoder: 'nobody', templates: 'missing.npy' }],
    });
    assert.ok(d.some((x) => /^templates-dimension: the templates in store128\.npy have dimension 128, but encoder "arcface512-faceplugin" makes 512-d/.test(x)), d.join('\n'));
    assert.ok(d.some((x) => /^encoder-unknown: unknown transfer encoder "nobody"/.test(x)));
    assert.ok(d.some((x) => /^templates-missing: template store .*missing\.npy does not exist/.test(x)));
    assert.ok(d.some((x) => /^reference-missing: reference set: dataset folder .*nowhere does not exist/.test(x)));
    const w = await check({ name: 'a', encoder: 'face-service', templates: 'store512.npy', route: 'whitebox', reference: { path: 'ref' } });
    assert.ok(w.some((x) => /^whitebox-not-differentiable: white box requested, but encoder "face-service" declares its architecture unknown/.test(x)), w.join('\n'));
    const e = await check({ name: 'a', encoder: 'env-service', templates: 'store512.npy', reference: { path: 'ref' } });
    assert.ok(e.some((x) => /^credential-unset: encoder "env-service" reads its credential from FACEINV_TEST_UNSET_TOKEN/.test(x)), e.join('\n'));
    const sem = await check({ name: 'a', encoder: 'arcface512-faceplugin', templates: 'store512.npy', reference: { path: 'ref' }, transfer: [{ encoder: 'arcface512-faceplugin', templates: 'store512.npy' }] });
    assert.ok(sem.some((x) => /^config-semantic: transfer encoder "arcface512-faceplugin" is the audited encoder itself/.test(x)));
    const big = await check({ name: 'a', encoder: 'arcface512-faceplugin', templates: 'store512.npy', reference: { path: 'ref' }, sample: 5 });
    assert.ok(big.some((x) => /^config-semantic: a sample of 5 templates is larger than the store, which has 1: give 1 or less, or "all"/.test(x)), big.join('\n'));
    assert.deepEqual(await check({ name: 'a', encoder: 'arcface512-faceplugin', templates: 'store512.npy', reference: { path: 'ref' }, sample: 1 }), []);
    const hover = await hoverText(path.join(tmp, 'a.faceinv-audit.json'), '{"encoder": "face-service"}', 3, env);
    assert.match(hover ?? '', /service: `POST https:\/\/faces\.example\/v1\/embed` \(queried; no model file\)/);
  });

  it('a protected store: checked against its scheme\'s template length, and the protection config and key file named when bad', async () => {
    fs.writeFileSync(path.join(tmp, 'p.faceinv-protect.json'), JSON.stringify({ name: 'p', schemes: [{ scheme: 'biohash', bits: 256 }, { scheme: 'iom-grp' }] }));
    fs.writeFileSync(path.join(tmp, 'keys.json'), JSON.stringify({ keySeed: 9 }));
    fs.writeFileSync(path.join(tmp, 'bits256.json'), JSON.stringify([{ id: 'a', template: new Array(256).fill(1) }]));
    const base = { name: 'a', encoder: 'arcface512-faceplugin', reference: { path: 'ref' } };
    assert.deepEqual(await check({ ...base, templates: 'bits256.json', protection: { config: 'p.faceinv-protect.json', scheme: 'biohash', keys: 'keys.json' } }), []);
    const wrong = await check({ ...base, templates: 'store128.npy', protection: { config: 'p.faceinv-protect.json', scheme: 'biohash', keys: 'keys.json' } });
    assert.ok(wrong.some((x) => /^templates-dimension: the templates in store128\.npy have 128 values, but BioHashing \(256 bits\) makes 256 bits/.test(x)), wrong.join('\n'));
    const ambiguous = await check({ ...base, templates: 'bits256.json', protection: { config: 'p.faceinv-protect.json', keys: 'keys.json' } });
    assert.ok(ambiguous.some((x) => /^config-semantic: protection\.scheme: .* lists 2 schemes/.test(x)), ambiguous.join('\n'));
    const noKeys = await check({ ...base, templates: 'bits256.json', protection: { config: 'p.faceinv-protect.json', scheme: 'biohash', keys: 'nokeys.json' } });
    assert.ok(noKeys.some((x) => /^config-semantic: protection key file .*nokeys\.json: cannot be read/.test(x)), noKeys.join('\n'));
  });

  it('an HTTP encoder config: the credential\'s variable not set where the editor runs is a warning', async () => {
    const d = await checkConfigText(path.join(tmp, 'env-service.faceinv-encoder.json'), fs.readFileSync(path.join(tmp, 'env-service.faceinv-encoder.json'), 'utf8'), env);
    assert.deepEqual(d.map((x) => [x.code, x.severity]), [['credential-unset', 'warning']]);
    const bad = await checkConfigText(path.join(tmp, 'b.faceinv-encoder.json'), JSON.stringify({ ...HTTP, model: { http: { url: 'https://x.example', headers: { 'X-Api-Key': 'abc' } } } }), env);
    assert.ok(bad.some((x) => x.code === 'config-semantic' && /looks like a credential/.test(x.message)));
  });

  describe('commands (vscode stubbed)', () => {
    const stub = makeVscodeStub();
    let uninstall: () => void;
    let server: DaemonServer;
    let ctx: import('../../../extension/ctx').Ctx;
    const submitted: Record<string, unknown>[] = [];
    const auditKind: JobKind = {
      kind: 'audit', summary: 'records its params', label: () => 'audit (test)',
      params: Type.Object({}, { additionalProperties: true }),
      run: async (p) => { submitted.push(p as Record<string, unknown>); return { state: 'finished', report: path.join(tmp, 'report.html') }; },
    };
    // The extension modules bind `vscode` when first loaded: load them fresh with this stub, and forget them after,
    // so the other suites that stub vscode (test/unit/extension/commands.test.ts) get their own.
    const forget = () => { for (const k of Object.keys(require.cache)) if (k.includes(`${path.sep}out${path.sep}extension${path.sep}`)) delete require.cache[k]; };
    before(async () => {
      forget();
      uninstall = installVscodeStub(stub.vscode);
      await tf.ready(); // the suite's backend when one is set, else the default one, initialised (run alone)
      server = new DaemonServer({
        host: '127.0.0.1', port: 0, token: 'editor-test-token-0123456789', workspaceDir: tmp, kinds: new Map([['audit', auditKind]]),
        engine: { backend: tf.getBackend(), reason: 'unit test', threads: 1, versions: {}, memory: () => tf.memory() },
      });
      const url = `ws://127.0.0.1:${await server.listen()}`;
      (stub.vscode.workspace as unknown as { workspaceFolders: unknown }).workspaceFolders = [{ uri: { fsPath: tmp } }];
      const { Ctx } = await import('../../../extension/ctx');
      const { COMMANDS } = await import('../../../extension/commands');
      ctx = new Ctx(fakeExtensionContext(ROOT, path.join(tmp, 'storage')) as never);
      // The pickers list the registry through the config language server (ListEncodersRequest): its handler, in process.
      ctx.listEncoders = async () => listEncoders(env);
      for (const [name, f] of Object.entries(COMMANDS)) ctx.registerCommand(name, f);
      assert.ok(await ctx.connectRemote(url, 'editor-test-token-0123456789'), JSON.stringify(stub.shown));
    });
    after(async () => {
      await ctx?.dispose();
      await server?.close();
      uninstall?.();
      forget();
    });
    const exec = (name: string, ...args: unknown[]) => stub.vscode.commands.executeCommand(name, ...args);

    it('refuses to submit an audit of an HTTP encoder whose secret is not set, and offers to set it', async () => {
      const before = stub.shown.length;
      const r = await exec('faceInversion.auditTemplateStore', path.join(tmp, 'store512.npy'), 'face-service', path.join(tmp, 'ref'));
      assert.equal(r, undefined);
      const n = stub.shown.slice(before);
      assert.match(n[0]?.message ?? '', /auth\.secret "face-service-token" is not set in this editor's secret storage/);
      assert.deepEqual(n[0]?.items, ['Set Encoder Secret…']);
      assert.equal(submitted.length, 0);
    });

    it('stores the secret, then sends it with the audit job (and only there)', async () => {
      assert.equal(await exec('faceInversion.setEncoderSecret', 'face-service-token', 'tok-123'), true);
      const job = await exec('faceInversion.auditTemplateStore', path.join(tmp, 'store512.npy'), 'face-service', path.join(tmp, 'ref')) as { id: string; label: string; params?: unknown };
      assert.ok(job?.id);
      assert.equal(JSON.stringify(job).includes('tok-123'), false, 'the job info the daemon answers carries no secret');
      for (let i = 0; i < 200 && submitted.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(submitted[0], { templates: path.join(tmp, 'store512.npy'), encoder: 'face-service', reference: path.join(tmp, 'ref'), secrets: { 'face-service-token': 'tok-123' } });
    });

    it('an audit config file goes as it is', async () => {
      const file = path.join(tmp, 'mine.faceinv-audit.json');
      fs.writeFileSync(file, JSON.stringify({ name: 'mine', encoder: 'arcface512-faceplugin', templates: 'store512.npy' }));
      await exec('faceInversion.auditTemplateStore', file);
      for (let i = 0; i < 200 && submitted.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
      assert.deepEqual(submitted[1], { config: file });
    });
  });
});
