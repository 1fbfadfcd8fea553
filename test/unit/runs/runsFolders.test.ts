/**
 * The runs folders the daemon's run feed serves (daemon/runs/runsFolders.ts): `<workspace>/runs`, every runsDir
 * a workspace run config names (relative to the workspace, like runDirOf), and the runs folders of the runs
 * that run, train and evaluate jobs write; an invert job's output folder is not a run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runDirOf } from '../../../daemon/runs/runFolder';
import { runsFoldersOf, runsFoldersOfJobs } from '../../../daemon/runs/runsFolders';
import { tempDir, writeJson } from '../webview/fixture';

describe('runs folders of a workspace', () => {
  it('<workspace>/runs, then each runsDir its run configs name, once; unreadable configs skipped', () => {
    const ws = tempDir('runs-folders');
    try {
      writeJson(path.join(ws, 'a.faceinv-run.json'), { name: 'a', runsDir: 'out-runs' });
      writeJson(path.join(ws, 'sub', 'b.faceinv-run.json'), { name: 'b', runsDir: 'out-runs' });
      writeJson(path.join(ws, 'sub', 'c.faceinv-run.json'), { name: 'c', runsDir: 'sub/more' });
      writeJson(path.join(ws, 'models', 'experiments', 'd.json'), { name: 'd', runsDir: 'exp-runs' });
      writeJson(path.join(ws, 'e.faceinv-run.json'), { name: 'e' });
      fs.writeFileSync(path.join(ws, 'broken.faceinv-run.json'), '{ not json');
      writeJson(path.join(ws, 'node_modules', 'x', 'f.faceinv-run.json'), { name: 'f', runsDir: 'hidden' });
      const folders = runsFoldersOf(ws);
      assert.deepEqual([...folders].sort(), [path.join(ws, 'runs'), path.join(ws, 'exp-runs'), path.join(ws, 'out-runs'), path.join(ws, 'sub', 'more')].sort());
      assert.equal(folders[0], path.join(ws, 'runs'));
      assert.equal(path.dirname(runDirOf({ name: 'c', runsDir: 'sub/more' }, ws)), path.join(ws, 'sub', 'more'), 'the folder a run of that config is written to');
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('the runs folders of run, train and evaluate jobs\' runs; not an invert job\'s output folder', () => {
    assert.deepEqual(runsFoldersOfJobs([
      { kind: 'run', runDir: '/ws/elsewhere/r1' }, { kind: 'train', runDir: '/ws/elsewhere/r2' }, { kind: 'evaluate', runDir: '/ws/other/r3' },
      { kind: 'invert', runDir: '/ws/inverted' }, { kind: 'run' },
    ]), ['/ws/elsewhere', '/ws/other']);
  });
});
