/** `run`: a run config end to end — route by the judge, train or invert, then evaluate. */
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { loadRunConfig } from '../../config/loadRunConfig';
import { runConfigEndToEnd } from '../../runs/runConfig';
import { confineRunConfig } from '../confine';
import { defineJobKind } from '../kind';

export const runJob = defineJobKind({
  kind: 'run',
  summary: 'Run a run config end to end: the judge picks the route, then train (black box) or invert (white box), then evaluate.',
  params: Type.Object({
    config: Type.String({ minLength: 1, maxLength: 4096 }),
    overwrite: Type.Optional(Type.Boolean()),
    evaluate: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
  label: (p) => `run ${path.basename(p.config)}`,
  async run(p, ctx) {
    const file = path.resolve(ctx.workspaceDir, p.config);
    const config = loadRunConfig(file);
    confineRunConfig(config, ctx, file);
    const out = await runConfigEndToEnd(config, ctx, { overwrite: p.overwrite, evaluate: p.evaluate });
    return { runDir: out.runDir, route: out.route, reason: out.reason, scores: out.report?.scores };
  },
});
