/**
 * A cancelled run says why it stopped. The orchestrator records the cancel in run.json
 * (the dashboard otherwise reads "stop reason not recorded (run.json of an older version)"), and the daemon's
 * queue replaces the job's last live report ("query search: 20 targets still searching") by the cancel.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runAttack } from '../../../daemon/attack/orchestrator';
import { JobQueue } from '../../../daemon/jobs/queue';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { JobCancelledError, type JobContext } from '../../../daemon/jobs/context';
import { assertRunConfig } from '../../../daemon/protocol/runConfig';
import { RUN_FILES } from '../../../daemon/protocol/runFolder';
import type { JobInfo } from '../../../daemon/protocol/daemon';
import { runProgress } from '../../../webview/src/dashboardData';
import { lfwAvailable, useTinyWorkspace } from '../../fixtures/tinyWorkspace';

describe('a cancelled run records why it stopped', function () {
  this.timeout(600_000);

  it('the queue ends a cancelled job with its stop reason, not its last live message', async () => {
    const searching: JobKind = {
      kind: 'search', summary: 'test', params: {} as never, label: () => 'search',
      run: async (_p: unknown, ctx: JobContext) => {
        for (let used = 0; ; used += 10) {
          ctx.progress(used, 1000, { cosine: 0.4 }, 'query search: 20 targets still searching', { budget: { kind: 'queries', used, limit: 1000 }, etaSeconds: 30 });
          if (ctx.signal.aborted) throw new JobCancelledError();
          await new Promise((r) => setTimeout(r, 5));
        }
      },
    } as unknown as JobKind;
    const queue = new JobQueue(new Map([['search', searching]]), process.cwd());
    const states: JobInfo[] = [];
    queue.listen({ state: (j) => states.push(j), progress: () => undefined, log: () => undefined });
    const job = queue.submit('search', {});
    await new Promise((r) => setTimeout(r, 60));
    queue.cancel(job.id);
    await queue.idle();
    const last = states[states.length - 1];
    assert.equal(last.state, 'cancelled');
    assert.match(last.progress?.stopReason ?? '', /^cancelled at \d+ \/ 1000 queries$/);
    assert.equal(last.progress?.message, undefined, 'the live "still searching" line is gone');
    assert.equal(last.progress?.etaSeconds, undefined);
  });

  describe('the orchestrator (tiny LFW subset)', function () {
    before(function () { if (!lfwAvailable()) this.skip(); });
    const tiny = useTinyWorkspace({ identities: 10 });

    it('writes state interrupted with a stop reason into run.json, which the dashboard shows', async () => {
      const config = assertRunConfig({
        ...JSON.parse(JSON.stringify(tiny.ws.config)), name: 'cancelled',
        faceModel: { kind: 'pca', components: 8 }, start: 'ridge', search: { method: 'zeroth-order', queries: 400 },
      }, 'test');
      const abort = new AbortController();
      let reports = 0;
      const ctx: JobContext = {
        jobId: 't', signal: abort.signal, workspaceDir: tiny.ws.dir, log: () => undefined, setRunDir: () => undefined,
        // Cancel once the query search has reported twice (the user presses Cancel mid-search).
        progress: (_s, _t, _m, message) => { if (message?.startsWith('query search:') && ++reports === 2) abort.abort(); },
      };
      await assert.rejects(runAttack(config, ctx, { cacheDir: tiny.ws.cacheDir }), JobCancelledError);
      assert.ok(reports >= 2, 'the search ran before the cancel');
      const manifest = JSON.parse(fs.readFileSync(path.join(tiny.ws.dir, 'runs', 'cancelled', RUN_FILES.manifest), 'utf8'));
      assert.equal(manifest.state, 'interrupted');
      assert.match(manifest.stopReason, /^cancelled/);
      const shown = runProgress({ manifest, job: null } as never);
      assert.equal(shown.missing, undefined, `the dashboard says: ${shown.missing}`);
      assert.match(shown.text, /cancelled/);
    });
  });
});
