/**
 * The audit's oracle (daemon/audit/oracle.ts) and its report section (oracleCurve.ts) on a synthetic population,
 * without images: what the simulated system answers under the threat model and its mitigations, the first accepts
 * the attacks record, and the curve and mitigation table shaped from them.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { mulberry32 } from '../../../daemon/data/split';
import { validateAuditConfig } from '../../../daemon/protocol/auditConfig';
import type { ThreatModel } from '../../../daemon/protocol/threatModel';
import { attackerTargets } from '../../../daemon/attack/invert';
import { auditAttackSpec, planAttack } from '../../../daemon/attack/plan';
import { oracleSetup } from '../../../daemon/audit/oracle';
import { curveBudgets, oracleReport, queriesFor } from '../../../daemon/audit/oracleCurve';
import type { Calibration } from '../../../daemon/audit/calibration';
import type { ReferenceEmbeddings } from '../../../daemon/audit/reference';
import type { TemplateResult } from '../../../daemon/audit/reportSchema';
import type { TemplateStore } from '../../../daemon/audit/templateStore';
import type { PcaFaceModel } from '../../../daemon/attack/faceModel/pca';
import type { Encoder } from '../../../daemon/encoders/types';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const DIM = 512, PEOPLE = 40, PER = 3, SUBJECTS = 12, LATENT = 8;

/** Unit rows near per-identity centres: PEOPLE × PER attacker photos, SUBJECTS enrolled templates of other people. */
function population() {
  const rand = mulberry32(7);
  const g = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const unit = (v: Float32Array) => { const n = Math.hypot(...v); return v.map((x) => x / n); };
  const shared = Float32Array.from({ length: DIM }, g);
  const person = () => Float32Array.from({ length: DIM }, (_, a) => 0.8 * shared[a] + g());
  const near = (c: Float32Array) => unit(Float32Array.from(c, (x) => x + 0.6 * g()));
  const photos = new Float32Array(PEOPLE * PER * DIM);
  const ids: string[] = [];
  for (let p = 0; p < PEOPLE; p++) { const c = person(); for (let k = 0; k < PER; k++) { photos.set(near(c), (p * PER + k) * DIM); ids.push(`own${p}`); } }
  const enrolled = new Float32Array(SUBJECTS * DIM);
  for (let s = 0; s < SUBJECTS; s++) enrolled.set(near(person()), s * DIM);
  return { photos, ids, enrolled, latents: Float32Array.from({ length: PEOPLE * PER * LATENT }, g) };
}

describe('oracle: the audit\'s simulated system and its first accepts', () => {
  const pop = population();
  const n = pop.ids.length;
  const refA = { rels: pop.ids.map((id, i) => `${id}/${i}.jpg`), identities: pop.ids, embeddings: pop.photos, dim: DIM, crops: new Uint8Array(n * 112 * 112 * 3), failed: 0 } as ReferenceEmbeddings;
  const subjects = Array.from({ length: SUBJECTS }, (_, s) => `subject${s}`);
  const store = { dim: DIM, rows: SUBJECTS, ids: subjects, vectors: pop.enrolled, flags: [], usable: SUBJECTS } as unknown as TemplateStore;
  const stolen = subjects.map((_, s) => pop.enrolled.subarray(s * DIM, (s + 1) * DIM));
  // A threshold most subjects' nearest attacker photo passes, some do not (the lookalike line of the benches).
  const best = stolen.map((t) => Math.max(...pop.ids.map((_, p) => { let c = 0; for (let a = 0; a < DIM; a++) c += pop.photos[p * DIM + a] * t[a]; return c; }))).sort((a, b) => a - b);
  const threshold = best[Math.floor(SUBJECTS / 3)];
  const calibration = { points: [{ fmr: 0.01, threshold, impostorsAbove: 50, attainable: true, lowSupport: false }] } as unknown as Calibration;
  const configOf = (threat: object) => validateAuditConfig({ name: 'a', encoder: 'arcface512-faceplugin', templates: 'store.npy', threat }, 'a.json').config!;
  const setupOf = (threat: object) => {
    const config = configOf(threat);
    const plan = planAttack(auditAttackSpec(config), ROOT);
    return { plan, setup: oracleSetup({ config, plan, store, refA, refLatents: pop.latents, latentDim: LATENT, calibration, signal: new AbortController().signal, model: {} as PcaFaceModel, encoder: {} as Encoder, planFor: (t: ThreatModel) => planAttack(auditAttackSpec({ ...config, threat: t }), ROOT), log: () => undefined })! };
  };

  it('a rounded answer counts as an accept only when it proves the exact score passed: rounding never brings a probe accept earlier', async () => {
    const firsts = async (decimals?: number) => {
      const { plan, setup } = setupOf({ oracle: { kind: 'score', ...(decimals !== undefined ? { decimals } : {}) }, attacker: { encoder: 'none', template: 'none', queries: 100, probes: 50 } });
      const v = await attackerTargets(plan, subjects, stolen, setup.run.hooks);
      assert.ok(v.starts?.every((z) => z?.length === LATENT), 'a start latent per subject');
      assert.ok(v.queries?.every((q) => q === 50));
      return v.accepts!.map((a) => a[0] ?? Infinity);
    };
    const exact = await firsts(), d1 = await firsts(1), d0 = await firsts(0);
    assert.ok(exact.some((q) => q < Infinity) && exact.some((q) => q === Infinity), `exact first accepts ${exact}`);
    exact.forEach((q, s) => assert.ok(d1[s] >= q && d0[s] >= d1[s], `subject ${s}: exact ${q}, 1 decimal ${d1[s]}, 0 decimals ${d0[s]}`));
  });

  it('the decision search accepts a photo whose cosine is above the system\'s threshold, in hub order; an unknown subject is marked and the rest go on', async () => {
    // The first phase alone (no walk): its accepted photo is the face.
    const { plan, setup } = setupOf({ oracle: { kind: 'decision' }, attacker: { template: 'none', queries: 60, walkQueries: 0 } });
    const ids = ['nobody', ...subjects];
    const v = await attackerTargets(plan, ids, [stolen[0], ...stolen], setup.run.hooks);
    assert.match(v.errors[0] ?? '', /unknown-subject/);
    assert.ok(v.errors.slice(1).every((e) => e === undefined));
    const order = setup.run.hooks.order!;
    v.photos!.slice(1).forEach((p, s) => {
      if (p < 0) { assert.equal(v.queries![s + 1], 60); return; }
      let c = 0;
      for (let a = 0; a < DIM; a++) c += pop.photos[p * DIM + a] * stolen[s][a];
      assert.ok(c > threshold, `subject ${s}: photo ${p} at ${c}`);
      assert.equal(order.indexOf(p) + 1, v.queries![s + 1], 'the accepted photo is the one submitted last');
    });
  });

  it('the report: the curve counts first accepts by budget, mitigation rows as designed (re-runs, a cut for the attempt limit, not measured where it cannot be)', async () => {
    const threat = { oracle: { kind: 'score', decimals: 2 }, attacker: { encoder: 'none', template: 'none', queries: 100, probes: 50 }, mitigations: ['round-1', 'decision-only', 'attempt-limit:20'] };
    const { setup } = setupOf(threat);
    assert.deepEqual(setup.mitigations.map((m) => [m.mitigation, m.plan.oracle.attack, m.plan.threat.oracle.decimals]), [['round-1', 'score-search', 1], ['decision-only', 'decision-search', undefined]]);
    assert.deepEqual(curveBudgets(100), [10, 30, 100]);
    assert.deepEqual(curveBudgets(1000), [10, 30, 100, 300, 1000]);
    assert.equal(queriesFor(0.5, [3, null, 9, 1], 4), 3);
    assert.equal(queriesFor(0.9, [3, null, 9, 1], 4), null);
    const at = (q: number | null) => [{ fmr: 0.01, threshold, queries: q }];
    const rows: TemplateResult[] = [5, 25, 60, null].map((q, i) => ({
      row: i, id: `s${i}`, nearest: { rel: 'x', cosine: i === 0 ? threshold + 0.1 : threshold - 0.1, direct: { cosine: 0 }, redetect: { cosine: 0 } },
      oracle: { attack: 'score-search', queries: 100, accepts: at(q), mitigations: [{ mitigation: 'round-1', attack: 'score-search', queries: 100, accepts: at(q === null ? null : q + 10) }, { mitigation: 'decision-only', attack: 'decision-search', queries: 100, accepts: at(null) }] },
    }));
    const t = configOf(threat).threat;
    const rep = oracleReport(rows, t, 'scores')!;
    assert.deepEqual(rep.curves[0].points.map((p) => p.accepted), [1, 2, 3]);
    assert.equal(rep.curves[0].lookalike.accepted, 1);
    const m = Object.fromEntries(rep.mitigations.map((x) => [x.mitigation, x]));
    assert.deepEqual([m['none (as configured)'].q50, m['none (as configured)'].q90, m['none (as configured)'].rateAtBudget], [25, null, 0.75]);
    assert.deepEqual([m['round-1'].q50, m['round-1'].rateAtBudget], [35, 0.75]);
    assert.deepEqual([m['decision-only'].q50, m['decision-only'].rateAtBudget], [null, 0]);
    assert.deepEqual([m['attempt-limit:20'].q50, m['attempt-limit:20'].rateAtBudget], [null, 0.25]);
    const live = oracleReport(rows, { ...t, oracle: { ...t.oracle, service: { url: 'http://127.0.0.1:1' } } }, 'scores')!;
    assert.deepEqual(live.mitigations.map((x) => [x.mitigation, x.measured]), [['none (as configured)', true], ['round-1', false], ['decision-only', false], ['attempt-limit:20', true]]);
    assert.match(live.mitigations[1].note ?? '', /live service: only its own setting is measured/);
  });
});
