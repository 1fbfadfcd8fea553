/**
 * The audit's decision search with the boundary walk, asked of a live `faceinv serve-verifier` over loopback
 * (issue 25: the walk's rendered faces go to the service as PNGs, `serviceAcceptFaces`): the same service code
 * the command runs (`openVerifier`), on an ephemeral port, over the tiny LFW audit workspace's store. The
 * subjects' first accepts and walks happen; report.json's query count equals the service's own (`GET /v1/stats`
 * and its log); the face held at each budget is rated; the final faces are accepted. Fails with the walk off
 * (`walkQueries: 0`: no subject walks). Skips without LFW.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readChunk } from '../../../daemon/audit/chunks';
import { curveBudgets } from '../../../daemon/audit/oracleCurve';
import type { AuditReport, TemplateResult } from '../../../daemon/audit/reportSchema';
import { runAudit } from '../../../daemon/audit/run';
import { openVerifier } from '../../../daemon/cli/commands/serveVerifier';
import { VerifierClient } from '../../../daemon/encoders/verifierClient';
import { STATS_PATH, type VerifierStats } from '../../../daemon/protocol/verifierApi';
import { auditContext, auditWorkspaceOrSkip, type AuditWorkspace } from '../../fixtures/auditWorkspace';

/** The service's threshold (cosine); the budget per subject: the first accept within the 42 photos, the walk with the rest. */
const THRESHOLD = 0.3, BUDGET = 100;
/** One walk step: 20 directions and a check. */
const STEP = 21;

describe('oracle: the audit\'s decision walk through serve-verifier on loopback', function () {
  this.timeout(900_000);
  let aw: AuditWorkspace;
  before(async function () { aw = await auditWorkspaceOrSkip(this); });
  after(() => aw?.cleanup());

  it('first accepts, then the walk, every query counted by the service, the face held at each budget rated, the final faces accepted', async () => {
    const log = path.join(aw.dir, 'service-queries.jsonl');
    const v = await openVerifier({ encoder: 'arcface512-faceplugin', templates: path.join(aw.dir, 'store.json'), answer: 'decision', threshold: THRESHOLD, port: 0, host: '127.0.0.1', workspace: aw.dir, log });
    try {
      const threat = { oracle: { kind: 'decision', service: { url: v.url, retries: 2, backoffMs: 10 } }, attacker: { template: 'none', queries: BUDGET, walkQueries: Number(process.env.WALK_QUERIES ?? BUDGET) } };
      const out = await runAudit(aw.config({ threat, templates: 'store.json', keepImages: 18, outDir: 'audits/decision-service-walk' }), auditContext(aw.dir), { cacheDir: aw.cacheDir, workers: 0 });
      assert.equal(out.state, 'finished');
      const rows: TemplateResult[] = [];
      for (let k = 0, from = 0; from < aw.rows.length; k++, from += 6) rows.push(...readChunk(out.auditDir, k, from, Math.min(aw.rows.length, from + 6))!.results);
      const report = JSON.parse(fs.readFileSync(path.join(out.auditDir, 'report.json'), 'utf8')) as AuditReport;
      const rep = report.oracle!;

      // The service's own count: its stats over HTTP, and its log.
      const stats = await (await fetch(`${v.url}${STATS_PATH}`)).json() as VerifierStats;
      assert.equal(rep.queries, stats.total, `report.json counts ${rep.queries} queries, the service ${stats.total}`);
      assert.equal(fs.readFileSync(log, 'utf8').trim().split('\n').length, stats.total);
      for (const r of rows) assert.equal(r.oracle!.queries, stats.queries[r.id] ?? 0, `row ${r.row}: the audit's count is the service's`);

      if (process.env.SHOW_WALK) for (const r of rows) console.log(r.row, r.oracle!.accepts![0].queries, r.oracle!.queries, r.attack?.direct.cosine?.toFixed(3), r.oracle!.held?.map((h) => `${h.queries}:${h.attack.direct.cosine?.toFixed(3)}`).join(" "));
      let walked = 0, rose = 0;
      const client = new VerifierClient({ url: v.url });
      for (const r of rows) {
        const o = r.oracle!;
        assert.equal(o.error, undefined, `row ${r.row}: ${o.error}`);
        const first = o.accepts![0].queries;
        if (first === null) { assert.equal(o.held?.length ?? 0, 0, `row ${r.row}: no face held without an accept`); continue; }
        if (BUDGET - first >= STEP) {
          assert.ok(o.queries >= first + STEP, `row ${r.row}: first accept at ${first}, ${o.queries} queries in all: it did not walk`);
          walked++;
          if ((r.attack!.direct.cosine ?? -1) > (o.held![0].attack.direct.cosine ?? -1)) rose++;
        }
        assert.deepEqual(o.held!.map((h) => h.queries), curveBudgets(BUDGET).filter((c) => c >= first), `row ${r.row}: a face held per checkpoint from its first accept on`);
        // The final face is the last the service accepted: the audited encoder scores it at the service's threshold, and the service accepts it again.
        assert.ok((r.attack!.direct.cosine ?? -1) >= THRESHOLD - 1e-3, `row ${r.row}: the final face scores ${r.attack!.direct.cosine}`);
        for (const h of o.held!) assert.ok((h.attack.direct.cosine ?? -1) >= THRESHOLD - 1e-3, `row ${r.row}: the face held at ${h.queries} scores ${h.attack.direct.cosine}`);
        const png = fs.readFileSync(path.join(out.auditDir, 'images', r.image!)).toString('base64');
        assert.equal(await client.decide(r.id, png), true, `row ${r.row}: the service accepts the final face`);
      }
      assert.ok(walked >= 2 && rose > walked / 2, `${walked} subjects walked, the final face above the first one held for ${rose}`);
      const typeI = rep.held!.filter((h) => h.measure === 'type I');
      assert.deepEqual([...new Set(typeI.map((h) => h.queries))], curveBudgets(BUDGET));
      assert.ok(typeI.every((h) => h.trials === rows.length), 'every subject counted at every budget');
    } finally {
      await v.close();
    }
  });
});

