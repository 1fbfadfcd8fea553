/**
 * One plan for the run, the audit and `faceinv invert` (daemon/attack/plan.ts): the same attack described by
 * each entry point's config gives the same plan — encoder entry, route, engine, face model, start, search —
 * and FACEINV_ENGINE is honoured the same for all three where the config leaves the engine to 'auto'.
 */
import * as assert from 'node:assert/strict';
import { assertAuditConfig } from '../../../daemon/protocol/auditConfig';
import { assertRunConfig } from '../../../daemon/protocol/runConfig';
import { decoderMisfit } from '../../../daemon/protocol/decoderFit';
import { auditAttackSpec, invertAttackSpec, planAttack, protectAttackSpec, runAttackSpec, type AttackPlan } from '../../../daemon/attack/plan';
import { validateProtectConfig } from '../../../daemon/protocol/protectConfig';
import { INSTALL_ROOT } from '../../../daemon/io/installation';

const ws = INSTALL_ROOT;
const attack = {
  encoder: 'arcface512-faceplugin', route: 'blackbox' as const,
  start: 'ridge' as const, search: { method: 'zeroth-order' as const, sigma: 0.1, learningRate: 0.05, directions: 3, population: 16, detectorCheck: false },
  whitebox: { steps: 7, restarts: 2, select: 'cosine' as const },
};

const runConfig = (over: Record<string, unknown> = {}) => assertRunConfig({
  name: 'p', encoder: attack.encoder, route: attack.route, dataset: { path: 'lfw' }, faceModel: { kind: 'pca', components: 64, clamp: 2.5 },
  start: attack.start, search: { ...attack.search, queries: 40 }, whitebox: attack.whitebox, training: { seed: 3 }, ...over,
}, 'plan test');
const auditConfig = (over: Record<string, unknown> = {}) => assertAuditConfig({
  name: 'p', encoder: attack.encoder, templates: 't.npy', reference: { path: 'lfw' }, route: attack.route, budget: 40,
  faceModel: { components: 64, clamp: 2.5 }, start: attack.start, search: attack.search, whitebox: attack.whitebox, seed: 3, ...over,
}, 'plan test');

/** The plan without the registry entry's file path (the same entry either way) for a readable diff. */
const view = (p: AttackPlan) => ({ ...p, entry: p.entry.file });

describe('attack plan: one plan for run, audit and invert', () => {
  const saved = process.env.FACEINV_ENGINE;
  afterEach(() => { if (saved === undefined) delete process.env.FACEINV_ENGINE; else process.env.FACEINV_ENGINE = saved; });

  it('a run config and an audit config of the same attack give the same plan', () => {
    delete process.env.FACEINV_ENGINE;
    const run = planAttack(runAttackSpec(runConfig()), ws);
    const audit = planAttack(auditAttackSpec(auditConfig()), ws);
    assert.deepEqual(view(run), view(audit));
    assert.equal(run.decision.route, 'blackbox');
    assert.equal(run.search.queries, 40, "the run's queries and the audit's budget are the same per-target budget");
    assert.equal(run.engine, 'auto');
    const finish = { contrast: true, detail: 0.25, neighbours: 16 };
    const finished = planAttack(runAttackSpec(runConfig({ faceModel: { kind: 'pca', components: 64, clamp: 2.5, finish } })), ws);
    assert.deepEqual(view(finished), view(planAttack(auditAttackSpec(auditConfig({ faceModel: { components: 64, clamp: 2.5, finish } })), ws)), 'the final faces\' finish is planned once for both');
    assert.deepEqual(finished.faceModel, { kind: 'pca', components: 64, clamp: 2.5, finish });
    const small = planAttack(runAttackSpec(runConfig({ faceModel: { kind: 'pca', components: 64, clamp: 2.5, size: 96 } })), ws);
    assert.deepEqual(small.faceModel, { kind: 'pca', components: 64, clamp: 2.5, size: 96 }, 'a face model side other than the encoder\'s is planned');
  });

  it('a decoder run and `faceinv invert` of the same decoder give the same plan (white box through the same encoder)', () => {
    delete process.env.FACEINV_ENGINE;
    const run = planAttack(runAttackSpec(runConfig({
      route: 'whitebox', faceModel: { kind: 'decoder', run: 'runs/dec' }, start: 'decoder', search: { method: 'none' },
      whitebox: { steps: 9, restarts: 1, select: 'cosine' }, training: { seed: 0 },
    })), ws);
    const invert = planAttack(invertAttackSpec({ encoderId: attack.encoder, route: 'whitebox', generator: 'runs/dec', steps: 9 }), ws);
    assert.deepEqual(view(invert), { ...view(run), search: invert.search });
    assert.equal(invert.decision.route, 'whitebox');
    assert.deepEqual(invert.faceModel, { kind: 'decoder', run: 'runs/dec' });
  });

  it("FACEINV_ENGINE decides where the config says 'auto' (runs included), and an explicit engine wins", () => {
    process.env.FACEINV_ENGINE = 'tfjs';
    assert.equal(planAttack(runAttackSpec(runConfig()), ws).engine, 'tfjs', "the run config's default 'auto' leaves it to the variable");
    assert.equal(planAttack(auditAttackSpec(auditConfig()), ws).engine, 'tfjs');
    assert.equal(planAttack(invertAttackSpec({ encoderId: attack.encoder, route: 'auto' }), ws).engine, 'tfjs');
    assert.equal(planAttack(runAttackSpec(runConfig({ training: { seed: 3, engine: 'onnxruntime' } })), ws).engine, 'onnxruntime');
    process.env.FACEINV_ENGINE = 'gpu';
    assert.throws(() => planAttack(runAttackSpec(runConfig()), ws), /FACEINV_ENGINE: unknown engine 'gpu'/);
  });

  it("`faceinv protect`'s face step is a run's PCA white box (ridge start, one restart, its steps), or the start alone with 0 steps", () => {
    delete process.env.FACEINV_ENGINE;
    const protect = (whiteboxSteps: number) => validateProtectConfig({ name: 'p', encoder: attack.encoder, schemes: [{ scheme: 'biohash' }], attack: { whiteboxSteps }, seed: 3 }, 'plan test').config!;
    const p = planAttack(protectAttackSpec(protect(20)), ws);
    const run = planAttack(runAttackSpec(runConfig({
      route: 'auto', faceModel: { kind: 'pca', components: 512, clamp: 3 }, start: 'ridge', search: { method: 'none' }, whitebox: { steps: 20, restarts: 1, select: 'cosine' },
    })), ws);
    assert.deepEqual({ ...view(p), search: run.search }, view(run));
    assert.equal(p.decision.route, 'whitebox');
    const none = planAttack(protectAttackSpec(protect(0)), ws);
    assert.equal(none.decision.route, 'blackbox');
    assert.equal(none.search.method, 'none', 'without steps the ridge start is the answer: no queries');
  });

  it('whether a decoder fits an encoder has one answer', () => {
    const enc = planAttack(runAttackSpec(runConfig()), ws).enc;
    assert.equal(decoderMisfit({ encoderId: enc.id, embeddingDim: enc.embeddingDim, template: enc.alignment.template }, enc), undefined);
    assert.match(decoderMisfit({ encoderId: 'other', embeddingDim: enc.embeddingDim }, enc) ?? '', /trained on "other" templates, but this run attacks "arcface512-faceplugin"/);
    assert.match(decoderMisfit({ encoderId: enc.id, embeddingDim: 128 }, enc) ?? '', /takes 128-d embeddings/);
  });
});
