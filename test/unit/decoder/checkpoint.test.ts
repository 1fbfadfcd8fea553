import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findCheckpoint } from '../../../daemon/decoder/train';

describe('checkpoint recovery', () => {
  let dir: string;
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, complete = true) => {
    const d = path.join(dir, name);
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'decoder.json'), '{}');
    if (complete) fs.writeFileSync(path.join(d, 'weights.bin'), '');
    return d;
  };

  it('uses latest when it is complete', () => {
    make('latest.old-aaaa');
    assert.equal(findCheckpoint(make('latest')), path.join(dir, 'latest'));
  });

  it('falls back to the newest complete sibling when a kill hit the folder swap', () => {
    const old = make('latest.old-aaaa');
    const tmp = make('latest.tmp-bbbb');
    fs.utimesSync(path.join(old, 'decoder.json'), new Date(1000), new Date(1000));
    make('latest.tmp-cccc', false);
    assert.equal(findCheckpoint(path.join(dir, 'latest')), tmp);
  });

  it('returns null when there is nothing to resume', () => {
    assert.equal(findCheckpoint(path.join(dir, 'latest')), null);
    assert.equal(findCheckpoint(path.join(dir, 'missing', 'latest')), null);
  });
});
