/**
 * The audit under a score-oracle threat model (issue 25) on the tiny LFW audit workspace: the attacker holds
 * the encoder but no template; each subject's template is recovered from the simulated system's scores of
 * designed probe photos, then inverted. Every row reports the oracle queries it cost and the recovered
 * template's cosine to the enrolled one, which more queries raise (the tiny reference's 42 photos make a weak
 * prior in 512 dimensions, so it stays far below the held-out LFW figures of docs/oracles.md). Skips without LFW.
 */
import * as assert from 'node:assert/strict';
import { readChunk } from '../../../daemon/audit/chunks';
import type { TemplateResult } from '../../../daemon/audit/reportSchema';
import { runAudit } from '../../../daemon/audit/run';
import { initEngine } from '../../../daemon/engine/backend';
import type { JobContext } from '../../../daemon/jobs/context';
import { lfwAvailable } from '../../fixtures/tinyWorkspace';
import { makeAuditWorkspace, type AuditWorkspace } from '../../fixtures/auditWorkspace';

function ctxFor(dir: string, logs: string[] = []): JobContext {
  return { jobId: 'test', signal: new AbortController().signal, workspaceDir: dir, progress: () => undefined, log: (l, m) => { logs.push(`${l}: ${m}`); }, setRunDir: () => undefined };
}

describe('oracle: the audit under a score oracle', function () {
  this.timeout(600_000);
  let aw: AuditWorkspace;
  before(async function () {
    if (!lfwAvailable()) { console.log('      (skipped: LFW not found)'); this.skip(); }
    await initEngine({ backend: 'wasm' });
    aw = await makeAuditWorkspace();
  });
  after(() => aw?.cleanup());

  async function audit(queries: number, logs: string[] = []) {
    const threat = { oracle: { kind: 'score', decimals: 2 }, attacker: { encoder: 'copy', template: 'none', queries } };
    const out = await runAudit(aw.config({ threat, search: { method: 'none', detectorCheck: false }, outDir: `audits/score-${queries}` }), ctxFor(aw.dir, logs), { cacheDir: aw.cacheDir, workers: 0 });
    const all: TemplateResult[] = [];
    for (let k = 0, from = 0; from < aw.rows.length; k++, from += 6) all.push(...readChunk(out.auditDir, k, from, Math.min(aw.rows.length, from + 6))!.results);
    return { out, rows: all.filter((r) => !r.skipped) };
  }
  const mean = (rows: TemplateResult[]) => rows.reduce((a, r) => a + (r.oracle?.recoveredCosine ?? 0), 0) / rows.length;

  it('recovers each subject\'s template from its scores, counts the queries, and inverts it; more queries recover more', async () => {
    const logs: string[] = [];
    const { out, rows } = await audit(40, logs);
    assert.equal(out.state, 'finished');
    assert.ok(logs.some((l) => /threat model: score oracle and a copy of the encoder.*40 probes designed.*rounded to 2 decimals/.test(l)), logs.join('\n'));
    assert.equal(rows.length, aw.rows.length);
    for (const r of rows) {
      assert.equal(r.oracle?.attack, 'score-least-squares');
      assert.equal(r.oracle?.queries, 40);
      const c = r.oracle?.recoveredCosine ?? Number.NaN;
      assert.ok(c > 0 && c < 0.9999, `row ${r.row}: recovered cosine ${c}`);
      assert.ok(r.attack, `row ${r.row} is scored`);
    }
    const few = await audit(3);
    assert.ok(few.rows.every((r) => r.oracle?.queries === 3));
    assert.ok(mean(rows) > mean(few.rows) + 0.02, `40 queries: mean recovered cosine ${mean(rows)}; 3 queries: ${mean(few.rows)}`);
  });
});
