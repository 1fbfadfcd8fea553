/** `train`: black-box decoder training from a run config file (resumes from the run's last checkpoint). */
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { trainBlackBox } from '../../blackbox/train';
import { loadRunConfig } from '../../config/loadRunConfig';
import { confineRunConfig } from '../confine';
import { defineJobKind } from '../defineJobKind';

export const trainJob = defineJobKind({
  kind: 'train',
  summary: 'Train the black-box inverse decoder of a run config (resumes from its last checkpoint).',
  params: Type.Object({
    config: Type.String({ minLength: 1, maxLength: 4096, description: 'Run config file, relative to the workspace.' }),
    overwrite: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
  label: (p) => `train ${path.basename(p.config)}`,
  async run(p, ctx) {
    const file = path.resolve(ctx.workspaceDir, p.config);
    const config = loadRunConfig(file);
    confineRunConfig(config, ctx, file);
    return trainBlackBox(config, ctx, { overwrite: p.overwrite, cacheDir: ctx.cacheDir, workers: ctx.workers });
  },
});
