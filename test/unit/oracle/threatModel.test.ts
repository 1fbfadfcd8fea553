/**
 * The threat model (issue 25) in the audit config, the judge's choice of attack from it, the plan refusing an
 * attack not built yet, and the config language server's diagnostics for it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateAuditConfig } from '../../../daemon/protocol/auditConfig';
import { defaultThreatModel, mitigatedThreat, probeCount, type ThreatModel } from '../../../daemon/protocol/threatModel';
import { judgeOracle } from '../../../daemon/encoders/judge';
import { auditAttackSpec, planAttack } from '../../../daemon/attack/plan';
import { checkConfigText, threatDiagnostic, type CheckEnv } from '../../../daemon/lsp/checks';
import { npyBytes } from '../../../daemon/audit/templateStore';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const base = { name: 'a', encoder: 'arcface512-faceplugin', templates: 'store.npy' };
const threat = (oracle: object, attacker: object = {}): ThreatModel => ({ oracle: { kind: 'embedding', ...oracle }, attacker: { encoder: 'copy', template: 'stolen', queries: 200, ...attacker } } as ThreatModel);

describe('oracle: threat model in the audit config', () => {
  it('defaults to today\'s threat model: an embedding oracle and a stolen template', () => {
    const { config, problems } = validateAuditConfig(base, 'a.json');
    assert.deepEqual(problems, []);
    assert.deepEqual(config!.threat, defaultThreatModel());
  });

  it('takes a score oracle with rounding, and refuses options of another oracle kind (walkQueries without a decision oracle too), an unknown kind, and "other" without its encoder', () => {
    const ok = validateAuditConfig({ ...base, threat: { oracle: { kind: 'score', decimals: 2 }, attacker: { template: 'none', queries: 150 } } }, 'a.json');
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.config!.threat.attacker.encoder, 'copy');
    const wrong = validateAuditConfig({ ...base, threat: { oracle: { kind: 'decision', decimals: 2 }, attacker: { encoder: 'other' } } }, 'a.json');
    const where = wrong.problems.map((p) => p.where);
    assert.ok(where.includes('a.json#/threat/oracle/decimals'), where.join(', '));
    assert.ok(where.includes('a.json#/threat/attacker'), where.join(', '));
    const self = validateAuditConfig({ ...base, threat: { attacker: { encoder: 'other', otherEncoder: 'arcface512-faceplugin' } } }, 'a.json');
    assert.ok(self.problems.some((p) => /audited encoder itself/.test(p.reason)));
    // The walk after a first accept belongs to a decision oracle only.
    const walk = validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, attacker: { template: 'none', walkQueries: 100 } } }, 'a.json');
    assert.ok(walk.problems.some((p) => p.where === 'a.json#/threat/attacker/walkQueries' && /walkQueries is for a decision oracle/.test(p.reason)), JSON.stringify(walk.problems));
    assert.deepEqual(validateAuditConfig({ ...base, threat: { oracle: { kind: 'decision' }, attacker: { template: 'none', walkQueries: 0 } } }, 'a.json').problems, []);
    const ownCopy = validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, attacker: { encoder: 'copy', template: 'none', ownEnrolments: 1000 } } }, 'a.json');
    assert.ok(ownCopy.problems.some((p) => p.where === 'a.json#/threat/attacker/ownEnrolments' && /ownEnrolments is for a score oracle and an attacker with no encoder \(here: a score oracle, attacker.encoder "copy"\)/.test(p.reason)), JSON.stringify(ownCopy.problems));
    assert.ok(validateAuditConfig({ ...base, threat: { oracle: { kind: 'decision' }, attacker: { encoder: 'none', template: 'none', ownEnrolments: 1000 } } }, 'a.json').problems.some((p) => /ownEnrolments is for a score oracle/.test(p.reason)));
    assert.deepEqual(validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, attacker: { encoder: 'none', template: 'none', ownEnrolments: 1000 } } }, 'a.json').problems, []);
    const bad = validateAuditConfig({ ...base, threat: { oracle: { kind: 'similarity' } } }, 'a.json');
    assert.ok(!bad.config || bad.problems.length > 0);
    assert.ok(bad.problems.some((p) => p.where.includes('/threat/oracle/kind')), JSON.stringify(bad.problems));
  });

  it('the written audit schema carries the threat model (one source)', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'schemas', 'audit.schema.json'), 'utf8')) as { properties: Record<string, { properties: Record<string, { properties: Record<string, { enum?: string[]; anyOf?: { const: string }[] }> }> }> };
    const kind = schema.properties.threat.properties.oracle.properties.kind;
    assert.deepEqual((kind.anyOf ?? []).map((k) => k.const), ['embedding', 'score', 'decision']);
  });
});

describe('oracle: the judge picks the attack from the threat model', () => {
  it('a stolen template is inverted whatever the oracle', () => {
    for (const kind of ['embedding', 'score', 'decision']) assert.equal(judgeOracle(threat({ kind })).attack, 'template-inversion');
  });
  it('score + encoder copy, no template → least squares over probe scores (built)', () => {
    const d = judgeOracle(threat({ kind: 'score' }, { template: 'none' }));
    assert.deepEqual([d.attack, d.implemented], ['score-least-squares', true]);
  });
  it('score without the encoder, and decision oracles → their searches (built)', () => {
    const s = judgeOracle(threat({ kind: 'score' }, { template: 'none', encoder: 'none' }));
    assert.deepEqual([s.attack, s.implemented], ['score-search', true]);
    const d = judgeOracle(threat({ kind: 'decision' }, { template: 'none' }));
    assert.deepEqual([d.attack, d.implemented], ['decision-search', true]);
    assert.match(d.reason, /hubness/);
    assert.match(judgeOracle(threat({ kind: 'decision' }, { template: 'none', encoder: 'none' })).reason, /random order/);
  });
  it('a mitigation changes what the system answers in one place (mitigatedThreat); an attempt limit is the same run cut', () => {
    const t = threat({ kind: 'score', decimals: 3 }, { template: 'none', encoder: 'none' });
    assert.equal(mitigatedThreat(t, 'round-1')?.threat.oracle.decimals, 1);
    assert.equal(mitigatedThreat({ ...t, oracle: { kind: 'score', decimals: 0 } }, 'round-2')?.threat.oracle.decimals, 0, 'a coarser system stays as coarse');
    assert.equal(mitigatedThreat(t, 'decision-only')?.threat.oracle.kind, 'decision');
    assert.deepEqual(mitigatedThreat(t, 'attempt-limit:50'), { threat: t, limit: 50 });
    assert.equal(mitigatedThreat(threat({ kind: 'decision' }, { template: 'none' }), 'round-2'), null);
    assert.ok(!validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, attacker: { template: 'none' }, mitigations: ['round-3.5'] } }, 'a.json').config, 'an unknown mitigation is refused');
    const stolen = validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, mitigations: ['round-1'] } }, 'a.json');
    assert.ok(stolen.problems.some((p) => /mitigations of an oracle mean nothing/.test(p.reason)), JSON.stringify(stolen.problems));
  });
  it('an embedding oracle with no template is an error that says what is missing', () => {
    assert.throws(() => judgeOracle(threat({ kind: 'embedding' }, { template: 'none' })), /nothing to invert/);
  });
  it('the plan carries the decision, and refuses an attack not built with the judge\'s reason', () => {
    const ok = validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, attacker: { template: 'none' } } }, 'a.json').config!;
    assert.equal(planAttack(auditAttackSpec(ok), ROOT).oracle.attack, 'score-least-squares');
    const dec = validateAuditConfig({ ...base, threat: { oracle: { kind: 'decision' }, attacker: { template: 'none' } } }, 'a.json').config!;
    const p = planAttack(auditAttackSpec(dec), ROOT);
    assert.deepEqual([p.oracle.attack, p.decision.route], ['decision-search', 'blackbox']);
    assert.throws(() => planAttack(auditAttackSpec({ ...dec, route: 'whitebox' }), ROOT), /sees only the system's answers/);
    const srch = validateAuditConfig({ ...base, threat: { oracle: { kind: 'score' }, attacker: { template: 'none', encoder: 'none', queries: 300, probes: 40 } } }, 'a.json').config!;
    assert.equal(planAttack(auditAttackSpec(srch), ROOT).search.queries, 260, 'the search spends what the probes leave');
    const few = { ...srch, threat: { ...srch.threat, attacker: { ...srch.threat.attacker, queries: 40, probes: undefined } } };
    assert.equal(planAttack(auditAttackSpec(few), ROOT).search.queries, 1, '100 default probes leave a budget of 40 one search query');
    assert.equal(probeCount(few.threat.attacker, 10_000) + planAttack(auditAttackSpec(few), ROOT).search.queries, 40, 'never more than attacker.queries in all');
    assert.throws(() => planAttack(auditAttackSpec({ ...dec, threat: { ...dec.threat, oracle: { kind: 'embedding' } } }), ROOT), /nothing to invert/);
    // The secant search reads templates: a system that answers scores (or decisions) has none to give.
    assert.throws(() => planAttack(auditAttackSpec({ ...srch, search: { ...srch.search, method: 'secant' } }), ROOT), /"secant" reads the templates an embedding oracle answers; .* answers only scores \(score-search\): use "zeroth-order"/);
    const stolen = validateAuditConfig({ ...base, search: { method: 'secant' } }, 'a.json').config!;
    assert.equal(planAttack(auditAttackSpec(stolen), ROOT).search.method, 'secant', 'a stolen template (embedding oracle): allowed');
  });
});

describe('oracle: the config language server checks the threat model', () => {
  let tmp: string;
  let env: CheckEnv;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-threat-'));
    env = { repoRoot: ROOT, workspaceDirs: [tmp], lfwCandidates: () => [] };
    fs.writeFileSync(path.join(tmp, 'store.npy'), npyBytes([new Array(512).fill(0.04)], 512));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const check = async (value: object) => (await checkConfigText(path.join(tmp, 'a.faceinv-audit.json'), JSON.stringify(value, null, 2), env)).map((d) => `${d.code}: ${d.message}`);

  it('flags an attack not built, an embedding oracle with no template, options of another kind, and an unknown attacker encoder', async () => {
    assert.equal(threatDiagnostic(threat({ kind: 'score' }, { template: 'none' })), null);
    const dec = await check({ ...base, threat: { oracle: { kind: 'decision' }, attacker: { template: 'none' } } });
    assert.ok(!dec.some((d) => /^threat-unsupported/.test(d)), `the decision search is built: ${dec.join('\n')}`);
    const emb = await check({ ...base, threat: { attacker: { template: 'none' } } });
    assert.ok(emb.some((d) => /^threat-unsupported: an embedding oracle without a stolen template/.test(d)), emb.join('\n'));
    const opt = await check({ ...base, threat: { oracle: { kind: 'embedding', decimals: 1 } } });
    assert.ok(opt.some((d) => /^config-semantic: decimals/.test(d)), opt.join('\n'));
    const other = await check({ ...base, threat: { attacker: { encoder: 'other', otherEncoder: 'no-such-encoder' } } });
    assert.ok(other.some((d) => /^encoder-unknown:/.test(d)), other.join('\n'));
    const svc = await check({ ...base, threat: { oracle: { kind: 'score', service: { url: 'http://127.0.0.1:1', auth: { header: 'x-api-key', env: 'FACEINV_TEST_UNSET_VERIFIER_KEY' } } }, attacker: { template: 'none' } } });
    assert.ok(svc.some((d) => /^credential-unset: the verification service's credential comes from FACEINV_TEST_UNSET_VERIFIER_KEY/.test(d)), svc.join('\n'));
    const embSvc = await check({ ...base, threat: { oracle: { kind: 'embedding', service: { url: 'http://127.0.0.1:1' } } } });
    assert.ok(embSvc.some((d) => /^config-semantic: a verification service answers scores or decisions/.test(d)), embSvc.join('\n'));
    const fine = await check({ ...base, threat: { oracle: { kind: 'score', decimals: 2 }, attacker: { template: 'none' } } });
    assert.ok(!fine.some((d) => /threat|config-semantic/.test(d)), fine.join('\n'));
  });
});
