import * as fs from 'node:fs';
import * as path from 'node:path';
import { reportMarkdown } from '../../evaluation/reportMarkdown';
import { consoleContext } from '../../jobs/consoleContext';
import { runJobKind } from '../../jobs/runInProcess';
import type { EvaluationReport } from '../../protocol/report';
import { RUN_FILES } from '../../protocol/runFolder';
import { readJson } from '../../runs/runFolder';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { RunJob } from '../../protocol/jobKinds';

/** Runs the daemon's "run" job in this process and prints its route and report; shared by `run` and `demo`. */
export async function runConfigHeadless(configFile: string, a: ReturnType<typeof parseArgs>): Promise<{ runDir: string; attackSeconds?: number }> {
  const ctx = consoleContext(path.resolve(a.flags.get('workspace') ?? process.cwd()), {
    cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined,
  });
  try {
    const datasetFlag = a.flags.get('dataset');
    const out = await runJobKind(RunJob, {
      config: configFile, overwrite: a.booleans.has('overwrite') || undefined, evaluate: a.booleans.has('no-evaluate') ? false : undefined,
      dataset: datasetFlag ? path.resolve(datasetFlag) : undefined,
    }, ctx);
    console.log(`route: ${out.route} (${out.reason})\nrun folder: ${out.runDir}`);
    const reportFile = path.join(out.runDir, RUN_FILES.evaluationReport);
    if (!a.booleans.has('no-evaluate') && fs.existsSync(reportFile)) console.log(reportMarkdown(readJson<EvaluationReport>(reportFile)));
    return out;
  } finally {
    ctx.close();
  }
}

export const command: CliCommand = {
  name: 'run',
  summary: 'Run a run config end to end headless: judge the route, build the face model, attack the held-out targets, evaluate (the daemon\'s "run" job, as the editor\'s "Run Config" does).',
  usage: `faceinv run CONFIG [--workspace DIR] [--overwrite] [--no-evaluate] [--backend NAME] [--cache DIR] [--workers N]
  The route comes from the config ("auto" lets the judge decide from the encoder config's "known" fields).`,
  async run(args) {
    const a = parseArgs(args, { values: ['workspace', 'backend', 'cache', 'workers'], booleans: ['overwrite', 'no-evaluate'] });
    if (a.positionals.length !== 1) throw new UsageError('give exactly one run config file');
    await initEngineFromFlags(a);
    await runConfigHeadless(path.resolve(a.positionals[0]), a);
    return 0;
  },
};
