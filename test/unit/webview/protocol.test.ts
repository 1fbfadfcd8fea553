/**
 * The extension ↔ webview protocol (daemon/protocol/webview.ts): names, directions, and that every guard
 * accepts what `create` builds from valid payloads and rejects wrong methods and malformed payloads.
 */
import * as assert from 'node:assert/strict';
import {
  DashboardStateSchema, MetricsMessage, OpenImageMessage, ReadyMessage, RunRemovedMessage, SelectRunMessage, StateMessage,
  TO_EXTENSION, TO_WEBVIEW, type DashboardState,
} from '../../../daemon/protocol/webview';
import { Value } from '@sinclair/typebox/value';
import { manifest, metricsLines, syntheticReport } from './fixture';

function sampleState(): DashboardState {
  return {
    runsRoot: '/ws/runs',
    runs: [{ name: 'r1', dir: '/ws/runs/r1', kind: 'blackbox', encoderId: 'arcface512-faceplugin', state: 'finished', createdAt: '2026-11-27T10:00:00.000Z', hasReport: false }],
    selected: {
      name: 'r1', dir: '/ws/runs/r1', manifest: manifest('r1'), metrics: metricsLines(3), evaluation: null, job: null, problems: [], removed: false,
      faces: [{ id: 'a', imageUri: 'data:image/png;base64,iVBORw0KGgo=', hasOriginal: false }],
    },
    daemon: { connected: false, problem: 'No daemon is connected' },
  };
}

describe('webview protocol', () => {
  it('names every message dashboard/… once, with the declared direction', () => {
    const all = [...TO_EXTENSION, ...TO_WEBVIEW];
    const names: string[] = all.map((m) => m.method);
    assert.equal(new Set(names).size, names.length, `duplicate method in ${names.join(', ')}`);
    for (const m of all) assert.match(m.method, /^dashboard\/[a-zA-Z]+$/);
    for (const m of TO_EXTENSION) assert.equal(m.direction, 'toExtension', m.method);
    for (const m of TO_WEBVIEW) assert.equal(m.direction, 'toWebview', m.method);
    for (const name of ['dashboard/state', 'dashboard/metrics', 'dashboard/selectRun', 'dashboard/openImage']) assert.ok(names.includes(name), name);
  });

  it('accepts a whole valid state and what create() builds', () => {
    const state = sampleState();
    assert.ok(Value.Check(DashboardStateSchema, state));
    assert.ok(StateMessage.is(StateMessage.create(state)));
    assert.ok(MetricsMessage.is(MetricsMessage.create({ run: 'r1', lines: metricsLines(2) })));
    assert.ok(ReadyMessage.is({ method: 'dashboard/ready', params: {} }));
    assert.ok(ReadyMessage.is({ method: 'dashboard/ready', params: { run: 'r1' } }));
    assert.ok(RunRemovedMessage.is(RunRemovedMessage.create({ run: 'r1', message: 'gone' })));
  });

  it('rejects other methods, missing params and malformed payloads', () => {
    const state = sampleState();
    assert.equal(StateMessage.is({ method: 'dashboard/metrics', params: state }), false);
    assert.equal(StateMessage.is({ method: 'dashboard/state' }), false);
    assert.equal(StateMessage.is(null), false);
    assert.equal(StateMessage.is('dashboard/state'), false);
    const bad = sampleState();
    (bad.selected as { metrics: unknown[] }).metrics.push({ step: 'x', split: 'train', loss: 1, time: 't' });
    assert.equal(StateMessage.is(StateMessage.create(bad)), false, 'a metrics line with a string step must not pass');
    const badState = { ...sampleState(), runs: [{ name: 'r', state: 'exploded' }] };
    assert.equal(StateMessage.is({ method: 'dashboard/state', params: badState }), false);
    assert.equal(SelectRunMessage.is({ method: 'dashboard/selectRun', params: { run: '' } }), false);
    assert.equal(SelectRunMessage.is({ method: 'dashboard/selectRun', params: { run: 'r1', extra: 1 } }), false);
    assert.equal(OpenImageMessage.is({ method: 'dashboard/openImage', params: { path: '/etc/passwd' } }), false, 'pictures are opened by face id, not by path');
    assert.equal(OpenImageMessage.is({ method: 'dashboard/openImage', params: { run: 'r1', face: 'a', which: 'thumbnail' } }), false);
    assert.ok(OpenImageMessage.is(OpenImageMessage.create({ run: 'r1', face: 'a', which: 'original' })));
    const remoteFile = sampleState();
    remoteFile.selected!.faces[0].imageUri = 'file:///ws/runs/r1/reconstructions/a.png';
    assert.equal(StateMessage.is(StateMessage.create(remoteFile)), false, 'a picture is a data: URI, never a path');
  });

  it('rejects SAR rates outside [0,1] in a report, and accepts a valid one', () => {
    const s = sampleState();
    const sel = s.selected;
    assert.ok(sel);
    sel.evaluation = syntheticReport('r1', [{ id: 'a', identity: 'A' }, { id: 'b', identity: 'B' }]);
    assert.ok(StateMessage.is(StateMessage.create(s)));
    (sel.evaluation.rows[0].typeI[1] as { rate: number }).rate = 40;
    assert.equal(StateMessage.is(StateMessage.create(s)), false, 'a rate of 40 (percent, not fraction) must not pass');
  });
});
