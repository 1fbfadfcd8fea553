/** `evaluate`: score a finished run (SAR type I/II per protocol beside the baselines, rank-1, SSIM/PSNR) by the attacked and other encoders. */
import * as path from 'node:path';
import { EvaluateJob } from '../../protocol/jobKinds';
import { evaluateRun } from '../../evaluation/evaluate';
import { reportSummary } from '../../evaluation/reportMarkdown';
import { defineJobKind } from '../defineJobKind';

export const evaluateJob = defineJobKind(EvaluateJob, {
  summary: 'Evaluate an attack run: success attack rates by the attacked and other encoders, on held-out identities.',
  label: (p) => `evaluate ${path.basename(p.runDir)}`,
  async run(p, ctx) {
    const report = await evaluateRun(path.resolve(ctx.workspaceDir, p.runDir), ctx, { evalEncoders: p.evalEncoders, maxImages: p.maxImages, cacheDir: ctx.cacheDir, workers: ctx.workers });
    return reportSummary(report);
  },
});
