/** Pure extension modules: back-off, crash policy, job tracker, status/notice formatting, templates. */
import * as assert from 'node:assert/strict';
import { validateEncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { validateRunConfig } from '../../../daemon/protocol/runConfig';
import { validateProtectConfig } from '../../../daemon/protocol/protectConfig';
import { makeScheme } from '../../../daemon/protect/schemes';
import type { JobInfo } from '../../../daemon/protocol/daemon';
import { Backoff, CrashPolicy } from '../../../extension/backoff';
import {
  checkDaemonUrl, classifyConnectError, connectFailureNotice, crashNotice, formatMetrics, logLine, progressMessage, statusBarView,
} from '../../../extension/format';
import { evaluateJob, invertJob, probeJob, runJob, trainJob } from '../../../extension/jobParams';
import { JobEvent, JobTracker, percentOf } from '../../../extension/jobTracker';
import { configText, encoderTemplate, freshName, protectTemplate, runTemplate } from '../../../extension/templates';

const job = (id: string, state: JobInfo['state'], extra: Partial<JobInfo> = {}): JobInfo => ({ id, kind: 'probe', label: `probe ${id}`, state, createdAt: `2026-01-01T00:00:0${id}Z`, ...extra });

describe('extension: back-off', () => {
  it('grows exponentially under the cap with jitter, then gives up', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, maxAttempts: 6 }, () => 1);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000, undefined]);
    b.reset();
    assert.equal(b.next(), 100);
    const low = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, maxAttempts: 3 }, () => 0);
    assert.equal(low.next(), 10, 'full jitter keeps a tenth of the cap');
  });
  it('refuses nonsense options', () => {
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 1, factor: 2, maxAttempts: 1 }), /initialMs > 0/);
  });
  it('crash policy allows a few restarts per window', () => {
    let t = 0;
    const p = new CrashPolicy(2, 1000, () => t);
    assert.equal(p.recordCrash(), true);
    assert.equal(p.recordCrash(), true);
    assert.equal(p.recordCrash(), false);
    t = 5000;
    assert.equal(p.recordCrash(), true, 'old crashes leave the window');
  });
});

describe('extension: job tracker', () => {
  it('applies snapshot, state and progress deltas; ignores stale progress', () => {
    const t = new JobTracker();
    const events: JobEvent[] = [];
    t.onEvent((e) => events.push(e));
    t.reset([job('1', 'succeeded'), job('2', 'queued')]);
    assert.equal(t.current()?.id, '2');
    t.applyProgress('2', { step: 5, total: 10, metrics: { loss: 0.5 } });
    assert.equal(t.get('2')?.state, 'running', 'progress implies running');
    assert.equal(percentOf(t.get('2')!), 50);
    t.applyProgress('2', { step: 3, total: 10, metrics: {} });
    assert.equal(t.get('2')?.progress?.step, 5, 'out-of-order progress ignored');
    t.applyProgress('nope', { step: 1, total: 2, metrics: {} });
    assert.equal(t.get('nope'), undefined);
    t.applyState(job('2', 'succeeded'));
    assert.equal(t.get('2')?.progress?.step, 5, 'state without progress keeps the last progress');
    assert.equal(t.current(), undefined);
    assert.deepEqual(events.map((e) => `${e.type}:${e.job.id}:${e.job.state}`), ['state:1:succeeded', 'state:2:queued', 'progress:2:running', 'state:2:succeeded']);
  });
  it('a throwing listener does not stop the others', () => {
    const t = new JobTracker();
    let n = 0;
    t.onEvent(() => { throw new Error('bug'); });
    t.onEvent(() => { n++; });
    t.applyState(job('1', 'running'));
    assert.equal(n, 1);
  });
});

describe('extension: formatting', () => {
  it('status bar shows backend, job and percent', () => {
    assert.match(statusBarView('connected', { backend: 'wasm' }, undefined, false).text, /faceinv: wasm$/);
    const v = statusBarView('connected', { backend: 'wasm' }, job('1', 'running', { kind: 'train', progress: { step: 42, total: 100, metrics: {} } }), false);
    assert.equal(v.text, '$(pulse) faceinv: wasm · train 42%');
    assert.equal(statusBarView('failed', undefined, undefined, true).alert, true);
    assert.match(statusBarView('stopped', undefined, undefined, false).text, /stopped/);
  });
  it('progress and log lines', () => {
    assert.equal(formatMetrics({ loss: 0.123456, 'img/s': 41.25, epoch: 2, extra: 1 }), 'loss 0.1235 · img/s 41.25 · epoch 2');
    assert.equal(formatMetrics({ bad: Number.NaN, ok: 1 }), 'ok 1');
    assert.equal(progressMessage({ step: 3, total: 9, metrics: { loss: 0.5 }, message: 'epoch 1' }), 'step 3/9 · loss 0.5000 · epoch 1');
    assert.equal(logLine('warn', 'hi', '2026-11-27T21:00:01.250Z', 'j1'), '[21:00:01.250] [warn] [job j1] hi');
  });
  it('classifies connect failures and offers Retry / Start Daemon', () => {
    const refused = new Error('cannot connect to daemon at ws://x: token refused (401)');
    assert.equal(classifyConnectError(refused), 'unauthorized');
    assert.equal(classifyConnectError(new Error('nothing is listening there (is the daemon running?)')), 'unreachable');
    assert.equal(classifyConnectError(new Error('origin refused (403)')), 'origin');
    assert.equal(classifyConnectError('weird'), 'other');
    const n = connectFailureNotice('ws://127.0.0.1:1', refused);
    assert.match(n.message, /refused the token/);
    assert.deepEqual(n.actions.slice(0, 2), ['Retry', 'Start Daemon']);
    assert.deepEqual(connectFailureNotice('ws://h:1', new Error('nothing is listening')).actions.slice(0, 2), ['Retry', 'Start Daemon']);
    assert.match(crashNotice(null, 'SIGKILL', true, 1), /killed by SIGKILL; restarting/);
    assert.match(crashNotice(1, null, false, 4), /not restarting/);
  });
  it('validates daemon URLs', () => {
    assert.equal(checkDaemonUrl('ws://gpu-box:7391'), undefined);
    assert.match(checkDaemonUrl('http://gpu-box:7391') ?? '', /use ws/);
    assert.match(checkDaemonUrl('ws://gpu-box') ?? '', /port/);
    assert.match(checkDaemonUrl('not a url') ?? '', /not a URL/);
  });
});

describe('extension: templates and job params', () => {
  it('new encoder and run configs pass the daemon validators', () => {
    assert.deepEqual(validateEncoderConfig(encoderTemplate('my-enc'), 't'), []);
    const r = validateRunConfig(JSON.parse(configText(runTemplate('my-run', 'arcface512-faceplugin'))), 't');
    assert.deepEqual(r.problems, []);
    assert.ok(r.config);
    // No $schema path to break when the file is copied elsewhere: the language server checks the schema.
    assert.ok(!('$schema' in encoderTemplate('my-enc')) && !('$schema' in runTemplate('my-run', 'arcface512-faceplugin')));
  });
  it('a new protection config passes the daemon validator, lists the five schemes and builds each for the encoder', () => {
    const r = validateProtectConfig(JSON.parse(configText(protectTemplate('my-protection', 'arcface512-faceplugin'))), 't');
    assert.deepEqual(r.problems, []);
    assert.ok(r.config);
    assert.deepEqual(r.config.schemes.map((s) => s.scheme), ['biohash', 'iom-grp', 'iom-urp', 'polyprotect', 'mlphash']);
    for (const s of r.config.schemes) assert.doesNotThrow(() => makeScheme(s, 512), s.scheme);
    assert.ok(!('$schema' in protectTemplate('p', 'arcface512-faceplugin')));
  });
  it('fresh names do not clobber existing files', () => {
    const taken = new Set(['a.faceinv-run.json', 'a-2.faceinv-run.json']);
    assert.equal(freshName('a', '.faceinv-run.json', (n) => taken.has(n)), 'a-3.faceinv-run.json');
  });
  it('job submissions carry absolute paths and labels', () => {
    assert.deepEqual(trainJob('/w/x.faceinv-run.json'), { kind: 'train', params: { config: '/w/x.faceinv-run.json' }, label: 'train x.faceinv-run.json' });
    assert.deepEqual(evaluateJob('/w/runs/r1').params, { runDir: '/w/runs/r1' });
    assert.deepEqual(invertJob('/e.json', 'arcface512-faceplugin', '/w/runs/r1').params, { encoder: 'arcface512-faceplugin', embeddings: '/e.json', route: 'auto', generator: '/w/runs/r1' });
    assert.deepEqual(invertJob('/e.json', 'x').params, { encoder: 'x', embeddings: '/e.json', route: 'auto' });
    assert.deepEqual(runJob('/w/a.faceinv-run.json').params, { config: '/w/a.faceinv-run.json' });
    assert.equal(probeJob(5).kind, 'probe');
  });
});
