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
import { EvaluateJob } from '../../protocol/jobKinds';

export const command: CliCommand = {
  name: 'evaluate',
  summary: 'Score an attack run: SAR type I/II at FMR 1e-2…1e-5 under three protocols (direct, redetect, independent) beside the baselines and the real crops, identity-bootstrap intervals, rank-1, SSIM/PSNR, Fréchet distance, by the attacked and other encoders (the daemon\'s "evaluate" job).',
  usage: `faceinv evaluate RUN_DIR [--eval-encoders a,b,…] [--max-images N] [--workspace DIR] [--cache DIR] [--workers N] [--json]
  Writes RUN_DIR/evaluation/report.json, report.md and grid.png. Encoders the attack used in no role (run.json
  encoderRoles: not attacked, not a surrogate, not its acceptance test) measure transfer; the others are scored
  under their role.`,
  async run(args) {
    const a = parseArgs(args, { values: ['eval-encoders', 'max-images', 'workspace', 'cache', 'backend', 'workers'], booleans: ['json'] });
    if (a.positionals.length !== 1) throw new UsageError('give exactly one run folder');
    await initEngineFromFlags(a, a.booleans.has('json'));
    const ctx = consoleContext(path.resolve(a.flags.get('workspace') ?? process.cwd()), {
      cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined,
    });
    try {
      const runDir = path.resolve(a.positionals[0]);
      await runJobKind(EvaluateJob, {
        runDir, evalEncoders: a.flags.get('eval-encoders')?.split(',').map((s) => s.trim()).filter(Boolean),
        maxImages: a.flags.has('max-images') ? intFlag(a, 'max-images', 1) : undefined,
      }, ctx);
      const report = readJson<EvaluationReport>(path.join(runDir, RUN_FILES.evaluationReport));
      if (a.booleans.has('json')) console.log(JSON.stringify(report, null, 2));
      else {
        console.log(reportMarkdown(report));
        console.log(`report: ${path.join(runDir, RUN_FILES.evaluationMarkdown)}\ngrid:   ${path.join(runDir, RUN_FILES.evaluationGrid)}`);
      }
      return 0;
    } finally {
      ctx.close();
    }
  },
};
