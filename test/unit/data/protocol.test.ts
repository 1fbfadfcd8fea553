import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parsePairs, parseNames, lfwImageRel, readPairs } from '../../../daemon/data/lfw';
import { makeIdentitySplit, parseSplit, splitToJson, mulberry32 } from '../../../daemon/data/split';
import { openImageDataset, resolveDatasetRoot, subsetByIdentity } from '../../../daemon/data/dataset';
import { LFW_DIR, requireLfw, tempDir } from './helpers';

describe('data/lfw: protocol files', () => {
  it('parses pairs.txt text, folds and match flags', () => {
    const text = '2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t1\tF\t1\n';
    const p = parsePairs(text);
    assert.strictEqual(p.pairs.length, 4);
    assert.deepStrictEqual(p.pairs[1], { fold: 0, a: 'B/B_0001.jpg', b: 'C/C_0003.jpg', match: false });
    assert.deepStrictEqual(p.pairs[2], { fold: 1, a: 'D/D_0002.jpg', b: 'D/D_0004.jpg', match: true });
  });

  it('names the line of a malformed pair', () => {
    assert.throws(() => parsePairs('1\t1\nA\t1\nB\t1\tC\t1\n', 'x/pairs.txt'), /x\/pairs\.txt:2: expected a matched pair/);
    assert.throws(() => parsePairs('1\t1\nA\t1\t0\nB\t1\tC\t1\n', 'p'), /p:2: "0" is not an image number/);
    assert.throws(() => parsePairs('2\t1\nA\t1\t2\n', 'p'), /expected 2 folds × 1 × 2/);
    assert.throws(() => parseNames('A 3\nB x\n', 'n.txt'), /n\.txt:2/);
    assert.strictEqual(lfwImageRel('George_W_Bush', 12), 'George_W_Bush/George_W_Bush_0012.jpg');
  });

  it('reads the real LFW pairs.txt: 10 folds × 300 + 300, every image present', function () {
    requireLfw(this);
    const p = readPairs(path.join(LFW_DIR, 'pairs.txt'));
    assert.strictEqual(p.folds, 10);
    assert.strictEqual(p.perFold, 300);
    assert.strictEqual(p.pairs.length, 6000);
    assert.strictEqual(p.pairs.filter((x) => x.match).length, 3000);
    const ds = openImageDataset(LFW_DIR);
    const rels = new Set(ds.images.map((i) => i.rel));
    const missing = p.pairs.flatMap((x) => [x.a, x.b]).filter((r) => !rels.has(r));
    assert.deepStrictEqual(missing, []);
    const names = parseNames(fs.readFileSync(path.join(LFW_DIR, 'lfw-names.txt'), 'utf8'));
    assert.strictEqual(names.size, 5749);
    assert.strictEqual(ds.identities.length, 5749);
    assert.strictEqual(ds.images.length, 13233);
  });
});

describe('data/dataset: folder-per-identity', () => {
  const dir = tempDir('dataset');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists identity folders and image files, sorted, and finds an lfw-deepfunneled sub-folder', () => {
    const root = path.join(dir, 'lfw-deepfunneled');
    for (const [id, files] of [['Bob', ['b2.png', 'b1.jpg', 'notes.txt']], ['Al', ['a.JPG']], ['Empty', []]] as const) {
      fs.mkdirSync(path.join(root, id), { recursive: true });
      for (const f of files) fs.writeFileSync(path.join(root, id, f), 'x');
    }
    assert.strictEqual(resolveDatasetRoot(dir), root);
    const ds = openImageDataset(dir);
    assert.strictEqual(ds.root, root);
    assert.deepStrictEqual(ds.identities, ['Al', 'Bob']);
    assert.deepStrictEqual(ds.images.map((i) => i.rel), ['Al/a.JPG', 'Bob/b1.jpg', 'Bob/b2.png']);
    assert.deepStrictEqual(openImageDataset(root).id, ds.id);
    assert.deepStrictEqual(subsetByIdentity(ds, ['Bob']).images.length, 2);
    assert.throws(() => openImageDataset(path.join(root, 'Empty')), /no identity folders with images/);
    assert.throws(() => openImageDataset(path.join(dir, 'nope')), /not a directory/);
  });
});

describe('data/split: identity-disjoint, deterministic', () => {
  const ids = Array.from({ length: 1000 }, (_, i) => `person_${i}`);

  it('is disjoint, complete, sized by the fraction and deterministic per seed', () => {
    const a = makeIdentitySplit(ids, { seed: 0, testFraction: 0.2 });
    assert.strictEqual(a.test.length, 200);
    assert.strictEqual(a.train.length, 800);
    const all = new Set([...a.train, ...a.test]);
    assert.strictEqual(all.size, 1000);
    assert.deepStrictEqual(makeIdentitySplit([...ids].reverse(), { seed: 0, testFraction: 0.2 }), a, 'input order does not matter');
    const b = makeIdentitySplit(ids, { seed: 1, testFraction: 0.2 });
    assert.notDeepStrictEqual(b.test, a.test);
    assert.strictEqual(makeIdentitySplit(ids, { seed: 0, testFraction: 0.5 }).test.length, 500);
  });

  it('round-trips through JSON and rejects bad input', () => {
    const a = makeIdentitySplit(ids, { seed: 7, testFraction: 0.1 });
    assert.deepStrictEqual(parseSplit(splitToJson(a)), a);
    assert.throws(() => parseSplit(JSON.stringify({ ...a, train: [...a.train, a.test[0]] }), 'run/split.json'), /run\/split\.json: 1 identities on both sides/);
    assert.throws(() => parseSplit('{', 's'), /s: not JSON/);
    assert.throws(() => makeIdentitySplit(ids, { testFraction: 1 }), /testFraction must be in \(0, 1\)/);
    assert.throws(() => makeIdentitySplit(['x']), /at least 2 identities/);
  });

  it('mulberry32 is a uniform-looking deterministic stream', () => {
    const r = mulberry32(42);
    const xs = Array.from({ length: 10000 }, r);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02 && Math.min(...xs) >= 0 && Math.max(...xs) < 1);
    assert.deepStrictEqual(Array.from({ length: 3 }, mulberry32(42)), xs.slice(0, 3));
  });
});
