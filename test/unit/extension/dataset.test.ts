/** The dataset settings become the daemon's FACEINV_LFW and --data-root arguments. */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { daemonDatasetArgs } from '../../../extension/dataset';
import { DatasetSettingsNotification } from '../../../daemon/protocol/configServer';

describe('dataset settings → the daemon the editor starts', () => {
  it('passes the chosen LFW as FACEINV_LFW and a data root, and each extra root once', () => {
    const r = daemonDatasetArgs({ lfw: '/data/lfw', dataRoots: ['/data/stores', 'rel', '/data/lfw'] }, '/ws');
    assert.deepEqual(r.args, ['--data-root', '/data/lfw', '--data-root', '/data/stores', '--data-root', path.resolve('/ws', 'rel')]);
    assert.deepEqual(r.env, { FACEINV_LFW: '/data/lfw' });
    assert.deepEqual(daemonDatasetArgs({ lfw: '', dataRoots: [] }, '/ws'), { args: [], env: {} });
  });
  it('normalises untrusted settings for the config server', () => {
    assert.deepEqual(DatasetSettingsNotification.from({ lfw: ' /d ', dataRoots: ['/a', 3, '', ' /b'] }), { lfw: '/d', dataRoots: ['/a', '/b'] });
    assert.deepEqual(DatasetSettingsNotification.from(null), { lfw: '', dataRoots: [] });
  });
});
