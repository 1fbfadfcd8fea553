import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorCode, ProtocolError } from '../../../daemon/protocol/message';
import { confinePath, realpathLongestPrefix } from '../../../daemon/security/paths';
import { activeRoots, daemonRoots, defaultModelRoots, repoRoot, setActiveRoots } from '../../../daemon/security/roots';

function isPathError(re: RegExp) {
  return (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.PathNotAllowed && re.test(e.message);
}

describe('security: confinePath', () => {
  let tmp: string;
  let ws: string;
  let data: string;
  let outside: string;
  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-paths-')));
    ws = path.join(tmp, 'ws');
    data = path.join(tmp, 'data');
    outside = path.join(tmp, 'outside');
    for (const d of [ws, data, outside, path.join(ws, 'configs')]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    fs.writeFileSync(path.join(ws, 'configs', 'a.json'), '{}');
    fs.symlinkSync(outside, path.join(ws, 'escape'));                      // dir link out of the root
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(ws, 'secret-link.txt')); // file link out
    fs.symlinkSync(path.join(outside, 'not-yet'), path.join(ws, 'dangling'));  // dangling link out
    fs.symlinkSync(path.join(ws, 'configs'), path.join(ws, 'inner-link'));   // link that stays inside
    fs.symlinkSync(data, path.join(ws, 'data-link'));                        // link into another root
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('accepts relative and absolute paths inside a root, returning the real path', () => {
    assert.equal(confinePath('configs/a.json', [ws], 'config'), path.join(ws, 'configs', 'a.json'));
    assert.equal(confinePath(path.join(ws, 'configs'), [ws], 'config'), path.join(ws, 'configs'));
    assert.equal(confinePath('configs/../configs/a.json', [ws], 'config'), path.join(ws, 'configs', 'a.json'));
    assert.equal(confinePath('.', [ws], 'workspace'), ws);
  });

  it('accepts paths that do not exist yet inside a root (a run folder to create)', () => {
    assert.equal(confinePath('runs/new/checkpoints', [ws], 'run'), path.join(ws, 'runs', 'new', 'checkpoints'));
  });

  it('refuses .. escapes, naming the value, the path and the roots', () => {
    assert.throws(() => confinePath('../outside/secret.txt', [ws, data], 'train params.config'),
      isPathError(/train params\.config.*"\.\.\/outside\/secret\.txt".*outside the allowed roots.*\/ws.*\/data/));
    assert.throws(() => confinePath('configs/../../outside', [ws], 'x'), isPathError(/outside the allowed roots/));
    assert.throws(() => confinePath('/etc/passwd', [ws], 'x'), isPathError(/\/etc\/passwd/));
  });

  it('refuses symlink escapes: directory link, file link, dangling link, and paths below them', () => {
    assert.throws(() => confinePath('escape', [ws], 'x'), isPathError(/outside/));
    assert.throws(() => confinePath('escape/secret.txt', [ws], 'x'), isPathError(/outside/));
    assert.throws(() => confinePath('escape/new/folder', [ws], 'x'), isPathError(/outside/));
    assert.throws(() => confinePath('secret-link.txt', [ws], 'x'), isPathError(/outside/));
    assert.throws(() => confinePath('dangling', [ws], 'x'), isPathError(/outside/));
    assert.throws(() => confinePath('dangling/below', [ws], 'x'), isPathError(/outside/));
  });

  it('accepts links that stay inside a root or lead into another allowed root', () => {
    assert.equal(confinePath('inner-link/a.json', [ws], 'x'), path.join(ws, 'configs', 'a.json'));
    assert.throws(() => confinePath('data-link', [ws], 'x'), isPathError(/outside/));
    assert.equal(confinePath('data-link', [ws, data], 'x'), data);
  });

  it('does not treat a sibling with a common prefix as inside (ws vs ws-evil)', () => {
    fs.mkdirSync(path.join(tmp, 'ws-evil'), { recursive: true });
    assert.throws(() => confinePath('../ws-evil', [ws], 'x'), isPathError(/outside/));
  });

  it('refuses empty, NUL-carrying and overlong paths, and empty root lists', () => {
    assert.throws(() => confinePath('', [ws], 'x'), isPathError(/empty/));
    assert.throws(() => confinePath('a\0b', [ws], 'x'), isPathError(/NUL/));
    assert.throws(() => confinePath('a'.repeat(5000), [ws], 'x'), isPathError(/limit/));
    assert.throws(() => confinePath('a', [], 'x'), isPathError(/no allowed roots/));
  });

  it('a root given through a symlink still confines by its real location', () => {
    const linkRoot = path.join(tmp, 'ws-link');
    fs.symlinkSync(ws, linkRoot);
    assert.equal(confinePath('configs/a.json', [linkRoot], 'x'), path.join(ws, 'configs', 'a.json'));
    assert.throws(() => confinePath('../outside', [linkRoot], 'x'), isPathError(/outside/));
    assert.equal(realpathLongestPrefix(path.join(linkRoot, 'no', 'such')), path.join(ws, 'no', 'such'));
  });
});

describe('security: daemon roots', () => {
  afterEach(() => setActiveRoots(undefined));

  it('puts the workspace first, then --data-root folders, model roots and LFW when present', () => {
    const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-roots-')));
    try {
      fs.mkdirSync(path.join(tmp, 'd1'));
      const r = daemonRoots({ workspaceDir: tmp, dataRoots: ['d1'] });
      assert.equal(r.all[0], tmp);
      assert.equal(r.data[0], path.join(tmp, 'd1'));
      assert.ok(r.models.includes(path.join(repoRoot(), 'models')), `models roots: ${r.models.join(', ')}`);
      const lfw = path.resolve(repoRoot(), '..', 'shared', 'data', 'lfw');
      if (fs.existsSync(lfw)) assert.ok(r.data.includes(lfw), 'LFW default data root');
      assert.equal(new Set(r.all).size, r.all.length, 'no duplicates');
      assert.throws(() => daemonRoots({ workspaceDir: tmp, dataRoots: ['missing'] }), /--data-root .*missing does not exist/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('finds the repository and the shipped model folders', () => {
    assert.ok(fs.existsSync(path.join(repoRoot(), 'package.json')));
    for (const m of defaultModelRoots()) assert.ok(fs.statSync(m).isDirectory(), m);
  });

  it('activeRoots gives the daemon roots for its workspace and defaults for another', () => {
    const r = daemonRoots({ workspaceDir: os.tmpdir(), dataRoots: [], noDefaultDataRoots: true });
    setActiveRoots(r);
    assert.equal(activeRoots(os.tmpdir()), r);
    assert.notEqual(activeRoots(repoRoot()), r);
    assert.equal(activeRoots(repoRoot()).workspace, repoRoot());
  });
});
