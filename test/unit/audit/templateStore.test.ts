/**
 * Reading a template store tolerantly: every format, bad rows flagged and skipped (not finite, another
 * length, all zeros), unnormalised rows normalised with a note, and the clear errors for a store that cannot
 * be one (another dimension than the encoder's, an empty, truncated or unreadable file).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { npyBytes, readTemplateStore } from '../../../daemon/audit/templateStore';

const unit = (d: number, k: number) => Array.from({ length: d }, (_, i) => (i === k % d ? 1 : 0));

describe('audit: template store', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-store-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, data: string | Buffer) => { const f = path.join(dir, name); fs.writeFileSync(f, data); return f; };

  it('JSON with ids: NaN (null), a string, another length and zeros are flagged and skipped; the rest go on', () => {
    const rows = [
      { id: 'a', embedding: unit(4, 0) },
      { id: 'b', embedding: [1, null, 0, 0] },
      { id: 'c', embedding: [0, 0, 2, 0] },
      { id: 'd', embedding: [1, 0, 0] },
      { id: 'e', embedding: [0, 0, 0, 0] },
      { id: 'f', embedding: [0, 'x', 0, 1] },
      { id: 'g' },
    ];
    const s = readTemplateStore(write('s.json', JSON.stringify({ embeddings: rows })), 4, 'enc');
    assert.equal(s.rows, 7);
    assert.equal(s.usable, 2);
    assert.deepEqual(s.ids, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    assert.deepEqual(s.flags.map((f) => f?.kind), [undefined, 'not-finite', 'unnormalised', 'wrong-dimension', 'zero', 'not-finite', 'not-finite']);
    assert.equal(s.flags[2]?.usable, true);
    assert.match(s.flags[2]?.detail ?? '', /L2 norm 2\.000: normalised before use/);
    assert.deepEqual(Array.from(s.vectors.subarray(8, 12)), [0, 0, 1, 0], 'normalised');
    assert.match(s.flags[1]?.detail ?? '', /value 1 is null/);
    assert.equal(s.sha256.length, 64);
  });

  it('.npy float32 and float64 with NaN and Infinity rows; JSON Lines; raw float32', () => {
    const r = [unit(3, 0), [NaN, 0, 0], [0, Infinity, 0], unit(3, 2)];
    const s = readTemplateStore(write('s.npy', npyBytes(r, 3)), 3, 'enc');
    assert.equal(s.usable, 2);
    assert.deepEqual(s.flags.map((f) => f?.kind), [undefined, 'not-finite', 'not-finite', undefined]);
    const jl = readTemplateStore(write('s.jsonl', `${JSON.stringify({ id: 'x', embedding: unit(3, 1) })}\nnot json\n[0,0,1]\n`), 3, 'enc');
    assert.deepEqual(jl.ids, ['x', '1', '2']);
    assert.deepEqual(jl.flags.map((f) => f?.kind), [undefined, 'not-finite', undefined]);
    const raw = Buffer.alloc(2 * 3 * 4);
    raw.writeFloatLE(1, 0); raw.writeFloatLE(NaN, 12);
    const rs = readTemplateStore(write('s.f32', raw), 3, 'enc');
    assert.equal(rs.rows, 2);
    assert.equal(rs.usable, 1);
  });

  it('a store of another dimension, an empty, truncated or unreadable file: one clear error naming the file', () => {
    assert.throws(() => readTemplateStore(write('d.npy', npyBytes([unit(128, 0)], 128)), 512, 'arcface512-faceplugin'),
      /d\.npy: its templates have dimension 128, but encoder "arcface512-faceplugin" makes 512-d templates/);
    assert.throws(() => readTemplateStore(write('e.json', ''), 4, 'enc'), /e\.json: is empty/);
    const npy = npyBytes([unit(4, 0), unit(4, 1)], 4);
    assert.throws(() => readTemplateStore(write('t.npy', npy.subarray(0, npy.length - 3)), 4, 'enc'), /truncated/);
    assert.throws(() => readTemplateStore(write('r.bin', Buffer.alloc(10)), 4, 'enc'), /10 bytes are not a multiple of 16/);
    assert.throws(() => readTemplateStore(path.join(dir, 'absent.npy'), 4, 'enc'), /absent\.npy: cannot read \(ENOENT\)/);
    assert.throws(() => readTemplateStore(write('j.json', '[1,2'), 4, 'enc'), /not valid JSON/);
  });
});
