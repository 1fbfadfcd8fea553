import * as path from 'node:path';
import { consoleContext } from '../../jobs/consoleContext';
import { RouteRequest } from '../../encoders/judge';
import { runJobKind } from '../../jobs/runInProcess';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { InvertJob } from '../../protocol/jobKinds';

const ROUTES: RouteRequest[] = ['auto', 'whitebox', 'blackbox'];

export const command: CliCommand = {
  name: 'invert',
  summary: 'Invert embeddings into faces; the judge picks white box (latent search through the encoder) or black box.',
  usage: `faceinv invert --encoder ID --embeddings FILE [--route auto|whitebox|blackbox] [--generator RUN_DIR] [--steps N] [--out DIR]
  FILE: .json, .npy or raw float32 (see "faceinv help reconstruct"). Generator: a finished black-box run (default:
  the newest one for this encoder under ./runs). Writes PNGs, index.html and report.json (route, reason, cosines).`,
  async run(args) {
    const a = parseArgs(args, { values: ['encoder', 'embeddings', 'route', 'generator', 'steps', 'out', 'workspace', 'backend'] });
    const encoderId = a.flags.get('encoder');
    const file = a.flags.get('embeddings');
    if (!encoderId || !file) throw new UsageError('--encoder and --embeddings are required');
    const route = (a.flags.get('route') ?? 'auto') as RouteRequest;
    if (!ROUTES.includes(route)) throw new UsageError(`--route must be one of ${ROUTES.join(', ')}`);
    await initEngineFromFlags(a);
    const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
    const ctx = consoleContext(workspace);
    try {
      const out = await runJobKind(InvertJob, {
        encoder: encoderId, embeddings: path.resolve(file), route, generator: a.flags.get('generator'),
        steps: a.flags.has('steps') ? intFlag(a, 'steps', 1) : undefined,
        out: path.resolve(a.flags.get('out') ?? `${path.basename(file).replace(/\.[^.]+$/, '')}-inverted`),
      }, ctx);
      const valid = out.cosine.filter((c): c is number => c !== null && Number.isFinite(c));
      console.log(`route ${out.route}: ${out.reason}`);
      if (valid.length) console.log(`mean cosine to the targets: ${(valid.reduce((p, q) => p + q, 0) / valid.length).toFixed(4)}`);
      console.log(`written to ${out.outDir} (open ${path.join(out.outDir, 'index.html')})`);
      return 0;
    } finally {
      ctx.close();
    }
  },
};
