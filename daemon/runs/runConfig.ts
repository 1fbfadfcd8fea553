/**
 * Running a run config end to end, whatever its route: the judge picks black or white box (or honours the
 * config), the run is trained or inverted, then evaluated. Shared by `faceinv run` and the daemon's `run` job.
 */
import type { RunConfig } from '../config/run';
import { trainBlackBox } from '../blackbox/train';
import { evaluateRun } from '../evaluation/evaluate';
import type { JobContext } from '../jobs/context';
import type { EvaluationReport } from './layout';
import { judgeRoute } from '../whitebox/judge';
import { encoderConfigById, runWhitebox } from '../whitebox/run';

export interface RunOutcome {
  runDir: string;
  route: 'blackbox' | 'whitebox';
  reason: string;
  report?: EvaluationReport;
}

export async function runConfigEndToEnd(config: RunConfig, ctx: JobContext, opts: { overwrite?: boolean; cacheDir?: string; evaluate?: boolean } = {}): Promise<RunOutcome> {
  const decision = judgeRoute(encoderConfigById(config.encoder), config.route);
  ctx.log('info', `route: ${decision.route} — ${decision.reason}`);
  const runDir = decision.route === 'whitebox'
    ? (await runWhitebox(config, ctx, opts)).runDir
    : (await trainBlackBox(config, ctx, opts)).runDir;
  const report = opts.evaluate === false ? undefined : await evaluateRun(runDir, ctx, { cacheDir: opts.cacheDir });
  return { runDir, route: decision.route, reason: decision.reason, ...(report ? { report } : {}) };
}
