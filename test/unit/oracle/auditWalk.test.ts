/**
 * The audit's decision search walks after the first accept (daemon/audit/oracle.ts → attack/invert.ts
 * `attackerTargets` → attack/oracle/decisionWalk.ts), on a synthetic system without LFW: a toy PCA face model of
 * random 112-px "photos" and a random linear pixel "encoder" as the system (8-bit faces, accept above the
 * threshold). Every walk query is answered and counted by the simulated system; the face at the larger budget
 * scores higher than the accepted photo; every face kept is accepted; a lock-out during the walk marks that subject
 * only, which keeps its last accepted face and is still scored.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { attackerTargets } from '../../../daemon/attack/invert';
import { auditAttackSpec, planAttack } from '../../../daemon/attack/plan';
import { oracleSetup, oracleView } from '../../../daemon/audit/oracle';
import { curveBudgets } from '../../../daemon/audit/oracleCurve';
import type { Calibration } from '../../../daemon/audit/calibration';
import type { TemplateResult } from '../../../daemon/audit/reportSchema';
import { validateAuditConfig } from '../../../daemon/protocol/auditConfig';
import type { ThreatModel } from '../../../daemon/protocol/threatModel';
import { SubjectOracleError } from '../../../daemon/protocol/verifierApi';
import type { tf } from '../../../daemon/tfjs/tf';
import { D, DIM, PHOTOS, toyOracleSuite } from '../../fixtures/toyOracleWorld';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SUBJECTS = 12, BUDGET = 300;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('oracle: the audit\'s decision search walks after the first accept', function () {
  this.timeout(300_000);
  const world = toyOracleSuite(SUBJECTS);
  let threshold: number;

  before(() => {
    const { refA, stolen } = world();
    const emb = refA.embeddings;
    // Half the subjects accept some photo, barely (the walk is for faces near the boundary): the threshold just under the median best photo's cosine.
    const best = stolen.map((t) => Math.max(...Array.from({ length: PHOTOS }, (_, p) => dot(emb.subarray(p * DIM, (p + 1) * DIM), t)))).sort((a, b) => a - b);
    threshold = best[Math.floor(SUBJECTS / 2)] - 0.005;
  });

  function setup(attacker: object) {
    const { model, enc, refA, store } = world();
    const config = validateAuditConfig({ name: 'a', encoder: 'arcface512-faceplugin', templates: 'store.npy', threat: { oracle: { kind: 'decision' }, attacker: { template: 'none', queries: BUDGET, ...attacker } } }, 'a.json').config!;
    const plan = planAttack(auditAttackSpec(config), ROOT);
    const calibration = { points: [{ fmr: 0.01, threshold, impostorsAbove: 50, attainable: true, lowSupport: false }] } as unknown as Calibration;
    const s = oracleSetup({
      config, plan, store, refA, refLatents: new Float32Array(PHOTOS * 12), latentDim: 12, calibration, signal: new AbortController().signal, model, encoder: enc,
      planFor: (t: ThreatModel) => planAttack(auditAttackSpec({ ...config, threat: t }), ROOT), log: () => undefined,
    })!;
    return { plan, run: s.run };
  }
  const score = (face: Uint8Array, s: number) => dot(world().enc.templateOf(face), world().stolen[s]);

  it('walks with the queries the first accept left: every query counted, every face kept accepted, the face at the larger budget scores higher', async () => {
    const { enc, refA, store, stolen, subjects } = world();
    const { plan, run } = setup({});
    assert.ok(run.hooks.walk, 'the walk is on by default');
    enc.asked = 0;
    const v = await attackerTargets(plan, subjects, stolen, run.hooks);
    const firsts = v.accepts!.map((a) => a[0]);
    const walked = firsts.map((q, s) => (q !== null ? s : -1)).filter((s) => s >= 0);
    assert.ok(walked.length >= SUBJECTS / 2, `${walked.length} subjects accepted`);
    // The first phase costs its position in the order (or the whole budget); the rest is the walk, all of it answered by the system's encoder.
    const first = firsts.reduce((a: number, q, s) => a + (q ?? v.queries![s]), 0);
    assert.equal(v.queries!.reduce((a, b) => a + b, 0), first + enc.asked, 'the walk\'s queries are counted in the subjects\' totals');
    assert.ok(enc.asked > 0 && v.queries!.every((q) => q <= BUDGET), `walk queries ${enc.asked}; totals ${v.queries}`);
    let gained = 0, rose = 0;
    for (const s of walked) {
      const photo = refA.crops!.subarray(v.photos![s] * D, (v.photos![s] + 1) * D);
      const held = v.held![s];
      assert.deepEqual(held.map((h) => h.queries), curveBudgets(BUDGET).filter((c) => c >= firsts[s]!), `subject ${s}: a face per checkpoint from its first accept on`);
      for (const h of held) assert.ok(score(h.face, s) > threshold, `subject ${s}: the face held at ${h.queries} is rejected`);
      assert.ok(score(v.faces![s]!, s) > threshold);
      // Before a walk step fits (20 directions + 1 check), the face held is the accepted photo (the walk's rendering of it:
      // the PCA rendering plus the photo's residual, equal up to one 8-bit level).
      if (held[0].queries - firsts[s]! < 21) {
        const off = held[0].face.reduce((m, x, k) => Math.max(m, Math.abs(x - photo[k])), 0);
        assert.ok(off <= 1, `at its first accept subject ${s} holds the accepted photo (off by ${off})`);
      }
      gained += score(v.faces![s]!, s) - score(photo, s);
      if (score(v.faces![s]!, s) > score(photo, s)) rose++;
      if (process.env.SHOW_WALK) console.log(s, firsts[s], score(photo, s).toFixed(3), held.map((h) => `${h.queries}:${score(h.face, s).toFixed(3)}`).join(" "), threshold.toFixed(3));
    }
    // (the toy system's cosines saturate near 0.95, so the gain is small but steady)
    assert.ok(gained / walked.length > 0.015 && rose > walked.length / 2, `mean gain in the system's score ${(gained / walked.length).toFixed(3)}, ${rose} of ${walked.length} rose`);
    const none = setup({ walkQueries: 0 });
    assert.equal(none.run.hooks.walk, undefined, 'walkQueries 0: no walk');
  });

  it('a lock-out during the walk marks that subject only; it keeps its last accepted face, which is scored', async () => {
    const { store, stolen, subjects } = world();
    const { plan, run } = setup({ walkQueries: 100 });
    const walk = run.hooks.walk!;
    const v0 = await attackerTargets(plan, subjects, stolen, { ...run.hooks, walk: { ...walk, limit: 0 } });
    const victim = v0.accepts!.findIndex((a) => a[0] !== null);
    // The service locks the victim out at its 30th walk query (the 2nd step's estimate), whatever the others do.
    const accepts = (subject: string) => {
      const inner = walk.accepts(subject);
      let n = 0;
      return {
        get queries() { return n; },
        accepts: async (faces: tf.Tensor4D) => {
          // The refused query is counted, as the service counts it.
          if (subject === subjects[victim] && n + faces.shape[0] >= 30) { n++; throw new SubjectOracleError('locked-out', subject, 'attempt limit reached'); }
          n += faces.shape[0];
          return inner.accepts(faces);
        },
      };
    };
    run.hooks.walk = { ...walk, accepts };
    const results = subjects.map((id, r): TemplateResult => ({ row: r, id }));
    const view = await oracleView(run, store, subjects.map((_, r) => r), (r) => results[r], plan);
    assert.match(results[victim].oracle!.error ?? '', /locked-out/);
    assert.equal(results[victim].failure, undefined, 'the locked-out subject is still scored');
    assert.ok(results.every((r, s) => s === victim || !r.oracle!.error), 'the others go on');
    const i = view.rows.indexOf(victim);
    assert.ok(i >= 0 && view.faces![i] && score(view.faces![i]!, victim) > threshold, 'its last accepted face is kept');
    assert.ok(results.filter((_, s) => s !== victim && v0.accepts![s][0] !== null).every((r) => r.oracle!.queries > (r.oracle!.accepts![0].queries ?? 0)), 'the others walked');
    const spent = results[victim].oracle!.queries - v0.queries![victim];
    assert.ok(spent >= 21 && spent <= 24, `the first step (20 answered, then 0 to 3 checks) and the refused query, not ${spent}`);
  });
});
