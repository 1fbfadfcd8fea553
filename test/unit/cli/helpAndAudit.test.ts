/**
 * As a user in a shell meets it: `faceinv help NOSUCHCOMMAND` names the unknown command and
 * exits 2; `faceinv audit --templates /some/where/store.npy` (a local, in-process run) reads the user's own
 * file outside the workspace instead of refusing it with the daemon's `--data-root` advice, and a path named
 * only inside a config file is refused with this command's own flag as the fix.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '..', '..', '..', '..', 'bin', 'faceinv.js');

function faceinv(args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, FACEINV_BACKEND: 'cpu' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('faceinv CLI as a user runs it', function () {
  this.timeout(180_000);
  let tmp: string;
  before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-cli-')); });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('help NOSUCHCOMMAND names the unknown command and exits 2', () => {
    const r = faceinv(['help', 'NOSUCHCOMMAND'], tmp);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /unknown command "NOSUCHCOMMAND"/);
    assert.match(r.err, /audit/, 'lists the known commands');
    assert.equal(faceinv(['help', 'audit'], tmp).code, 0);
  });

  it('audit accepts a template file outside the workspace named on its command line', () => {
    const ws = path.join(tmp, 'ws');
    const elsewhere = path.join(tmp, 'some', 'where');
    fs.mkdirSync(ws, { recursive: true });
    fs.mkdirSync(elsewhere, { recursive: true });
    // Not a real .npy: the run gets past the path check and stops at reading it, with that problem named.
    fs.writeFileSync(path.join(elsewhere, 'store.npy'), 'not a numpy file');
    const r = faceinv(['audit', '--encoder', 'arcface512-faceplugin', '--templates', path.join(elsewhere, 'store.npy'), '--workspace', ws, '--backend', 'cpu'], ws);
    assert.doesNotMatch(r.err, /outside the allowed roots|faceinv daemon --data-root/, r.err);
    assert.match(r.err, /store\.npy/, 'the error that stops it is about the file itself');
    assert.notEqual(r.code, 0);
  });

  it('audit refuses a path named only inside a config file, and names its own --data-root flag', () => {
    const ws = path.join(tmp, 'ws2');
    const elsewhere = path.join(tmp, 'other');
    fs.mkdirSync(ws, { recursive: true });
    fs.mkdirSync(elsewhere, { recursive: true });
    fs.writeFileSync(path.join(elsewhere, 'store.npy'), 'not a numpy file');
    fs.writeFileSync(path.join(ws, 'a.faceinv-audit.json'), JSON.stringify({ name: 'a', encoder: 'arcface512-faceplugin', templates: path.join(elsewhere, 'store.npy') }));
    const r = faceinv(['audit', 'a.faceinv-audit.json', '--workspace', ws, '--backend', 'cpu'], ws);
    assert.match(r.err, /outside the allowed roots.*add its folder with --data-root DIR/s, r.err);
    assert.doesNotMatch(r.err, /faceinv daemon --data-root/);
    const ok = faceinv(['audit', 'a.faceinv-audit.json', '--workspace', ws, '--backend', 'cpu', '--data-root', elsewhere], ws);
    assert.doesNotMatch(ok.err, /outside the allowed roots/, ok.err);
    assert.equal(faceinv(['audit', 'a.faceinv-audit.json', '--workspace', ws, '--data-root', path.join(tmp, 'nope')], ws).code, 2);
  });
});
