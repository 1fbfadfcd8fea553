import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { takeRepeated } from '../../../daemon/cli/commands/daemon';
import { spawnDaemon } from '../../robustness/harness';

describe('faceinv daemon --data-root', () => {
  it('collects every --data-root value (both spellings) and leaves the other args', () => {
    const r = takeRepeated(['--port', '0', '--data-root', 'a', '--data-root=b', '--backend', 'cpu', '--data-root', '/c'], 'data-root');
    assert.deepEqual(r.values, ['a', 'b', '/c']);
    assert.deepEqual(r.rest, ['--port', '0', '--backend', 'cpu']);
    assert.deepEqual(takeRepeated(['--data-root'], 'data-root').rest, ['--data-root'], 'a missing value is left for parseArgs to report');
  });

  it('a spawned daemon lists the workspace and the --data-root folders among its allowed roots; a missing one is refused', async function () {
    this.timeout(60000);
    const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-dataroot-')));
    try {
      fs.mkdirSync(path.join(tmp, 'd1'));
      fs.mkdirSync(path.join(tmp, 'd2'));
      const d = await spawnDaemon(['--backend', 'cpu', '--workspace', path.join(tmp), '--connection-file', path.join(tmp, 'c.json'), '--data-root', 'd1', '--data-root', path.join(tmp, 'd2')]);
      d.proc.kill('SIGTERM');
      await d.exited;
      const line = d.stderr().split('\n').find((l) => l.includes('allowed roots:')) ?? '';
      assert.match(line, new RegExp(`allowed roots: ${tmp}, ${tmp}/d1, ${tmp}/d2`));
      await assert.rejects(spawnDaemon(['--backend', 'cpu', '--workspace', tmp, '--connection-file', path.join(tmp, 'c.json'), '--data-root', 'nope']), /--data-root .*nope does not exist/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
