import * as path from 'node:path';
import { consoleContext } from '../../jobs/consoleContext';
import { runJobKind } from '../../jobs/runInProcess';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { TrainJob } from '../../protocol/jobKinds';

export const command: CliCommand = {
  name: 'train',
  summary: 'Train a black-box inverse decoder from a run config (resumes after a kill): the daemon\'s "train" job, in this process.',
  usage: `faceinv train CONFIG [--workspace DIR] [--overwrite] [--backend NAME] [--cache DIR] [--workers N]
  CONFIG is a run config with a decoder face model (models/experiments/seed-decoder.json, group1..5.json or your
  own *.faceinv-run.json). The run folder is <workspace>/<runsDir>/<name>; rerunning the same config resumes from
  its last checkpoint; a different config with the same name is refused unless --overwrite. Configs with a PCA
  face model have nothing to train: use "faceinv run".`,
  async run(args) {
    const a = parseArgs(args, { values: ['workspace', 'backend', 'cache', 'workers'], booleans: ['overwrite'] });
    if (a.positionals.length !== 1) throw new UsageError('give exactly one run config file');
    await initEngineFromFlags(a);
    const ctx = consoleContext(path.resolve(a.flags.get('workspace') ?? process.cwd()), {
      cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined,
    });
    try {
      const out = await runJobKind(TrainJob, { config: path.resolve(a.positionals[0]), overwrite: a.booleans.has('overwrite') || undefined }, ctx);
      console.log(JSON.stringify(out, null, 2));
      return 0;
    } finally {
      ctx.close();
    }
  },
};
