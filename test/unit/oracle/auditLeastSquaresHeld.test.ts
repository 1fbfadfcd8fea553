/**
 * The encoder-copy least squares keeps the face held at each budget of the curve (issue 25 item 6): the template
 * recovered from the scores answered by each checkpoint (attack/oracle/scoreRecovery.ts `recoveredAt`, through
 * `attackerTargets` and the audit's `oracleView`), inverted as the final template is (daemon/audit/heldFaces.ts
 * `invertHeldTemplates`, as daemon/audit/run.ts calls it), on a synthetic system without LFW: a toy PCA face model
 * of random 112-px "photos" and a random linear pixel "encoder" (16-d templates) that answers the probes' scores,
 * rounded to 1 decimal. At the budget the held face is the final face; with fewer answers the template, and the
 * face, are worse. Fails if every checkpoint held the final template, or the budget's face were inverted again.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { renderFaces } from '../../../daemon/attack/inversion';
import { invertTargets } from '../../../daemon/attack/invert';
import { auditAttackSpec, planAttack } from '../../../daemon/attack/plan';
import { cosine } from '../../../daemon/attack/oracle/scoreRecovery';
import { startFrom } from '../../../daemon/attack/start';
import { invertHeldTemplates } from '../../../daemon/audit/heldFaces';
import { oracleSetup, oracleView } from '../../../daemon/audit/oracle';
import { curveBudgets } from '../../../daemon/audit/oracleCurve';
import type { Calibration } from '../../../daemon/audit/calibration';
import type { TemplateResult } from '../../../daemon/audit/reportSchema';
import { validateAuditConfig } from '../../../daemon/protocol/auditConfig';
import type { ThreatModel } from '../../../daemon/protocol/threatModel';
import { D, DIM, PHOTOS, toyOracleSuite } from '../../fixtures/toyOracleWorld';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const SUBJECTS = 8, BUDGET = 60;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

describe('oracle: the encoder-copy least squares keeps the face held at each budget', function () {
  this.timeout(300_000);
  const world = toyOracleSuite(SUBJECTS);

  it('per subject one face per checkpoint, the final face at the budget, and the faces held at larger budgets score higher', async () => {
    const { model, enc, refA, store, stolen, subjects, refLatents } = world();
    const config = validateAuditConfig({
      name: 'a', encoder: 'arcface512-faceplugin', templates: 'store.npy', route: 'blackbox', budget: 400, search: { method: 'zeroth-order', detectorCheck: false },
      threat: { oracle: { kind: 'score', decimals: 1 }, attacker: { encoder: 'copy', template: 'none', queries: BUDGET }, mitigations: ['round-1'] },
    }, 'a.json').config!;
    const plan = planAttack(auditAttackSpec(config), ROOT);
    assert.equal(plan.oracle.attack, 'score-least-squares');
    const calibration = { points: [{ fmr: 0.01, threshold: 0.5, impostorsAbove: 50, attainable: true, lowSupport: false }] } as unknown as Calibration;
    const setup = oracleSetup({
      config, plan, store, refA, refLatents, latentDim: model.latentDim, calibration, signal: new AbortController().signal, model, encoder: enc,
      planFor: (t: ThreatModel) => planAttack(auditAttackSpec({ ...config, threat: t }), ROOT), log: () => undefined,
    })!;
    assert.deepEqual(setup.run.hooks.checkpoints, curveBudgets(BUDGET));
    assert.equal(setup.mitigations[0].hooks.checkpoints, undefined, 'a mitigation\'s re-run keeps no held templates');
    const results = subjects.map((id, r): TemplateResult => ({ row: r, id }));
    const view = await oracleView(setup.run, store, subjects.map((_, r) => r), (r) => results[r], plan);
    assert.equal(view.rows.length, SUBJECTS);

    // Inverted as run.ts inverts the final templates: the plan's start rule, then the plan's search, one seed.
    const start = startFrom(plan.start, { templates: refA.embeddings, dim: DIM, latents: refLatents, latentDim: model.latentDim, n: PHOTOS });
    let inverted = 0;
    const invert = async (targets: Float32Array[]) => {
      inverted += targets.length;
      const z = start(targets);
      model.clampLatents(z);
      return (await invertTargets(plan, model, targets, z, { seed: 3, signal: new AbortController().signal, workspaceDir: ROOT, log: () => undefined, queryEncoder: enc })).latents;
    };
    const final = await invert(view.targets);
    const held = await invertHeldTemplates(view.heldTargets!, final, model, invert);
    assert.equal(inverted, SUBJECTS + SUBJECTS * (curveBudgets(BUDGET).length - 1), 'the budget\'s template is the final one, not inverted again');
    const finals = await renderFaces(model, final, SUBJECTS);
    const score = (face: Uint8Array, s: number) => dot(enc.templateOf(face), stolen[s]);

    let rose = 0, gain = 0;
    // The held faces' type I rows at a few thresholds of the toy system: subjects whose held face it accepts, per budget.
    const thresholds = [0.6, 0.7, 0.8, 0.9];
    const accepted = thresholds.map(() => curveBudgets(BUDGET).map(() => 0));
    for (let s = 0; s < SUBJECTS; s++) {
      const ht = view.heldTargets![s];
      assert.deepEqual(ht.map((h) => [h.queries, h.answers]), [[10, 10], [30, 30], [60, 60]], `subject ${s}: a template per checkpoint`);
      assert.deepEqual(Array.from(ht[2].template), Array.from(view.targets[s]), `subject ${s}: at the budget, the final template`);
      assert.ok(cosine(ht[0].template, stolen[s]) < cosine(ht[2].template, stolen[s]), `subject ${s}: 10 answers recover less than 60`);
      assert.deepEqual(held[s].map((h) => h.queries), curveBudgets(BUDGET));
      assert.ok(held[s][2].face.every((x, k) => x === finals[s * D + k]), `subject ${s}: at the budget it holds the final face`);
      const scores = held[s].map((h) => score(h.face, s));
      if (process.env.SHOW_HELD) console.log(s, ht.map((h) => cosine(h.template, stolen[s]).toFixed(3)).join(' '), '|', scores.map((x) => x.toFixed(3)).join(' '));
      thresholds.forEach((t, k) => scores.forEach((x, b) => { if (x > t) accepted[k][b]++; }));
      if (scores[2] > scores[0]) rose++;
      gain += scores[2] - scores[0];
    }
    if (process.env.SHOW_HELD) console.log(accepted);
    assert.ok(accepted.every((a) => a[2] >= a[0]) && accepted.some((a) => a[2] > a[0]), `accepted at the smallest budget vs the largest, per threshold: ${JSON.stringify(accepted)}`);
    assert.ok(rose > SUBJECTS / 2 && gain > 0, `the face held at ${BUDGET} scores above the one at 10 for ${rose} of ${SUBJECTS} subjects (mean gain ${(gain / SUBJECTS).toFixed(3)})`);
  });
});
