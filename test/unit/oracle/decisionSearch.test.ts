/**
 * The decision-oracle attack's first phase (daemon/attack/oracle/decisionSearch.ts): the hub order finds a
 * first accept in fewer queries than a random order on a clustered synthetic population; and over a local
 * `serve-verifier` answering accept / reject on loopback, a subject locked out by the attempt limit, an
 * unknown subject and a threshold changed mid-run are each marked with their reason while the others go on,
 * every query counted by the service.
 */
import * as assert from 'node:assert/strict';
import { colourCrop, colourEmbed, pngBase64 } from './standIn';
import { firstAccepts, hubOrders } from '../../../daemon/attack/oracle/decisionSearch';
import { startVerifierService } from '../../../daemon/server/verifierService';
import { VerifierClient } from '../../../daemon/encoders/verifierClient';
import { SubjectOracleError } from '../../../daemon/protocol/verifierApi';
import { mulberry32 } from '../../../daemon/data/split';

function unitRows(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flatMap((r) => { const n = Math.hypot(...r); return r.map((x) => x / n); }));
}

/** Identities around a few cluster centres of unequal spread, photos near their identity. */
function clustered(seed: number, identities: number, photosEach: number, dim: number) {
  const gauss = (r: () => number) => () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const fixed = gauss(mulberry32(99));
  const centres = Array.from({ length: 6 }, () => Array.from({ length: dim }, fixed));
  const g = gauss(mulberry32(seed));
  const ids: string[] = [], photos: number[][] = [], templates: number[][] = [];
  for (let i = 0; i < identities; i++) {
    const c = centres[i % centres.length], spread = 0.3 + (i % centres.length) * 0.25;
    const t = c.map((x) => x + spread * g());
    templates.push(t);
    for (let p = 0; p < photosEach; p++) { ids.push(`id${seed}-${i}`); photos.push(t.map((x) => x + 0.2 * g())); }
  }
  return { ids, photos: unitRows(photos), templates: unitRows(templates), tIds: Array.from({ length: identities }, (_, i) => `id${seed}-${i}`) };
}

describe('oracle: decision search (first accept by hub order)', function () {
  this.timeout(30_000);

  it('the hub order needs fewer queries to a first accept than a random order, on held-out identities', async () => {
    const dim = 12, thr = 0.9;
    const own = clustered(1, 300, 2, dim);
    const held = clustered(2, 120, 1, dim);
    const [hub] = hubOrders(own.photos, own.ids, own.templates, own.tIds, dim, { thresholds: [thr], looser: 0.8 });
    assert.equal(new Set(hub).size, own.ids.length, 'the order is a permutation of the pool');
    const rand = mulberry32(5);
    const random = Int32Array.from(hub).sort(() => rand() - 0.5);
    const subjects = held.tIds;
    const decide = async (s: string, p: number) => {
      const t = held.templates.subarray(subjects.indexOf(s) * dim, (subjects.indexOf(s) + 1) * dim);
      let c = 0;
      for (let i = 0; i < dim; i++) c += own.photos[p * dim + i] * t[i];
      return c >= thr;
    };
    const budget = 20;
    const withHub = await firstAccepts(subjects, hub, decide, budget);
    const withRandom = await firstAccepts(subjects, random, decide, budget);
    const fallen = (r: typeof withHub) => r.filter((x) => x.photo >= 0).length;
    assert.ok(withHub.every((r) => r.queries <= budget));
    assert.ok(fallen(withHub) > fallen(withRandom) + 10, `hub ${fallen(withHub)} vs random ${fallen(withRandom)} of ${subjects.length} within ${budget}`);
    assert.throws(() => hubOrders(own.photos, own.ids, own.templates, own.tIds, dim, { thresholds: [0.5], looser: 0.8 }), /looser/);
  });

  it('over serve-verifier: a lock-out, an unknown subject and a changed threshold are marked; the rest go on; the service counts every query', async () => {
    const S = 8;
    const embed = colourEmbed;
    const crop = (r: number, g: number, b: number) => colourCrop(S, r, g, b);
    const colours = [[30, 30, 30], [60, 60, 200], [200, 60, 200], [220, 50, 40], [200, 200, 40], [41, 199, 91]];
    const pngs = await Promise.all(colours.map(([r, g, b]) => pngBase64(S, crop(r, g, b))));
    const enrolled = new Map([['alice', await embed(crop(200, 40, 40))], ['bob', await embed(crop(40, 200, 90))], ['carol', await embed(crop(10, 10, 10))]]);
    const s = await startVerifierService({ embed, size: S, enrolled, answer: 'decision', threshold: 0.95, attemptLimit: 4 });
    try {
      const client = new VerifierClient({ url: s.url, retries: 0 });
      const order = Int32Array.from([0, 1, 2, 3, 4, 5]);
      const res = await firstAccepts(['alice', 'mallory', 'bob', 'carol'], order, (subj, p) => client.decide(subj, pngs[p]), 6);
      const by = new Map(res.map((r) => [r.subject, r]));
      assert.deepEqual([by.get('alice')!.photo, by.get('alice')!.queries], [3, 4], 'alice accepted at the red crop, her 4th query');
      assert.match(by.get('mallory')!.error ?? '', /unknown-subject/);
      assert.equal(by.get('bob')!.photo, -1);
      assert.match(by.get('bob')!.error ?? '', /locked-out/, 'bob (accepted only at the 6th photo) is locked out at his 5th query');
      assert.deepEqual([by.get('carol')!.photo, by.get('carol')!.error], [0, undefined], 'carol, after the others failed, still answered');
      assert.equal(s.stats().total, res.reduce((a, r) => a + r.queries, 0), 'the service counted exactly the queries the attack spent');
      // A threshold changed mid-run ends that subject only; any other failure is not swallowed.
      let n = 0;
      const changing = await firstAccepts(['dave', 'erin'], order, async (subj) => { if (subj === 'dave' && ++n === 2) throw new SubjectOracleError('threshold-changed', subj, 'from 0.95 to 0.9'); return subj === 'erin'; }, 6);
      assert.match(changing[0].error ?? '', /threshold-changed/);
      assert.deepEqual([changing[1].photo, changing[1].queries], [0, 1]);
      await assert.rejects(firstAccepts(['x'], order, async () => { throw new Error('network down'); }, 6), /network down/);
    } finally {
      await s.close();
    }
  });
});
