/**
 * A protected store audited like any other (daemon/audit/protectedStore.ts, audit config `protection`): its rows
 * read as the scheme's templates (bad rows flagged, a store of another scheme refused), each inverted with its
 * stolen key into an embedding near the one that was protected; bad protection configs and key files are clear
 * errors. (End to end on the tiny LFW audit: test/unit/audit/audit.test.ts.)
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStoreProtection, readProtectedStore, recoverStore } from '../../../daemon/audit/protectedStore';
import { KeyStream, subjectSeed } from '../../../daemon/protect/keys';
import { writeProtectedStore as writeProtected } from '../../fixtures/protectedStore';

const DIM = 512;
const unit = (v: Float32Array) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

describe('audit: a protected store', () => {
  let dir: string;
  const s = new KeyStream(5);
  const people = Array.from({ length: 6 }, (_, i) => ({ id: `p${i}`, e: unit(s.normals(DIM)) }));
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-protected-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the rows as the scheme\'s templates and inverts each with its stolen key, near the protected embedding', () => {
    writeProtected(dir, people.map((p) => p.e), people.map((p) => p.id), 'biohash');
    const prot = openStoreProtection({ config: 'p.faceinv-protect.json', scheme: 'biohash', keys: 'keys.json' }, dir, DIM);
    assert.equal(prot.scheme.id, 'biohash');
    const { store, templates } = readProtectedStore(path.join(dir, 'protected.json'), prot);
    assert.deepEqual([store.rows, store.usable, store.dim], [6, 6, DIM]);
    recoverStore(store, templates, prot, new Float32Array(DIM));
    const c = people.map((p, i) => cos(p.e, store.vectors.subarray(i * DIM, (i + 1) * DIM)));
    // 256 sign bits of a 512-d embedding: the least-squares recovery lands well inside the victim's direction (random ≈ 0 ± 0.05).
    assert.ok(c.every((x) => x > 0.4), `cosines ${c.map((x) => x.toFixed(2))}`);
  });

  it('flags rows that are not the scheme\'s templates or have no key, and refuses a store of another scheme', () => {
    writeProtected(dir, people.map((p) => p.e), people.map((p) => p.id), 'biohash');
    const rows = JSON.parse(fs.readFileSync(path.join(dir, 'protected.json'), 'utf8')) as { id: string; template: number[] }[];
    rows[1].template[3] = 0.5;
    rows[2].template = rows[2].template.slice(0, 100);
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(rows));
    fs.writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ seeds: Object.fromEntries(people.slice(0, 5).map((p) => [p.id, subjectSeed(77, p.id, 0)])) }));
    const prot = openStoreProtection({ config: 'p.faceinv-protect.json', scheme: 'biohash', keys: 'keys.json' }, dir, DIM);
    const { store } = readProtectedStore(path.join(dir, 'bad.json'), prot);
    assert.equal(store.usable, 3);
    assert.match(store.flags[1]?.detail ?? '', /value 3 is 0\.5; a bit template holds 0s and 1s/);
    assert.match(store.flags[2]?.detail ?? '', /100 values, this scheme's templates have 256 bits/);
    assert.match(store.flags[5]?.detail ?? '', /no key for id "p5"/);
    // An IoM store read as BioHashing: 128 indices, not 256 bits.
    writeProtected(dir, people.map((p) => p.e), people.map((p) => p.id), 'iom-grp');
    assert.throws(() => readProtectedStore(path.join(dir, 'protected.json'), prot), /its templates have 128 values, but BioHashing \(256 bits\) makes 256 bits/);
  });

  it('bad protection configs and key files are clear errors', () => {
    writeProtected(dir, people.map((p) => p.e), people.map((p) => p.id), 'biohash');
    const open = (o: Record<string, string | undefined>) => () => openStoreProtection({ config: 'p.faceinv-protect.json', keys: 'keys.json', ...o } as never, dir, DIM);
    assert.throws(open({}), /lists 2 schemes \(biohash, iom-grp\); name the one that protected the store/);
    assert.throws(open({ scheme: 'mlphash' }), /"mlphash" is none of the schemes/);
    assert.throws(open({ scheme: 'biohash', config: 'missing.json' }), /protection config .*missing\.json: cannot be read \(ENOENT\)/);
    fs.writeFileSync(path.join(dir, 'k2.json'), JSON.stringify({ keySeed: -1 }));
    assert.throws(open({ scheme: 'biohash', keys: 'k2.json' }), /keySeed -1 is not an integer/);
    fs.writeFileSync(path.join(dir, 'k3.json'), JSON.stringify({ key: 3 }));
    assert.throws(open({ scheme: 'biohash', keys: 'k3.json' }), /neither "keySeed" nor "seeds"/);
    fs.writeFileSync(path.join(dir, 'p2.faceinv-protect.json'), JSON.stringify({ name: 'p', schemes: [{ scheme: 'biohash', bits: 1024 }] }));
    assert.throws(() => openStoreProtection({ config: 'p2.faceinv-protect.json', keys: 'keys.json' }, dir, DIM), /BioHashing.*bits/);
  });
});
