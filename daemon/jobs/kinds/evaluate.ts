/** `evaluate`: score a finished run (SAR type I/II per protocol beside the baselines, rank-1, SSIM/PSNR) by the attacked and other encoders. */
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { evaluateRun } from '../../evaluation/evaluate';
import { reportSummary } from '../../evaluation/reportMarkdown';
import { defineJobKind } from '../defineJobKind';

export const evaluateJob = defineJobKind({
  kind: 'evaluate',
  summary: 'Evaluate an attack run: success attack rates by the attacked and other encoders, on held-out identities.',
  params: Type.Object({
    runDir: Type.String({ minLength: 1, maxLength: 4096 }),
    evalEncoders: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 16 })),
    maxImages: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
  }, { additionalProperties: false }),
  label: (p) => `evaluate ${path.basename(p.runDir)}`,
  async run(p, ctx) {
    const report = await evaluateRun(path.resolve(ctx.workspaceDir, p.runDir), ctx, { evalEncoders: p.evalEncoders, maxImages: p.maxImages, cacheDir: ctx.cacheDir, workers: ctx.workers });
    return reportSummary(report);
  },
});
