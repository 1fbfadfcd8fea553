import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordLog } from '../../../daemon/data/recordLog';
import { tempDir } from './helpers';

describe('data/recordLog: append-only checksummed records', () => {
  const dir = tempDir('log');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads back what was appended; later records win', () => {
    const f = path.join(dir, 'a', 'b.log');
    const log = RecordLog.open(f);
    log.append('x', new Uint8Array([1, 2, 3]));
    log.append('y', new Uint8Array(0));
    log.append('x', new Uint8Array([9]));
    log.close();
    const again = RecordLog.open(f);
    assert.deepStrictEqual([...(again.get('x') as Buffer)], [9]);
    assert.strictEqual((again.get('y') as Buffer).length, 0);
    assert.strictEqual(again.size, 2);
    assert.deepStrictEqual(again.openInfo, { records: 3, droppedBytes: 0 });
    again.close();
  });

  it('drops a torn tail (a kill mid-write) and keeps appending after it', () => {
    const f = path.join(dir, 'torn.log');
    const log = RecordLog.open(f);
    for (let i = 0; i < 5; i++) log.append(`k${i}`, new Uint8Array(100).fill(i));
    log.close();
    const full = fs.statSync(f).size;
    fs.truncateSync(f, full - 30); // the last record is cut short
    const back = RecordLog.open(f);
    assert.strictEqual(back.size, 4);
    assert.ok(back.openInfo.droppedBytes > 0);
    back.append('k9', new Uint8Array([7]));
    back.close();
    const third = RecordLog.open(f);
    assert.deepStrictEqual([...third.keys()], ['k0', 'k1', 'k2', 'k3', 'k9']);
    assert.strictEqual(third.openInfo.droppedBytes, 0);
    third.close();
  });

  it('stops at a record whose checksum does not match', () => {
    const f = path.join(dir, 'flip.log');
    const log = RecordLog.open(f);
    log.append('a', new Uint8Array(50).fill(1));
    log.append('b', new Uint8Array(50).fill(2));
    log.close();
    const bytes = fs.readFileSync(f);
    bytes[bytes.length - 10] ^= 0xff; // flip a payload byte of record b
    fs.writeFileSync(f, bytes);
    const back = RecordLog.open(f);
    assert.deepStrictEqual([...back.keys()], ['a']);
    back.close();
  });
});
