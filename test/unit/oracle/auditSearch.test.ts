/**
 * The audit under the two oracle searches (issue 25) on the tiny LFW audit workspace (makeAuditWorkspace: 42
 * reference photos, 18 enrolled templates): the score search with no encoder (probe-set start, then the query
 * search on the answered score) and the decision search (the reference photos in hub order until a first accept),
 * against the system simulated over the store and through `faceinv serve-verifier` on loopback. Each row records
 * its oracle queries and the query of its first accept; the report carries the success-vs-queries curve beside the
 * lookalike, and a mitigation table with one row per mitigation and threshold; the decision search walks after its
 * first accept; report.json rates the face held at each budget (the walk's, the score search's best). Skips without LFW.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { readChunk } from '../../../daemon/audit/chunks';
import { AuditReportSchema, type TemplateResult } from '../../../daemon/audit/reportSchema';
import { curveBudgets } from '../../../daemon/audit/oracleCurve';
import { runAudit } from '../../../daemon/audit/run';
import { openVerifier } from '../../../daemon/cli/commands/serveVerifier';
import { auditContext as ctxFor, auditWorkspaceOrSkip, type AuditWorkspace } from '../../fixtures/auditWorkspace';

describe('oracle: the audit under the score and decision searches', function () {
  this.timeout(900_000);
  let aw: AuditWorkspace;
  before(async function () { aw = await auditWorkspaceOrSkip(this); });
  after(() => aw?.cleanup());

  async function audit(name: string, threat: object, patch: Record<string, unknown> = {}, logs: string[] = []) {
    const out = await runAudit(aw.config({ threat, search: { method: 'zeroth-order', detectorCheck: false }, outDir: `audits/${name}`, ...patch }), ctxFor(aw.dir, logs), { cacheDir: aw.cacheDir, workers: 0 });
    const all: TemplateResult[] = [];
    for (let k = 0, from = 0; from < aw.rows.length; k++, from += 6) all.push(...readChunk(out.auditDir, k, from, Math.min(aw.rows.length, from + 6))!.results);
    return { out, rows: all.filter((r) => !r.skipped) };
  }
  const schemaOk = (r: unknown) => assert.ok(Value.Check(AuditReportSchema, r), JSON.stringify([...Value.Errors(AuditReportSchema, r)].slice(0, 3)));

  it('score search, simulated: per-subject queries and first accepts, the curve beside the lookalike, one mitigation row per mitigation and threshold', async () => {
    const logs: string[] = [];
    const threat = { oracle: { kind: 'score', decimals: 2 }, attacker: { encoder: 'none', template: 'none', queries: 40, probes: 10 }, mitigations: ['round-1', 'decision-only', 'attempt-limit:15'] };
    const { out, rows } = await audit('score-search', threat, {}, logs);
    assert.equal(out.state, 'finished');
    assert.ok(logs.some((l) => /threat model: score oracle without a copy of the encoder.*10 probe photos, the map fitted on the other 32 reference photos; the scores simulated over the store, rounded to 2 decimals/.test(l)), logs.join('\n'));
    assert.equal(rows.length, aw.rows.length);
    const points = out.report.verdicts[0].points.filter((p) => p.attainable);
    for (const r of rows) {
      const o = r.oracle!;
      assert.equal(o.attack, 'score-search');
      assert.ok(o.queries > 10 && o.queries <= 40, `row ${r.row}: ${o.queries} oracle queries (10 probes + the search)`);
      assert.equal(o.accepts?.length, points.length);
      for (const a of o.accepts!) assert.ok(a.queries === null || (a.queries >= 1 && a.queries <= o.queries), `row ${r.row}: first accept ${a.queries} of ${o.queries}`);
      assert.deepEqual(o.mitigations?.map((m) => m.mitigation), ['round-1', 'decision-only']);
      assert.ok(r.attack, `row ${r.row} is scored`);
    }
    const rep = out.report.oracle!;
    if (process.env.SHOW_ORACLE_REPORT) console.log(JSON.stringify(rep, null, 1), rows.map((r) => JSON.stringify(r.oracle)).join('\n'));
    schemaOk(out.report);
    assert.equal(rep.subjects, rows.length);
    assert.equal(rep.queries, rows.reduce((a, r) => a + r.oracle!.queries, 0));
    assert.equal(rep.curves.length, points.length);
    for (const c of rep.curves) {
      assert.deepEqual(c.points.map((p) => p.queries), [10, 30, 40]);
      const at = (q: number) => rows.filter((r) => { const a = r.oracle!.accepts!.find((x) => x.fmr === c.fmr)!.queries; return a !== null && a <= q; }).length;
      assert.deepEqual(c.points.map((p) => p.accepted), [at(10), at(30), at(40)]);
      assert.ok(c.points.every((p, k) => k === 0 || p.accepted >= c.points[k - 1].accepted), 'a success curve never falls');
      assert.match(c.sentence, /of subjects reconstructed within \d+ queries .*lookalike: \d+\.\d %/);
    }
    // One row per mitigation and threshold, beside the unmitigated one.
    assert.equal(rep.mitigations.length, points.length * 4);
    for (const c of rep.curves) {
      const by = new Map(rep.mitigations.filter((m) => m.fmr === c.fmr).map((m) => [m.mitigation, m]));
      const none = by.get('none (as configured)')!, cut = by.get('attempt-limit:15')!;
      assert.equal(none.rateAtBudget, c.points[c.points.length - 1].rate);
      assert.ok(cut.measured && cut.rateAtBudget! <= none.rateAtBudget!, 'an attempt limit can only lower the rate');
      assert.equal(cut.rateAtBudget, rows.filter((r) => { const a = r.oracle!.accepts!.find((x) => x.fmr === c.fmr)!.queries; return a !== null && a <= 15; }).length / rows.length);
      assert.ok(by.get('round-1')!.measured);
    }
    // The search's best face at each budget from the probes on (10 probes: the start at 10), rated per budget as the final face is.
    for (const r of rows) assert.deepEqual(r.oracle!.held?.map((h) => h.queries), [10, 30, 40], `row ${r.row}: a face held per checkpoint`);
    const typeI = rep.held!.filter((h) => h.measure === 'type I');
    assert.deepEqual([...new Set(typeI.map((h) => h.queries))], [10, 30, 40]);
    for (const h of typeI.filter((x) => x.protocol === 'direct')) {
      const p = h.points[0];
      assert.equal(p.accepted, rows.filter((r) => (r.oracle!.held!.find((x) => x.queries === h.queries)!.attack.direct.cosine ?? -1) > p.threshold).length, `direct at ${h.queries}`);
    }
    assert.ok(!rep.notMeasured.some((n) => /transfer of the face found by each query budget: not measured/.test(n)), 'the old "not measured" sentence is gone');
    const md = fs.readFileSync(path.join(out.auditDir, 'report.md'), 'utf8');
    assert.match(md, /\| mitigation \| threshold \| queries to 50 % \| queries to 90 %/);
    assert.match(md, /The face held at each budget: the search's best face .*\n\n\| measure \| encoder \| protocol \| threshold \| ≤ 10 \| ≤ 30 \| ≤ 40 \|\n/);
    const html = fs.readFileSync(path.join(out.auditDir, 'report.html'), 'utf8');
    assert.match(html, /<section id="oracle">.*<svg role="img" aria-label="success rate against oracle queries"/s);
    assert.match(html, /<h3>The face held at each budget<\/h3>/);
  });

  it('score search with another encoder the attacker owns: faceapi-resnet128 moves each start toward its answers (no query); human-faceres, which the engine cannot differentiate, is said and the probe map\'s starts stand', async () => {
    const threat = (other: string) => ({ oracle: { kind: 'score', decimals: 2 }, attacker: { encoder: 'other', otherEncoder: other, template: 'none', queries: 40, probes: 10 } });
    const logs: string[] = [], plainLogs: string[] = [], refusedLogs: string[] = [];
    // With a mitigation re-run: it fits the other encoder's map on the same reference rows, from the same crops.
    const { out, rows } = await audit('score-search-other', { ...threat('faceapi-resnet128'), mitigations: ['round-1'] }, {}, logs);
    assert.equal(out.state, 'finished');
    assert.deepEqual(rows.map((r) => r.oracle!.mitigations?.map((m) => m.mitigation)), rows.map(() => ['round-1']));
    assert.ok(logs.some((l) => /threat model: score oracle without a copy of the encoder \(attacker.encoder "other"\).*moved toward the answers as the attacker's other encoder faceapi-resnet128 sees them/.test(l)), logs.join('\n'));
    const warmed = logs.filter((l) => /the attacker's other encoder faceapi-resnet128: map from the 10 answers \(held-out cosine [\d.]+\), 10 warm-up steps for \d+ subjects, \d+ evaluations/.test(l));
    const badFit = logs.filter((l) => /fits badly.*the probe map's starts stand/.test(l));
    assert.equal(warmed.length + badFit.length > 0, true, logs.join('\n'));
    const plain = await audit('score-search-plain', { ...threat('x'), attacker: { encoder: 'none', template: 'none', queries: 40, probes: 10 } }, {}, plainLogs);
    // The start is the face held at 10 queries (the probes'): moved by the warm-up, the probe map's otherwise.
    const startCos = (rs: TemplateResult[]) => rs.map((r) => r.oracle!.held!.find((h) => h.queries === 10)!.attack.direct.cosine);
    if (warmed.length) assert.notDeepEqual(startCos(rows), startCos(plain.rows), 'the warm-up moved the starts');
    else assert.deepEqual(startCos(rows), startCos(plain.rows), 'a map that fits badly leaves the starts as they were');
    assert.deepEqual(rows.map((r) => r.oracle!.queries <= 40), rows.map(() => true));
    const refused = await audit('score-search-refused', threat('human-faceres'), {}, refusedLogs);
    assert.equal(refused.out.state, 'finished');
    assert.ok(refusedLogs.some((l) => /the attacker's other encoder human-faceres cannot guide the score search's start \(threat.attacker.otherEncoder "human-faceres" cannot be differentiated .*\); the probe map's starts stand/.test(l)), refusedLogs.join('\n'));
    assert.deepEqual(startCos(refused.rows), startCos(plain.rows));
  });

  it('score search with the attacker\'s own enrolments: the starts are searched on the answers against them (no query to a subject); too many enrolments for the reference set are refused by name', async () => {
    const threat = (own: number) => ({ oracle: { kind: 'score', decimals: 2 }, attacker: { encoder: 'none', template: 'none', queries: 40, probes: 10, ownEnrolments: own } });
    const logs: string[] = [], plainLogs: string[] = [];
    const { out, rows } = await audit('score-search-own', threat(6), {}, logs);
    assert.equal(out.state, 'finished');
    assert.ok(logs.some((l) => /threat model: score oracle without a copy of the encoder \(attacker.encoder "none"\).*searched on the system's answers against 6 identities the attacker enrolled itself/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /ownEnrolments 6 is below the template's 512 dimensions/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /own view: the answers against 6 own enrolments, 100 evaluations for each of \d+ subjects \(600 queries to the attacker's own identities each, none to the subject\)/.test(l)), logs.join('\n'));
    const plain = await audit('score-search-own-plain', { ...threat(6), attacker: { encoder: 'none', template: 'none', queries: 40, probes: 10 } }, {}, plainLogs);
    const startCos = (rs: TemplateResult[]) => rs.map((r) => r.oracle!.held!.find((h) => h.queries === 10)!.attack.direct.cosine);
    assert.notDeepEqual(startCos(rows), startCos(plain.rows), 'the own view moved the starts');
    // The subjects' queries are the probes and the search's, as without the view.
    assert.deepEqual(rows.map((r) => r.oracle!.queries), plain.rows.map((r) => r.oracle!.queries));
    const manyLogs: string[] = [];
    const many = await runAudit(aw.config({ threat: threat(5000), search: { method: 'zeroth-order', detectorCheck: false }, outDir: 'audits/score-search-own-many' }), ctxFor(aw.dir, manyLogs), { cacheDir: aw.cacheDir, workers: 0 }).catch((e: Error) => e);
    const said = many instanceof Error ? many.message : `${many.state} ${JSON.stringify(many.report ?? {})} ${manyLogs.join('\n')}`;
    assert.ok(many instanceof Error || many.state !== 'finished', said);
    assert.match(said, /attacker.ownEnrolments 5000: the attacker's photos hold only \d+ identities to enrol/);
  });

  it('decision search, simulated: the first accept, then the walk with the queries left; the last accepted face is scored, and the face held at each budget is rated in report.json', async () => {
    const logs: string[] = [];
    const { out, rows } = await audit('decision', { oracle: { kind: 'decision' }, attacker: { template: 'none', queries: 100 }, mitigations: ['round-2', 'attempt-limit:5'] }, {}, logs);
    assert.equal(out.state, 'finished');
    assert.ok(logs.some((l) => /threat model: decision oracle: the attacker's photos submitted ranked by hubness.*42 photos ordered.*then the boundary walk from each first accept with the queries left/.test(l)), logs.join('\n'));
    const thr = out.report.verdicts[0].points[0].threshold;
    let accepted = 0, walked = 0;
    for (const r of rows) {
      const a = r.oracle!.accepts!;
      assert.equal(a.length, 1);
      assert.equal(a[0].threshold, thr);
      // Not accepted: every one of the 42 reference photos was submitted (fewer than the budget), and no face is held.
      if (a[0].queries === null) { assert.equal(r.oracle!.queries, 42); assert.equal(r.oracle!.held?.length ?? 0, 0); continue; }
      accepted++;
      const q0 = a[0].queries;
      assert.ok(r.oracle!.queries >= q0 && r.oracle!.queries <= 100, `row ${r.row}: ${r.oracle!.queries} queries, first accept at ${q0}`);
      // A walk step costs 21 queries at least (20 directions and a check): a subject with that many left walks.
      if (100 - q0 >= 21) { assert.ok(r.oracle!.queries > q0, `row ${r.row} did not walk`); walked++; }
      // The face scored is the last one the system accepted: the audited encoder scores it above the threshold.
      assert.ok((r.attack!.direct.cosine ?? -1) > thr - 0.01, `row ${r.row}: accepted at query ${q0} but scores ${r.attack!.direct.cosine} (threshold ${thr})`);
      const held = r.oracle!.held!;
      assert.deepEqual(held.map((h) => h.queries), curveBudgets(100).filter((c) => c >= q0), `row ${r.row}: a face held per checkpoint from its first accept on`);
      for (const h of held) assert.ok((h.attack.direct.cosine ?? -1) > thr - 0.01, `row ${r.row}: the face held at ${h.queries} scores ${h.attack.direct.cosine}`);
    }
    assert.ok(accepted > 0 && walked > 0, `${accepted} subjects accepted within 100 photos at FMR 1e-2, ${walked} walked`);
    schemaOk(out.report);
    const rep = out.report.oracle!;
    const m = rep.mitigations;
    assert.deepEqual(m.map((x) => [x.mitigation, x.measured]), [['none (as configured)', true], ['round-2', false], ['attempt-limit:5', true]]);
    assert.match(m[1].note ?? '', /does not change what a decision oracle answers/);
    // The held faces' rows: type I per budget of the curve and protocol, every subject counted (none holding a face yet: not reconstructed).
    const typeI = rep.held!.filter((h) => h.measure === 'type I');
    assert.deepEqual([...new Set(typeI.map((h) => h.queries))], [10, 30, 100]);
    assert.deepEqual(typeI.map((h) => h.protocol).sort(), ['direct', 'direct', 'direct', 'redetect', 'redetect', 'redetect']);
    for (const h of typeI) {
      assert.equal(h.trials, rows.length);
      const holding = rows.filter((r) => r.oracle!.held?.some((x) => x.queries === h.queries)).length;
      const point = h.points.find((p) => p.threshold === thr)!;
      assert.ok(point.accepted <= holding, `${h.protocol} at ${h.queries}: ${point.accepted} accepted, ${holding} holding a face`);
      if (h.protocol === 'direct') assert.equal(point.accepted, rows.filter((r) => (r.oracle!.held?.find((x) => x.queries === h.queries)?.attack.direct.cosine ?? -1) > thr).length);
    }
    assert.ok(!rep.notMeasured.some((n) => /transfer of the face found by each query budget: not measured/.test(n)), 'the old "not measured" sentence is gone');
    assert.ok(rep.notMeasured.some((n) => /Type II of the held faces: not measured — the audit has no other photo/.test(n)), rep.notMeasured.join('\n'));
    const md = fs.readFileSync(path.join(out.auditDir, 'report.md'), 'utf8');
    if (process.env.SHOW_ORACLE_REPORT) console.log(md);
    assert.match(md, /The face held at each budget: .*\n\n\| measure \| encoder \| protocol \| threshold \| ≤ 10 \| ≤ 30 \| ≤ 100 \|\n/);
    assert.match(md, /\| type I \| arcface512-faceplugin \| direct \| FMR 0\.01 \| /);
    const html = fs.readFileSync(path.join(out.auditDir, 'report.html'), 'utf8');
    assert.match(html, /<h3>The face held at each budget<\/h3>/);
  });

  it('decision search with the walk: type II of the face held at each budget, against another store row of the same person', async () => {
    // The store's rows under their person's name: each row's other photos are the other rows of that person.
    const store = JSON.parse(fs.readFileSync(path.join(aw.dir, 'store.json'), 'utf8')) as { id: string; embedding: number[] }[];
    fs.writeFileSync(path.join(aw.dir, 'store-people.json'), JSON.stringify(store.map((r) => ({ ...r, id: r.id.split('/')[0] }))));
    const { out, rows } = await audit('decision-people', { oracle: { kind: 'decision' }, attacker: { template: 'none', queries: 60 } }, { templates: 'store-people.json' });
    assert.ok(rows.every((r) => r.oracle!.otherPhoto), 'every row has another photo of its person');
    const rep = out.report.oracle!;
    const typeII = rep.held!.filter((h) => h.measure === 'type II');
    assert.deepEqual([...new Set(typeII.map((h) => h.queries))], [10, 30, 60]);
    for (const h of typeII) {
      assert.equal(h.trials, rows.length);
      const scored = rows.filter((r) => (r.oracle!.held?.find((x) => x.queries === h.queries)?.typeII?.[h.protocol].cosine ?? -1) > h.points[0].threshold).length;
      assert.equal(h.points[0].accepted, scored, `${h.protocol} at ${h.queries}`);
    }
    assert.ok(!rep.notMeasured.some((n) => /Type II of the held faces: not measured/.test(n)));
    schemaOk(out.report);
  });

  it('through serve-verifier: an unknown subject and a locked-out subject are marked, the rest scored, the service\'s count equal to the audit\'s; resuming keeps what was scored', async () => {
    const store = JSON.parse(fs.readFileSync(path.join(aw.dir, 'store.json'), 'utf8')) as { id: string }[];
    fs.writeFileSync(path.join(aw.dir, 'enrolled.json'), JSON.stringify(store.slice(1)));
    const v = await openVerifier({ encoder: 'arcface512-faceplugin', templates: path.join(aw.dir, 'enrolled.json'), answer: 'decision', threshold: 0.3, attempts: 12, port: 0, host: '127.0.0.1', workspace: aw.dir });
    try {
      const threat = { oracle: { kind: 'decision', service: { url: v.url, retries: 2, backoffMs: 10 } }, attacker: { template: 'none', queries: 20 }, mitigations: ['attempt-limit:5', 'round-1'] };
      const first = await runAudit(aw.config({ threat, outDir: 'audits/decision-service', templates: 'store.json' }), ctxFor(aw.dir), { cacheDir: aw.cacheDir, workers: 0, maxChunks: 1 });
      assert.equal(first.state, 'stopped');
      const { out, rows } = await audit('decision-service', threat, { templates: 'store.json' });
      assert.equal(out.state, 'finished');
      assert.match(rows[0].failure ?? '', /^oracle: unknown-subject/);
      const locked = rows.filter((r) => /locked-out/.test(r.oracle?.error ?? ''));
      assert.ok(locked.length > 0 && locked.length < rows.length - 1, `${locked.length} subjects locked out`);
      for (const r of locked) assert.equal(r.oracle!.queries, 13, 'locked out at its 13th query (attempt limit 12)');
      const scored = rows.filter((r) => r.attack);
      assert.equal(scored.length, rows.length - 1 - locked.length, 'every subject but the failed ones is scored');
      const st = v.stats();
      assert.equal(st.total, rows.reduce((a, r) => a + r.oracle!.queries, 0), `the service counted ${st.total}`);
      assert.equal(st.queries[store[0].id], 1);
      assert.ok(rows.every((r) => r.oracle!.accepts!.every((a) => a.fmr === null)), 'a live service accepts at its own threshold, not at an operating point');
      const m = out.report.oracle!.mitigations;
      assert.equal(m.find((x) => x.mitigation === 'round-1')?.measured, false);
      assert.equal(m.find((x) => x.mitigation === 'attempt-limit:5')?.measured, true);
      schemaOk(out.report);
    } finally {
      await v.close();
    }
  });
});
