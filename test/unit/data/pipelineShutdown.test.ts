/**
 * A pipeline that fails while one of its workers is inside ONNX Runtime ends with the failure, not with a
 * native abort of the whole process. Worker.terminate() there made onnxruntime-node throw a Napi::Error that
 * no JavaScript frame could take ("terminate called after throwing an instance of 'Napi::Error'", exit 134);
 * the scenario runs in a child process (test/fixtures/pipelineShutdown.ts) so an abort is its exit signal.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { START_UP_FAILURE } from '../../fixtures/pipelineShutdown';
import { tempDir } from './helpers';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'pipelineShutdown.js');

describe('data/pipeline: a failure while a worker runs ONNX Runtime', function () {
  this.timeout(120_000);

  it('rejects with the failing worker\'s error; the busy worker finishes its call and the process lives', () => {
    const scratch = tempDir('pipeline-shutdown');
    try {
      const r = spawnSync(process.execPath, [FIXTURE, scratch], { encoding: 'utf8', timeout: 100_000 });
      assert.equal(r.signal, null, `the child died of ${r.signal}: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
      assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`rejected: worker start-up failed: ${START_UP_FAILURE}`));
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  });
});
