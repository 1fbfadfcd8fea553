import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readEmbeddingsFile } from '../../../daemon/io/embeddingsFile';

function npy(rows: number[][], dtype: '<f4' | '<f8' = '<f4'): Buffer {
  const header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${rows.length}, ${rows[0].length}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = Buffer.from(`${header}${' '.repeat(pad)}\n`, 'latin1');
  const pre = Buffer.alloc(10);
  pre.writeUInt8(0x93, 0); pre.write('NUMPY', 1, 'latin1'); pre.writeUInt8(1, 6); pre.writeUInt8(0, 7); pre.writeUInt16LE(h.length, 8);
  const bytes = dtype === '<f4' ? 4 : 8;
  const body = Buffer.alloc(rows.length * rows[0].length * bytes);
  rows.flat().forEach((v, i) => (bytes === 4 ? body.writeFloatLE(v, i * 4) : body.writeDoubleLE(v, i * 8)));
  return Buffer.concat([pre, h, body]);
}

describe('embeddings files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emb-'));
  const write = (name: string, data: string | Buffer) => { const f = path.join(dir, name); fs.writeFileSync(f, data); return f; };
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads JSON in its three shapes', () => {
    assert.equal(readEmbeddingsFile(write('a.json', '[[1,2,3],[4,5,6]]'), 3).rows.length, 2);
    const b = readEmbeddingsFile(write('b.json', '[{"id":"x","embedding":[1,2]}]'), 2);
    assert.deepEqual(b.ids, ['x']);
    assert.equal(readEmbeddingsFile(write('c.json', '{"embeddings":[[1,2]]}')).dim, 2);
  });

  it('reads .npy float32 and float64, and raw float32 with a dimension', () => {
    const r = readEmbeddingsFile(write('a.npy', npy([[1, 2, 3], [4, 5, 6]])), 3);
    assert.deepEqual(Array.from(r.rows[1]), [4, 5, 6]);
    assert.deepEqual(Array.from(readEmbeddingsFile(write('b.npy', npy([[0.5, 1.5]], '<f8'))).rows[0]), [0.5, 1.5]);
    const raw = Buffer.alloc(16); [1, 2, 3, 4].forEach((v, i) => raw.writeFloatLE(v, i * 4));
    assert.equal(readEmbeddingsFile(write('c.f32', raw), 2).rows.length, 2);
  });

  it('names the file and the problem for bad input', () => {
    assert.throws(() => readEmbeddingsFile(write('d.json', '[[1,2,3]]'), 512), /d\.json.*dimension 3, the model expects 512/);
    assert.throws(() => readEmbeddingsFile(write('e.json', '[[1,null,3]]')), /e\.json.*item 0 value 1 is null/);
    assert.throws(() => readEmbeddingsFile(write('f.json', '[]')), /f\.json: holds no embeddings/);
    assert.throws(() => readEmbeddingsFile(write('g.bin', '')), /g\.bin: is empty/);
    assert.throws(() => readEmbeddingsFile(write('h.bin', Buffer.alloc(12)), 2), /not a multiple of 8/);
    assert.throws(() => readEmbeddingsFile(write('i.json', '[[1,2],[3]]')), /row 1 .* has 1 values/);
    assert.throws(() => readEmbeddingsFile(write('j.json', '{bad')), /not valid JSON/);
    const nan = Buffer.alloc(8); nan.writeFloatLE(NaN, 0); nan.writeFloatLE(1, 4);
    assert.throws(() => readEmbeddingsFile(write('k.f32', nan), 2), /value 0 is NaN/);
    assert.throws(() => readEmbeddingsFile(write('l.npy', npy([[1, 2]]).subarray(0, npy([[1, 2]]).length - 4)), 2), /truncated/);
    assert.throws(() => readEmbeddingsFile(path.join(dir, 'missing.json')), /cannot read \(ENOENT\)/);
  });
});
