import * as path from 'node:path';
import { loadRunConfig } from '../../config/loadRunConfig';
import { reportMarkdown } from '../../evaluation/reportMarkdown';
import { consoleContext } from '../../jobs/consoleContext';
import { runAttack } from '../../attack/orchestrator';
import { parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

export const command: CliCommand = {
  name: 'run',
  summary: 'Run a run config end to end headless: judge the route, build the face model, attack the held-out targets, evaluate (what the editor\'s "Run Config" does).',
  usage: `faceinv run CONFIG [--workspace DIR] [--overwrite] [--no-evaluate] [--backend NAME] [--cache DIR]
  The route comes from the config ("auto" lets the judge decide from the encoder config's "known" fields).`,
  async run(args) {
    const a = parseArgs(args, { values: ['workspace', 'backend', 'cache'], booleans: ['overwrite', 'no-evaluate'] });
    if (a.positionals.length !== 1) throw new UsageError('give exactly one run config file');
    const config = loadRunConfig(path.resolve(a.positionals[0]));
    await initEngineFromFlags(a);
    const ctx = consoleContext(path.resolve(a.flags.get('workspace') ?? process.cwd()));
    try {
      const out = await runAttack(config, ctx, { overwrite: a.booleans.has('overwrite'), cacheDir: a.flags.get('cache'), evaluate: !a.booleans.has('no-evaluate') });
      console.log(`route: ${out.decision.route} (${out.decision.reason})\nrun folder: ${out.runDir}`);
      if (out.report) console.log(reportMarkdown(out.report));
      return 0;
    } finally {
      ctx.close();
    }
  },
};
