/** `train`: black-box decoder training from a run config file (resumes from the run's last checkpoint). */
import * as path from 'node:path';
import { TrainJob } from '../../protocol/jobKinds';
import { trainBlackBox } from '../../decoder/train';
import { loadRunConfig } from '../../config/loadRunConfig';
import { confineRunConfig } from '../confine';
import { defineJobKind } from '../defineJobKind';

export const trainJob = defineJobKind(TrainJob, {
  summary: 'Train the black-box inverse decoder of a run config (resumes from its last checkpoint).',
  label: (p) => `train ${path.basename(p.config)}`,
  async run(p, ctx) {
    const file = path.resolve(ctx.workspaceDir, p.config);
    const config = loadRunConfig(file);
    confineRunConfig(config, ctx, file);
    return trainBlackBox(config, ctx, { overwrite: p.overwrite, cacheDir: ctx.cacheDir, workers: ctx.workers });
  },
});
