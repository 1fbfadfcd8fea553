import * as path from 'node:path';
import { trainBlackBox } from '../../blackbox/train';
import { loadRunConfig } from '../../config/loadRunConfig';
import { consoleContext } from '../../jobs/consoleContext';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

export const command: CliCommand = {
  name: 'train',
  summary: 'Train a black-box inverse decoder from a run config (resumes after a kill).',
  usage: `faceinv train CONFIG [--workspace DIR] [--overwrite] [--backend NAME] [--cache DIR] [--workers N]
  CONFIG is a run config (models/experiments/*.json or your own *.faceinv-run.json). The run folder is
  <workspace>/<runsDir>/<name>; rerunning the same config resumes from its last checkpoint; a different config
  with the same name is refused unless --overwrite.`,
  async run(args) {
    const a = parseArgs(args, { values: ['workspace', 'backend', 'cache', 'workers'], booleans: ['overwrite'] });
    if (a.positionals.length !== 1) throw new UsageError('give exactly one run config file');
    const config = loadRunConfig(path.resolve(a.positionals[0]));
    await initEngineFromFlags(a);
    const ctx = consoleContext(path.resolve(a.flags.get('workspace') ?? process.cwd()));
    try {
      const out = await trainBlackBox(config, ctx, {
        overwrite: a.booleans.has('overwrite'), cacheDir: a.flags.get('cache'),
        workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined,
      });
      console.log(JSON.stringify(out, null, 2));
      return 0;
    } finally {
      ctx.close();
    }
  },
};
