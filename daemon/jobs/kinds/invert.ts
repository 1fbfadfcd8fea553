/** `invert`: invert the embeddings of a file, white or black box as the judge (or the user) decides. */
import { DEFAULT_RUNS_DIR } from '../../protocol/runConfig';
import * as path from 'node:path';
import { InvertJob } from '../../protocol/jobKinds';
import { invertFile } from '../../attack/invertFile';
import { defineJobKind } from '../defineJobKind';

export const invertJob = defineJobKind(InvertJob, {
  summary: 'Invert the embeddings of a file into faces (route: auto | whitebox | blackbox).',
  label: (p) => `invert ${path.basename(p.embeddings)}`,
  async run(p, ctx) {
    const file = path.resolve(ctx.workspaceDir, p.embeddings);
    const outDir = path.resolve(ctx.workspaceDir, p.out ?? path.join(DEFAULT_RUNS_DIR, 'inversions', path.basename(file).replace(/\.[^.]+$/, '')));
    ctx.setRunDir(outDir);
    return invertFile({ encoderId: p.encoder, embeddingsFile: file, route: p.route ?? 'auto', generator: p.generator, steps: p.steps, outDir }, ctx);
  },
});
