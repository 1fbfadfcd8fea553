/** The jobs the commands submit are accepted by the daemon's own job-kind schemas (catches drift). */
import * as assert from 'node:assert/strict';
import { jobKindMap } from '../../../daemon/jobs/registry';
import { validate } from '../../../daemon/protocol/validate';
import { evaluateJob, invertJob, JobSubmission, probeJob, runJob, trainJob } from '../../../extension/jobParams';

describe('extension: job params match the daemon job kinds', () => {
  const kinds = jobKindMap();
  const cases: JobSubmission[] = [
    trainJob('/w/a.faceinv-run.json'), runJob('/w/a.faceinv-run.json'), evaluateJob('/w/runs/r1'),
    invertJob('/w/e.json', 'arcface512-faceplugin'), invertJob('/w/e.json', 'arcface512-faceplugin', '/w/runs/r1'), probeJob(3),
  ];
  for (const job of cases) {
    it(`${job.kind} ${JSON.stringify(job.params)}`, () => {
      const kind = kinds.get(job.kind);
      assert.ok(kind, `the daemon has no "${job.kind}" kind (has ${[...kinds.keys()].join(', ')})`);
      assert.deepEqual(validate(kind.params, job.params), []);
    });
  }
  it('a wrong parameter name is caught (the check can fail)', () => {
    assert.notDeepEqual(validate(kinds.get('evaluate')!.params, { run: '/w/runs/r1' }), []);
  });
});
