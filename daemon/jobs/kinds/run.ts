/** `run`: a run config end to end (daemon/attack/orchestrator.ts) — route by the judge, face model, attack, then evaluate. */
import * as path from 'node:path';
import { RunJob } from '../../protocol/jobKinds';
import { loadRunConfig } from '../../config/loadRunConfig';
import { reportSummary } from '../../evaluation/reportMarkdown';
import { runAttack } from '../../attack/orchestrator';
import { confineRunConfig } from '../confine';
import { defineJobKind } from '../defineJobKind';

export const runJob = defineJobKind(RunJob, {
  summary: 'Run a run config end to end: the judge picks the route, then the face model, the attack of every held-out target, and the evaluation.',
  label: (p) => `run ${path.basename(p.config)}`,
  async run(p, ctx) {
    const file = path.resolve(ctx.workspaceDir, p.config);
    const config = loadRunConfig(file);
    if (p.dataset) config.dataset.path = path.resolve(ctx.workspaceDir, p.dataset);
    confineRunConfig(config, ctx, file);
    const out = await runAttack(config, ctx, { overwrite: p.overwrite, evaluate: p.evaluate, cacheDir: ctx.cacheDir, workers: ctx.workers });
    return { runDir: out.runDir, route: out.decision.route, reason: out.decision.reason, attackSeconds: out.attackSeconds, ...(out.report ? { report: reportSummary(out.report) } : {}) };
  },
});
