import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import { ErrorCode } from '../../../daemon/protocol/message';
import { newToken, tokensEqual } from '../../../daemon/server/auth';
import { readConnectionFile, writeConnectionFile } from '../../../daemon/protocol/connectionFile';
import type { DaemonServer } from '../../../daemon/server/server';
import { startDaemon } from '../../../daemon/server/start';
import { probeKinds, RawClient, startTestServer, TEST_TOKEN } from '../../robustness/harness';

describe('daemon access control', () => {
  let tmp: string;
  let previousBackend = '';
  before(async () => {
    previousBackend = tf.getBackend();
    await tf.setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-access-'));
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (previousBackend) await tf.setBackend(previousBackend); // startDaemon({ backend: 'cpu' }) switched it
  });

  it('binds 127.0.0.1 by default; another address needs allowRemote and logs a warning', async () => {
    const logs: string[] = [];
    const log = (level: string, m: string) => logs.push(`${level}: ${m}`);
    const common = { backend: 'cpu' as const, kinds: probeKinds(), workspaceDir: tmp, log };
    const local = await startDaemon({ ...common, connectionFile: path.join(tmp, 'a.json') });
    try {
      assert.match(local.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((local.server as unknown as { http: { address(): { address: string } } }).http.address().address, '127.0.0.1');
    } finally { await local.stop(); }
    await assert.rejects(startDaemon({ ...common, host: '0.0.0.0', connectionFile: path.join(tmp, 'b.json') }), /refusing to bind 0\.0\.0\.0.*--allow-remote/);
    assert.ok(!fs.existsSync(path.join(tmp, 'b.json')), 'no connection file for a refused start');
    const remote = await startDaemon({ ...common, host: '0.0.0.0', allowRemote: true, connectionFile: path.join(tmp, 'c.json') });
    try {
      assert.ok(logs.some((l) => /^warn: binding 0\.0\.0\.0: the daemon is reachable from other machines/.test(l)), logs.join('\n'));
    } finally { await remote.stop(); }
  });

  it('writes a fresh random token per start to a 0600 file in a 0700 folder, and removes it on stop', async () => {
    const dir = path.join(tmp, 'state');
    const file = path.join(dir, 'daemon.json');
    const a = await startDaemon({ backend: 'cpu', kinds: probeKinds(), workspaceDir: tmp, connectionFile: file, log: () => undefined });
    const infoA = readConnectionFile(file);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(infoA.token, a.token);
    assert.ok(/^[A-Za-z0-9_-]{43}$/.test(a.token), 'token is 32 random bytes, base64url');
    await a.stop();
    assert.ok(!fs.existsSync(file), 'connection file removed on stop');
    const b = await startDaemon({ backend: 'cpu', kinds: probeKinds(), workspaceDir: tmp, connectionFile: file, log: () => undefined });
    assert.notEqual(b.token, a.token);
    await b.stop();
    // A pre-existing file with loose permissions is replaced by a 0600 one.
    fs.writeFileSync(file, '{}', { mode: 0o644 });
    writeConnectionFile(file, { url: 'ws://127.0.0.1:1', token: newToken(), pid: 1, workspace: tmp, startedAt: '' });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('compares tokens in constant time over equal-length digests', () => {
    const t = newToken();
    assert.equal(tokensEqual(t, t), true);
    assert.equal(tokensEqual(`${t}x`, t), false);
    assert.equal(tokensEqual(t.slice(0, -1), t), false);
    assert.equal(tokensEqual('', t), false);
    assert.equal(tokensEqual(t.toUpperCase(), t), t === t.toUpperCase());
  });

  describe('on a running server', () => {
    let server: DaemonServer;
    let url: string;
    before(async () => ({ server, url } = await startTestServer({ maxMessageBytes: 64 * 1024 })));
    after(async () => server.close());

    it('refuses upgrades without a token, with a wrong one, or from a browser origin not on the allow list', async () => {
      await assert.rejects(RawClient.connect(url, ''), /HTTP 401/);
      await assert.rejects(RawClient.connect(url, 'wrong'), /HTTP 401/);
      await assert.rejects(RawClient.connect(url, TEST_TOKEN, { origin: 'https://evil.example' }), /HTTP 403/);
      await assert.rejects(RawClient.connect(url, TEST_TOKEN, { origin: 'null' }), /HTTP 403/);
      // The origin check comes first: a page that guessed the token is still refused.
      await assert.rejects(RawClient.connect(url, TEST_TOKEN, { origin: 'http://localhost:3000' }), /HTTP 403/);
      const ok = await RawClient.connect(url, TEST_TOKEN, { origin: 'vscode-webview://allowed' });
      assert.equal((await ok.request(1, 'daemon/status')).error, undefined);
      await ok.close();
    });

    it('closes a connection that sends an oversized frame with 1009; the daemon and other clients carry on', async () => {
      const other = await RawClient.connect(url);
      const big = await RawClient.connect(url);
      big.send(JSON.stringify({ type: 'request', id: 1, method: 'daemon/status', params: { pad: 'x'.repeat(70 * 1024) } }));
      await big.waitClosed();
      assert.equal(big.closeCode, 1009);
      assert.equal((await other.request(7, 'daemon/status')).error, undefined, 'other client unaffected');
      const again = await RawClient.connect(url);
      assert.equal((await again.request(1, 'daemon/status')).error, undefined, 'new clients still accepted');
      await Promise.all([other.close(), again.close()]);
    });

    it('closes a connection that sends invalid UTF-8 text with 1007; others carry on', async () => {
      const bad = await RawClient.connect(url);
      bad.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), false);
      await bad.waitClosed();
      assert.equal(bad.closeCode, 1007);
      const c = await RawClient.connect(url);
      assert.equal((await c.request(1, 'daemon/status')).error, undefined);
      await c.close();
    });

    it('refuses job paths outside the allowed roots with PathNotAllowed before queueing', async () => {
      // The probe kind has no path params; confinement applies to the PATH_PARAM_KEYS of known kinds only,
      // so exercise it through the server's own check on a kind that declares one.
      const { DaemonServer: Server } = await import('../../../daemon/server/server');
      const { defineJobKind } = await import('../../../daemon/jobs/defineJobKind');
      const { Type } = await import('@sinclair/typebox');
      const readKind = defineJobKind({
        kind: 'read', summary: 'reads a file (test kind)', params: Type.Object({ config: Type.String() }, { additionalProperties: false }),
        label: (p) => p.config, run: async (p) => ({ bytes: fs.statSync(path.resolve(tmp, p.config)).size }),
      });
      fs.writeFileSync(path.join(tmp, 'in.json'), '{"a":1}');
      const s = new Server({
        host: '127.0.0.1', port: 0, token: TEST_TOKEN, workspaceDir: tmp, kinds: new Map([['read', readKind as never]]),
        engine: { backend: 'cpu', reason: 'test', threads: 1, versions: {}, memory: () => tf.memory() },
      });
      const c = await RawClient.connect(`ws://127.0.0.1:${await s.listen()}`);
      try {
        fs.symlinkSync('/etc', path.join(tmp, 'etc-link'));
        for (const [i, bad] of ['../../etc/passwd', '/etc/passwd', 'etc-link/passwd'].entries()) {
          const r = await c.request(10 + i, 'daemon/submitJob', { kind: 'read', params: { config: bad } });
          assert.equal(r.error?.code, ErrorCode.PathNotAllowed, `${bad}: ${JSON.stringify(r)}`);
          assert.match(r.error?.message ?? '', /read params\.config.*outside the allowed roots/);
        }
        const ok = await c.request(20, 'daemon/submitJob', { kind: 'read', params: { config: 'in.json' } });
        assert.equal(ok.error, undefined, JSON.stringify(ok));
        await s.queue.idle();
        assert.deepEqual(s.queue.list().map((j) => j.state), ['succeeded'], 'only the confined job was queued');
      } finally {
        await c.close();
        await s.close();
      }
    });
  });
});
