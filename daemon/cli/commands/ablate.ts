import * as path from 'node:path';
import { trainBlackBox, TrainOutcome } from '../../blackbox/train';
import { loadRunConfig } from '../../config/loadRunConfig';
import { consoleContext } from '../../jobs/consoleContext';
import { numberFlag, parseArgs } from '../args';
import { CliCommand } from '../command';
import { initEngineFromFlags } from '../engineFlags';

const EXPERIMENTS = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'experiments');
const GROUPS = [1, 2, 3, 4, 5];

export const command: CliCommand = {
  name: 'ablate',
  summary: "Train the seed's five experiment groups on the same split and print their held-out losses side by side.",
  usage: `faceinv ablate [--minutes M] [--output-size 64|128] [--validation F] [--workspace DIR] [--overwrite]
  Each group (models/experiments/group1..5.json) is trained for the same time budget (default 8 minutes) as
  run "ablation-groupN" on the same split, with a share F (default 0.1) of the training identities held out as
  a validation split; groups are ranked by their L1 loss on a seeded sample of those validation faces (always
  L1, so groups trained with other losses compare). The test identities are never looked at.`,
  async run(args) {
    const a = parseArgs(args, { values: ['minutes', 'output-size', 'validation', 'workspace', 'backend', 'cache'], booleans: ['overwrite'] });
    const minutes = numberFlag(a, 'minutes', 8);
    const validation = numberFlag(a, 'validation', 0.1);
    if (!(validation > 0 && validation < 1)) throw new Error('--validation must be a share in (0, 1): model selection needs validation identities');
    const outputSize = numberFlag(a, 'output-size', 128);
    if (outputSize !== 64 && outputSize !== 128) throw new Error('--output-size must be 64 or 128');
    await initEngineFromFlags(a);
    const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
    const results: { group: number; description: string; out: TrainOutcome }[] = [];
    for (const g of GROUPS) {
      const config = loadRunConfig(path.join(EXPERIMENTS, `group${g}.json`));
      config.name = `ablation-group${g}`;
      config.training.maxMinutes = minutes;
      config.decoder.outputSize = outputSize as 64 | 128;
      config.split.validationFraction = validation;
      const ctx = consoleContext(workspace);
      try {
        console.error(`\n== group ${g}: ${config.description ?? ''}`);
        results.push({ group: g, description: config.description ?? '', out: await trainBlackBox(config, ctx, { overwrite: a.booleans.has('overwrite'), cacheDir: a.flags.get('cache') }) });
      } finally {
        ctx.close();
      }
    }
    console.log(`\n| group | loss | residual layers | noise var | steps | validation L1 (${(100 * validation).toFixed(0)} % of the training identities) | train loss |`);
    console.log('|---|---|---|---|---|---|---|');
    for (const r of results) {
      const c = loadRunConfig(path.join(EXPERIMENTS, `group${r.group}.json`));
      console.log(`| ${r.group} | ${c.decoder.loss} | ${c.decoder.residualLayers} | ${c.decoder.noiseVariance} | ${r.out.steps} | ${r.out.testLoss.toFixed(4)} | ${r.out.trainLoss.toFixed(4)} |`);
    }
    const best = results.reduce((p, q) => (q.out.testLoss < p.out.testLoss ? q : p));
    console.log(`\nlowest validation L1: group ${best.group}`);
    return 0;
  },
};
