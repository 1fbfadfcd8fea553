import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareTable } from '../../evaluation/compare';
import { EvaluationReportSchema, type EvaluationReport } from '../../protocol/report';
import { RUN_FILES } from '../../protocol/runFolder';
import { validate } from '../../protocol/validate';
import { readJson } from '../../runs/runFolder';
import { parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';

export const command: CliCommand = {
  name: 'compare',
  summary: 'Evaluated runs side by side: method, queries per target, wall time, type I/II at each FMR and transfer, beside the baselines (markdown).',
  usage: `faceinv compare RUN_DIR… [--protocol redetect|direct|independent] [--transfer a,b] [--no-intervals]
  Reads each RUN_DIR/evaluation/report.json (run "faceinv evaluate" first). Runs on different splits or targets are
  named as not comparable.`,
  async run(args) {
    const a = parseArgs(args, { values: ['protocol', 'transfer'], booleans: ['no-intervals'] });
    if (!a.positionals.length) throw new UsageError('give one or more run folders');
    const protocol = a.flags.get('protocol') ?? 'redetect';
    if (protocol !== 'redetect' && protocol !== 'direct' && protocol !== 'independent') throw new UsageError('--protocol must be redetect, direct or independent');
    const inputs = a.positionals.map((dir) => {
      const file = path.join(path.resolve(dir), RUN_FILES.evaluationReport);
      if (!fs.existsSync(file)) throw new UsageError(`${file} is missing: run "faceinv evaluate ${dir}" first`);
      const report = readJson<EvaluationReport>(file);
      const problems = validate(EvaluationReportSchema, report);
      if (problems.length) throw new UsageError(`${file} is not a current evaluation report (${problems[0].where}: ${problems[0].reason}); run "faceinv evaluate ${dir}" again`);
      return { name: path.basename(path.resolve(dir)), report };
    });
    console.log(compareTable(inputs, {
      protocol, intervals: !a.booleans.has('no-intervals'),
      ...(a.flags.has('transfer') ? { transfer: (a.flags.get('transfer') as string).split(',').map((s) => s.trim()).filter(Boolean) } : {}),
    }));
    return 0;
  },
};
