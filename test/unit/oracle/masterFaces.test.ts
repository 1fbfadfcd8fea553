/**
 * Synthesised candidates past the photo pool (daemon/attack/oracle/masterFaces.ts), on a stand-in face model and
 * encoder (a latent's template is a fixed nonlinear map of it): the faces cover own identities the photos leave
 * uncovered, far more than as many random faces do (fails when the inverse or the grouping is broken); each kept
 * template is the copy's answer for the kept latent; the same seed gives the same faces; every copy query is
 * counted, and merged into the hub order each face is one counted system query.
 */
import * as assert from 'node:assert/strict';
import { synthesiseMasterFaces, uncoveredRows } from '../../../daemon/attack/oracle/masterFaces';
import { firstAccepts, hubOrders } from '../../../daemon/attack/oracle/decisionSearch';
import { mulberry32 } from '../../../daemon/data/split';

const K = 8, dim = 8, thr = 0.93;

/** The stand-in "render then encode": template = unit(A·z + 0.3·tanh(z)), A a fixed random matrix. */
function standInCopy() {
  const r = mulberry32(42);
  const A = Float64Array.from({ length: dim * K }, () => r() * 2 - 1);
  let rows = 0;
  const one = (z: Float32Array, i: number, out: Float32Array) => {
    let n = 0;
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let c = 0; c < K; c++) s += A[d * K + c] * z[i * K + c] + (d === c ? 0.3 * Math.tanh(z[i * K + c]) : 0);
      out[i * dim + d] = s;
      n += s * s;
    }
    n = Math.sqrt(n);
    for (let d = 0; d < dim; d++) out[i * dim + d] /= n;
  };
  const embed = async (z: Float32Array, m: number) => {
    const out = new Float32Array(m * dim);
    for (let i = 0; i < m; i++) one(z, i, out);
    rows += m;
    return out;
  };
  return { embed, rows: () => rows };
}

/** Identities as latent centres, photos near them, all encoded by the stand-in. */
async function people(seed: number, identities: number, photosEach: number, embed: (z: Float32Array, m: number) => Promise<Float32Array>) {
  const r = mulberry32(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const ids: string[] = [], z: number[] = [];
  for (let i = 0; i < identities; i++) {
    const c = Array.from({ length: K }, g);
    for (let p = 0; p < photosEach; p++) { ids.push(`p${seed}-${i}`); z.push(...c.map((x) => x + 0.05 * g())); }
  }
  const templates = await embed(Float32Array.from(z), ids.length);
  const firsts = Array.from({ length: identities }, (_, i) => i * photosEach);
  const pop = new Float32Array(identities * dim);
  firsts.forEach((p, i) => pop.set(templates.subarray(p * dim, (p + 1) * dim), i * dim));
  return { ids, templates, pop, popIds: firsts.map((p) => ids[p]) };
}

const clamp = (z: Float32Array) => { for (let i = 0; i < z.length; i++) z[i] = Math.max(-3, Math.min(3, z[i])); };

describe('oracle: master faces (synthesised candidates past the photo pool)', function () {
  this.timeout(30_000);

  it('covers own identities the photos leave uncovered, far more than as many random faces; kept templates are the copy\'s; copy queries counted', async () => {
    const copy = standInCopy();
    const own = await people(1, 400, 2, copy.embed);
    const before = copy.rows();
    const mf = await synthesiseMasterFaces(copy.embed, K, own.templates, own.ids, own.pop, own.popIds, dim, { count: 150, threshold: thr, groupSize: 2, pairs: 400, steps: 2, batch: 32, seed: 3, clamp });
    assert.equal(mf.copyQueries, copy.rows() - before, 'every copy query counted');
    assert.equal(mf.ids.length, 150);
    const open = uncoveredRows(own.templates, own.ids, own.pop, own.popIds, dim, thr);
    assert.equal(mf.uncoveredBefore, open.length);
    assert.ok(open.length > 100, `the photos leave ${open.length} own identities uncovered`);
    // Recount coverage from the returned templates alone.
    const cov = (t: Float32Array, n: number) => open.filter((q) => Array.from({ length: n }, (_, k) => k).some((k) => {
      let s = 0;
      for (let d = 0; d < dim; d++) s += t[k * dim + d] * own.pop[q * dim + d];
      return s >= thr;
    })).length;
    const byMaster = cov(mf.templates, 150);
    assert.equal(mf.uncoveredBefore - mf.uncoveredAfter, byMaster, 'the reported coverage is the templates\' own');
    const r = mulberry32(9);
    const randomZ = Float32Array.from({ length: 150 * K }, () => (r() * 2 - 1) * 2);
    const byRandom = cov(await copy.embed(randomZ, 150), 150);
    assert.ok(byMaster > 60 && byMaster > 4 * byRandom, `synthesised faces cover ${byMaster} of ${open.length} uncovered own identities, random faces ${byRandom}`);
    // The kept template is the copy's answer for the kept latent (refinement bookkeeping included).
    const again = await copy.embed(mf.latents, 150);
    for (let i = 0; i < again.length; i++) assert.ok(Math.abs(again[i] - mf.templates[i]) < 1e-6, `template value ${i}`);
  });

  it('is deterministic for a seed; another seed gives other faces', async () => {
    const copy = standInCopy();
    const own = await people(1, 200, 2, copy.embed);
    const make = (seed: number) => synthesiseMasterFaces(copy.embed, K, own.templates, own.ids, own.pop, own.popIds, dim, { count: 40, threshold: thr, pairs: 300, steps: 1, seed, clamp });
    const [a, b, c] = [await make(5), await make(5), await make(6)];
    assert.deepEqual(Array.from(a.latents), Array.from(b.latents));
    assert.deepEqual(Array.from(a.gains), Array.from(b.gains));
    assert.notDeepEqual(Array.from(a.latents), Array.from(c.latents));
    await assert.rejects(synthesiseMasterFaces(copy.embed, K, own.templates, own.ids, own.pop, own.popIds, dim, { count: 4, threshold: thr, pairs: 4 }), /ridge pairs/);
  });

  it('merged into the hub order, each synthesised face is one counted query; a subject can fall to one', async () => {
    const copy = standInCopy();
    const own = await people(1, 400, 2, copy.embed);
    const held = await people(2, 300, 1, copy.embed);
    const mf = await synthesiseMasterFaces(copy.embed, K, own.templates, own.ids, own.pop, own.popIds, dim, { count: 150, threshold: thr, groupSize: 2, pairs: 400, seed: 3, clamp });
    const nPool = own.ids.length, m = mf.ids.length;
    assert.ok(m > 50, `${m} synthesised faces`);
    const [order] = hubOrders(own.templates, own.ids, own.pop, own.popIds, dim, { thresholds: [thr], looser: thr - 0.05, extra: { templates: mf.templates, ids: mf.ids } });
    assert.equal(new Set(order).size, nPool + m, 'the order is a permutation of photos and synthesised faces');
    const all = new Float32Array(own.templates.length + mf.templates.length);
    all.set(own.templates);
    all.set(mf.templates, own.templates.length);
    let asked = 0;
    const decide = async (s: string, p: number) => {
      asked++;
      const q = held.popIds.indexOf(s);
      let c = 0;
      for (let d = 0; d < dim; d++) c += all[p * dim + d] * held.pop[q * dim + d];
      return c >= thr;
    };
    const res = await firstAccepts(held.popIds, order, decide, 300);
    assert.equal(asked, res.reduce((a, r) => a + r.queries, 0), 'every submission, photo or synthesised, is one query');
    for (const r of res) if (r.photo >= 0) assert.equal(r.queries, order.indexOf(r.photo) + 1);
    assert.ok(res.some((r) => r.photo >= nPool), 'some subject is first accepted by a synthesised face');
    assert.throws(() => hubOrders(own.templates, own.ids, own.pop, own.popIds, dim, { thresholds: [thr], looser: thr - 0.05, extra: { templates: mf.templates, ids: ['master:0'] } }), /extra candidates/);
  });
});
