/**
 * One reducer for a run's deltas (daemon/protocol/runDelta.ts): its rules, and that the extension's copy of the
 * shown run (extension/dashboard/controller.ts) and the webview's state (webview/src/dashboardData.ts
 * `applyMessage`) come out the same for the same sequence of daemon notifications. The controller is fed by a
 * fake daemon client here (no socket), so any sequence can be replayed.
 */
import * as assert from 'node:assert/strict';
import {
  RunEvaluationNotification, RunFacesNotification, RunImagesRequest, RunManifestNotification, RunMetricsNotification, RunRemovedNotification,
  SubscribeRunRequest, SubscribeRunsRequest,
  type JobInfo, type RunFace, type RunState, type RunSummary,
} from '../../../daemon/protocol/daemon';
import type { NotificationType } from '../../../daemon/protocol/message';
import { applyRunDelta, mergeProblems, MAX_RUN_PROBLEMS, type RunDeltaTarget } from '../../../daemon/protocol/runDelta';
import type { DashboardState, ToWebviewMessage } from '../../../daemon/protocol/webview';
import { DashboardController, type DashboardLink, type FeedClient } from '../../../extension/dashboard/controller';
import { applyMessage } from '../../../webview/src/dashboardData';
import { manifest, metricsLines, syntheticReport } from './fixture';
import { waitFor } from '../waitFor';

const face = (id: string): RunFace => ({ id, identity: id.toUpperCase(), image: `${id}.png`, imageVersion: '1' });

function runState(over: Partial<RunState> = {}): RunState {
  return { name: 'r1', dir: '/ws/runs/r1', manifest: manifest('r1', { state: 'running' }), metrics: metricsLines(3), faces: [face('a')], evaluation: null, problems: [], ...over };
}

/** A daemon client that answers the feed's requests from memory and lets the test send its notifications. */
class FakeFeed implements FeedClient {
  readonly isOpen = true;
  private readonly handlers = new Map<string, ((p: unknown) => void)[]>();
  constructor(private readonly run: RunState) {}
  async request(type: { method: string }, _params: unknown): Promise<never> {
    const summary: RunSummary = { name: this.run.name, dir: this.run.dir, state: 'running', createdAt: '2026-12-01T00:00:00.000Z', hasReport: false };
    const answers: Record<string, unknown> = {
      [SubscribeRunsRequest.method]: { runsRoot: '/ws/runs', runs: [summary] },
      [SubscribeRunRequest.method]: { run: this.run },
      [RunImagesRequest.method]: { images: [] },
    };
    return (answers[type.method] ?? { ok: true }) as never;
  }
  on(type: NotificationType<string, never>, handler: (p: never) => void): () => void {
    const list = this.handlers.get(type.method) ?? [];
    list.push(handler as (p: unknown) => void);
    this.handlers.set(type.method, list);
    return () => undefined;
  }
  send<T extends { method: string }>(type: T, params: unknown): void {
    for (const h of this.handlers.get(type.method) ?? []) h(params);
  }
}

function fakeLink(client: FeedClient): DashboardLink {
  return {
    client, state: 'connected', endpoint: { url: 'ws://127.0.0.1:1', remote: false }, lastError: undefined,
    jobs: { all: (): JobInfo[] => [], onEvent: () => () => undefined },
    onState: () => () => undefined,
  };
}

describe('run deltas: one reducer for the extension and the webview', () => {
  it('appends metrics, merges problems (no duplicates, newest kept), replaces the rest, marks a removed run', () => {
    const start: RunDeltaTarget<string> = { manifest: null, metrics: metricsLines(2), faces: ['a'], evaluation: null, problems: ['p0'], removed: false };
    const m = applyRunDelta(start, { kind: 'metrics', lines: metricsLines(2, 2), problems: ['p0', 'p1'] });
    assert.deepEqual(m.metrics.map((l) => l.step), [...start.metrics, ...metricsLines(2, 2)].map((l) => l.step));
    assert.deepEqual(m.problems, ['p0', 'p1']);
    assert.deepEqual(start.problems, ['p0'], 'the run given is not changed');
    const many = Array.from({ length: MAX_RUN_PROBLEMS + 5 }, (_, i) => `bad line ${i}`);
    assert.deepEqual(applyRunDelta(start, { kind: 'metrics', lines: [], problems: many }).problems, many.slice(-MAX_RUN_PROBLEMS));
    const report = syntheticReport('r1', [{ id: 'a', identity: 'A' }]);
    const e = applyRunDelta(start, { kind: 'evaluation', evaluation: null, problem: 'older version' });
    assert.equal(e.evaluationProblem, 'older version');
    const e2 = applyRunDelta(e, { kind: 'evaluation', evaluation: report });
    assert.equal(e2.evaluation, report);
    assert.ok(!('evaluationProblem' in e2), 'an evaluation without a problem clears the old one');
    assert.deepEqual(applyRunDelta(start, { kind: 'faces', faces: ['b', 'c'] }).faces, ['b', 'c']);
    assert.equal(applyRunDelta(start, { kind: 'manifest', manifest: manifest('r1') }).manifest?.name, 'r1');
    assert.equal(applyRunDelta(start, { kind: 'removed' }).removed, true);
    assert.deepEqual(mergeProblems(['a', 'b'], ['b', 'c'], 2), ['b', 'c']);
  });

  it('the controller\'s state and the webview\'s are the same after the same notifications (more problems than are kept included)', async () => {
    const feed = new FakeFeed(runState());
    const posts: ToWebviewMessage[] = [];
    const c = new DashboardController({ post: (m) => posts.push(m), openImage: () => undefined, reconnect: () => undefined, log: () => undefined }, { link: fakeLink(feed) });
    try {
      await c.handle({ method: 'dashboard/ready', params: {} });
      await waitFor('the whole state of r1', () => posts.some((p) => p.method === 'dashboard/state' && p.params.selected?.name === 'r1'));
      const webview = (): DashboardState | null => posts.reduce<DashboardState | null>(applyMessage, null);
      const same = (what: string): void => assert.deepEqual(webview(), c.snapshot(), `after ${what}`);
      same('the whole state');
      const steps: [string, () => void][] = [
        ['metrics with problems', () => feed.send(RunMetricsNotification, { run: 'r1', lines: metricsLines(2, 3), problems: ['metrics.jsonl:4: not valid JSON'] })],
        ['a repeated problem', () => feed.send(RunMetricsNotification, { run: 'r1', lines: [], problems: ['metrics.jsonl:4: not valid JSON'] })],
        ['more problems than are kept', () => feed.send(RunMetricsNotification, { run: 'r1', lines: metricsLines(1, 5), problems: Array.from({ length: 30 }, (_, i) => `metrics.jsonl:${10 + i}: not valid JSON`) })],
        ['another run\'s metrics', () => feed.send(RunMetricsNotification, { run: 'other', lines: metricsLines(1) })],
        ['the manifest', () => feed.send(RunManifestNotification, { run: 'r1', manifest: manifest('r1', { state: 'finished' }) })],
        ['the faces', () => feed.send(RunFacesNotification, { run: 'r1', faces: [face('a'), face('b')] })],
        ['an evaluation it cannot show', () => feed.send(RunEvaluationNotification, { run: 'r1', evaluation: null, problem: 'report.json: older version' })],
        ['the evaluation', () => feed.send(RunEvaluationNotification, { run: 'r1', evaluation: syntheticReport('r1', [{ id: 'a', identity: 'A' }, { id: 'b', identity: 'B' }]) })],
        ['the folder removed', () => feed.send(RunRemovedNotification, { run: 'r1' })],
      ];
      for (const [what, send] of steps) { send(); same(what); }
      const s = c.snapshot().selected;
      assert.equal(s?.problems.length, MAX_RUN_PROBLEMS);
      assert.equal(s?.metrics.length, 6);
      assert.equal(s?.removed, true);
      assert.equal(s?.evaluationProblem, undefined);
    } finally {
      c.dispose();
    }
  });
});
