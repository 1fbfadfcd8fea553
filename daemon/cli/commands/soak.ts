import { runSoak, SoakSample } from '../../bench/soak';
import { intFlag, numberFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

export const command: CliCommand = {
  name: 'soak',
  summary: 'Run small jobs through a real daemon for a while and print RSS and tensor counts over time (leak check).',
  usage: `faceinv soak [--minutes N] [--steps N] [--size N] [--sample-every SEC] [--backend NAME] [--json]
  [--max-rss-slope MIB_PER_MIN]
  Exit code 1 when the tensor count grew, a job failed, or the RSS slope over the second half exceeds
  --max-rss-slope (default 2 MiB/min).`,
  async run(args) {
    const a = parseArgs(args, { values: ['minutes', 'steps', 'size', 'sample-every', 'backend', 'max-rss-slope'], booleans: ['json'] });
    const minutes = numberFlag(a, 'minutes', 2);
    if (!(minutes > 0)) throw new UsageError(`--minutes must be > 0, got ${minutes}`);
    const json = a.booleans.has('json');
    const engine = await initEngineFromFlags(a, json);
    const maxRssSlope = numberFlag(a, 'max-rss-slope', 2);
    if (!json) console.log('     t s    rss MiB   heap MiB   tensors      jobs');
    const report = await runSoak({
      minutes, jobSteps: intFlag(a, 'steps', 20), size: intFlag(a, 'size', 64),
      sampleEverySec: a.flags.has('sample-every') ? numberFlag(a, 'sample-every', 3) : undefined,
      backendName: engine.backend,
      onSample: json ? undefined : (s: SoakSample) => console.log(
        `${s.t.toFixed(1).padStart(8)} ${s.rssMiB.toFixed(1).padStart(10)} ${s.heapUsedMiB.toFixed(1).padStart(10)} ${String(s.numTensors).padStart(9)} ${String(s.jobsDone).padStart(9)}`),
    });
    const ok = report.tensorsEnd <= report.tensorsStart && report.jobsFailed === 0 && report.rssSlopeMiBPerMin <= maxRssSlope;
    if (json) {
      console.log(JSON.stringify({ ...report, ok }, null, 2));
    } else {
      console.log(`backend ${report.backend}: ${report.jobs} jobs in ${report.minutes} min (${report.jobsFailed} failed)`);
      console.log(`slopes (second half): rss ${report.rssSlopeMiBPerMin.toFixed(3)} MiB/min, heap ${report.heapSlopeMiBPerMin.toFixed(3)} MiB/min; ` +
        `tensors ${report.tensorsStart} → ${report.tensorsEnd} (slope ${report.tensorSlopePerMin.toFixed(3)}/min)`);
      console.log(ok ? 'no growth' : `GROWTH: tensors ${report.tensorsStart} → ${report.tensorsEnd}, rss slope limit ${maxRssSlope} MiB/min`);
    }
    return ok ? 0 : 1;
  },
};
