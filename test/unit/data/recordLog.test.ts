import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordLog } from '../../../daemon/data/recordLog';
import { imageSlot } from '../../../daemon/data/pipeline';
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
    assert.deepStrictEqual(again.openInfo, { records: 3, droppedBytes: 0, compactedBytes: 0 });
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

  it('versions of one image replace each other, and a log mostly superseded is compacted at open (a dataset copied again)', () => {
    const f = path.join(dir, 'copies.log');
    const payload = (v: number) => new Uint8Array(1000).fill(v);
    for (let copy = 0; copy < 3; copy++) {
      const log = RecordLog.open(f, imageSlot);
      // every copy of the dataset gives each photo a new mtime, so a new key
      for (let i = 0; i < 10; i++) log.append(`Person_${i}/Person_${i}_0001.jpg|9123|17965${copy}`, payload(copy));
      assert.strictEqual(log.size, 10, 'one live record per photo');
      log.close();
    }
    const before = fs.statSync(f).size;
    const back = RecordLog.open(f, imageSlot);
    assert.strictEqual(back.size, 10);
    assert.ok(back.openInfo.compactedBytes > 0, 'two thirds of the file were superseded');
    assert.ok(fs.statSync(f).size < before / 2, `compacted ${before} → ${fs.statSync(f).size} bytes`);
    assert.deepStrictEqual([...(back.get('Person_3/Person_3_0001.jpg|9123|179652') as Buffer)].slice(0, 2), [2, 2]);
    assert.strictEqual(back.get('Person_3/Person_3_0001.jpg|9123|179650'), undefined);
    back.append('Person_0/Person_0_0001.jpg|missing', new Uint8Array([5]));
    back.close();
    const third = RecordLog.open(f, imageSlot);
    assert.strictEqual(third.size, 10);
    assert.deepStrictEqual([...(third.get('Person_0/Person_0_0001.jpg|missing') as Buffer)], [5]);
    assert.strictEqual(third.openInfo.compactedBytes, 0);
    third.close();
  });

  it('without slots, repeated keys still compact; distinct keys never do', () => {
    const f = path.join(dir, 'same-key.log');
    const log = RecordLog.open(f);
    for (let i = 0; i < 4; i++) log.append('k', new Uint8Array(500).fill(i));
    log.append('other', new Uint8Array(500));
    log.close();
    const back = RecordLog.open(f);
    assert.ok(back.openInfo.compactedBytes > 0);
    assert.deepStrictEqual([...back.keys()].sort(), ['k', 'other']);
    assert.strictEqual((back.get('k') as Buffer)[0], 3);
    back.close();
    assert.strictEqual(imageSlot('a|b/c.jpg|12|34'), 'a|b/c.jpg', 'a | inside a path stays in the slot');
  });
});
