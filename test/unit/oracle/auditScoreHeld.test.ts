/**
 * The audit's score search keeps the face held at each budget of the curve (issue 25 item 6; daemon/audit/heldFaces.ts
 * `HeldLatents`, fed by the query search's steps as daemon/audit/run.ts feeds it), on a synthetic system without
 * LFW: a toy PCA face model of random 112-px "photos" and a random linear pixel "encoder" as the system, which
 * answers the probes and then the search's rendered faces with a score. A face is held per checkpoint from the
 * probes' count on (the start at the probes' own count); the face held at a larger budget scores at least as high
 * for most subjects; a subject locked out mid-search keeps the faces it held before, and its final face past it.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { renderFaces } from '../../../daemon/attack/inversion';
import { invertTargets, type SearchAnswers } from '../../../daemon/attack/invert';
import { auditAttackSpec, planAttack } from '../../../daemon/attack/plan';
import { HeldLatents } from '../../../daemon/audit/heldFaces';
import { oracleSetup, oracleView } from '../../../daemon/audit/oracle';
import { curveBudgets } from '../../../daemon/audit/oracleCurve';
import type { Calibration } from '../../../daemon/audit/calibration';
import type { TemplateResult } from '../../../daemon/audit/reportSchema';
import { validateAuditConfig } from '../../../daemon/protocol/auditConfig';
import type { ThreatModel } from '../../../daemon/protocol/threatModel';
import { SubjectOracleError } from '../../../daemon/protocol/verifierApi';
import type { tf } from '../../../daemon/tfjs/tf';
import { D, toyOracleSuite } from '../../fixtures/toyOracleWorld';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SUBJECTS = 8, BUDGET = 300, PROBES = 10;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('oracle: the audit\'s score search keeps the face held at each budget', function () {
  this.timeout(300_000);
  const world = toyOracleSuite(SUBJECTS);

  /** The probes, then the search with the held faces kept as run.ts keeps them; `answers` replaces the simulated system's. */
  async function scoreSearch(answers?: SearchAnswers) {
    const { model, enc, refA, store, subjects, refLatents } = world();
    const config = validateAuditConfig({
      name: 'a', encoder: 'arcface512-faceplugin', templates: 'store.npy', search: { method: 'zeroth-order', detectorCheck: false },
      threat: { oracle: { kind: 'score' }, attacker: { encoder: 'none', template: 'none', queries: BUDGET, probes: PROBES } },
    }, 'a.json').config!;
    const plan = planAttack(auditAttackSpec(config), ROOT);
    const calibration = { points: [{ fmr: 0.01, threshold: 0.5, impostorsAbove: 50, attainable: true, lowSupport: false }] } as unknown as Calibration;
    const { run } = oracleSetup({
      config, plan, store, refA, refLatents, latentDim: model.latentDim, calibration, signal: new AbortController().signal, model, encoder: enc,
      planFor: (t: ThreatModel) => planAttack(auditAttackSpec({ ...config, threat: t }), ROOT), log: () => undefined,
    })!;
    const results = subjects.map((id, r): TemplateResult => ({ row: r, id }));
    const view = await oracleView(run, store, subjects.map((_, r) => r), (r) => results[r], plan);
    assert.equal(view.rows.length, SUBJECTS);
    const start = Float32Array.from(view.starts!.flatMap((z) => Array.from(z)));
    model.clampLatents(start);
    const probes = view.rows.map((r) => results[r].oracle!.queries);
    const keeper = new HeldLatents(curveBudgets(BUDGET), probes, start, model.latentDim);
    const inv = await invertTargets(plan, model, view.targets, start, {
      seed: 3, signal: new AbortController().signal, workspaceDir: ROOT, log: () => undefined, queryEncoder: enc,
      answers: answers ?? run.hooks.searchAnswers!(subjects), acceptAt: run.hooks.thresholds,
      onSearchStep: (s, oracle) => keeper.step(s.bestLatents, oracle.used),
    });
    const held = await keeper.faces(model, inv.latents);
    const finals = await renderFaces(model, inv.latents, SUBJECTS);
    const startFaces = await renderFaces(model, start, SUBJECTS);
    const face = (px: Uint8Array, s: number) => px.subarray(s * D, (s + 1) * D);
    return { held, probes, inv, finalFace: (s: number) => face(finals, s), startFace: (s: number) => face(startFaces, s) };
  }
  const score = (face: Uint8Array, s: number) => dot(world().enc.templateOf(face), world().stolen[s]);
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, k) => x === b[k]);

  it('a face per checkpoint from the probes on (the start at the probes\' count), the final face at the budget, and the face at a larger budget scores at least as high', async () => {
    const { held, probes, inv, finalFace, startFace } = await scoreSearch();
    let rising = 0, climbed = 0;
    for (let s = 0; s < SUBJECTS; s++) {
      assert.equal(probes[s], PROBES);
      assert.deepEqual(held[s].map((h) => h.queries), [10, 30, 100, 300], `subject ${s}: a face per checkpoint from its probes on`);
      // The last step may leave a few queries unspent: the budget's checkpoint then holds the final face too.
      assert.ok(inv.queries![s] + PROBES > 200 && inv.queries![s] + PROBES <= BUDGET, `subject ${s} spent ${inv.queries![s] + PROBES}`);
      assert.ok(same(held[s][0].face, startFace(s)), `subject ${s}: at its probes' count it holds the start`);
      assert.ok(same(held[s][3].face, finalFace(s)), `subject ${s}: at the budget it holds the final face`);
      const scores = held[s].map((h) => score(h.face, s));
      if (process.env.SHOW_HELD) console.log(s, inv.queries![s], scores.map((x) => x.toFixed(4)).join(' '));
      // (the 8-bit rendering can cost the search's best a hair against the next one)
      if (scores.every((x, k) => k === 0 || x >= scores[k - 1] - 1e-3)) rising++;
      // The face held at 30 is the search's best then, not its final one.
      if (scores[3] > scores[1] + 1e-3) climbed++;
      assert.ok(scores[3] > scores[0], `subject ${s}: the search raised the system's score (${scores.map((x) => x.toFixed(3))})`);
    }
    assert.ok(rising > SUBJECTS / 2, `the held face's score never falls with the budget for ${rising} of ${SUBJECTS} subjects`);
    assert.ok(climbed > SUBJECTS / 2, `the search climbed past the face held at 30 queries for ${climbed} of ${SUBJECTS} subjects`);
  });

  it('a subject locked out mid-search keeps the faces held before the lock-out, and its final face (found before it) past it', async () => {
    const { enc, stolen, subjects } = world();
    const victim = 2, LOCK = 60;
    const asked = new Map<number, number>();
    // The system answers the search's faces; the victim is locked out at its LOCK-th search query.
    const remote = async (images: tf.Tensor4D, targets: readonly number[]) => {
      const e = await enc.embed(images);
      return targets.map((t, k) => {
        const n = (asked.get(t) ?? 0) + 1;
        asked.set(t, n);
        return t === victim && n >= LOCK ? new SubjectOracleError('locked-out', subjects[t], 'attempt limit reached') : dot(e[k], stolen[t]);
      });
    };
    const { held, inv, finalFace } = await scoreSearch({ remote });
    const free = await scoreSearch();
    assert.match(inv.failures[victim] ?? '', /locked-out/);
    assert.ok(inv.failures.every((f, s) => s === victim || !f), 'the others go on');
    const spent = PROBES + inv.queries![victim];
    if (process.env.SHOW_HELD) console.log(spent, held[victim].map((h) => score(h.face, victim).toFixed(4)).join(' '));
    assert.ok(spent < 100, `the victim stopped at ${spent} queries`);
    assert.deepEqual(held[victim].map((h) => h.queries), [10, 30, 100, 300], 'every checkpoint holds a face');
    // The same seed: up to the lock-out the victim's search went as it would have without it.
    for (const [k, h] of held[victim].entries()) if (h.queries <= spent) assert.ok(same(h.face, free.held[victim][k].face), `before the lock-out (${h.queries}) it holds the face the search held then`);
    assert.ok(held[victim].some((h) => h.queries > PROBES && h.queries <= spent), 'a checkpoint falls inside its search before the lock-out');
    for (const h of held[victim].filter((x) => x.queries > spent)) assert.ok(same(h.face, finalFace(victim)), `past the lock-out (${h.queries}) it holds its final face`);
    assert.ok(score(held[victim][1].face, victim) >= score(held[victim][0].face, victim) - 1e-3, 'the face held before the lock-out is the search\'s best so far');
    assert.ok(score(finalFace(victim), victim) > score(held[victim][0].face, victim), 'its final face, found before the lock-out, beats the start');
  });
});
