import * as path from 'node:path';
import { trainBlackBox, TrainOutcome } from '../../decoder/train';
import { loadRunConfig } from '../../config/loadRunConfig';
import { consoleContext } from '../../jobs/consoleContext';
import { numberFlag, parseArgs } from '../args';
import { CliCommand } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { UsageError } from '../command';
import { ablateDecoders, DECODER_ROWS } from '../decoderAblation';

const EXPERIMENTS = path.resolve(__dirname, '..', '..', '..', '..', 'models', 'experiments');
const GROUPS = [1, 2, 3, 4, 5];

export const command: CliCommand = {
  name: 'ablate',
  summary: "Train the seed's five experiment groups (or, with --decoders, the decoder training options) at equal wall time on a validation split and print them side by side.",
  usage: `faceinv ablate [--minutes M] [--output-size 64|128] [--validation F] [--workspace DIR] [--overwrite]
  Each group (models/experiments/group1..5.json) is trained for the same time budget (default 8 minutes) as
  run "ablation-groupN" on the same split, with a share F (default 0.1) of the training identities held out as
  a validation split; groups are ranked by their L1 loss on a seeded sample of those validation faces (always
  L1, so groups trained with other losses compare). The test identities are never looked at.

faceinv ablate --decoders [--minutes M] [--rows KEY,…] [--validation F] [--targets N] [--transfer ID,…] [--eval-every N]
  The decoder's training options, one row each, as run "ablation-decoders-KEY": ${DECODER_ROWS.map((r) => r.key).join(', ')}.
  Each row trains for M minutes (default 8; a budget too short for one held-out evaluation is refused with the
  minimum), then N validation targets (default 300) are decoded and scored: L1 to the photo, and type I / II
  rates (direct protocol, thresholds from the validation photos) by the attacked encoder and the --transfer
  encoders (default faceapi-resnet128). Prints one markdown table.`,
  async run(args) {
    const a = parseArgs(args, { values: ['minutes', 'output-size', 'validation', 'workspace', 'backend', 'cache', 'rows', 'targets', 'transfer', 'eval-every'], booleans: ['overwrite', 'decoders'] });
    const minutes = numberFlag(a, 'minutes', 8);
    const validation = numberFlag(a, 'validation', 0.1);
    if (!(validation > 0 && validation < 1)) throw new Error('--validation must be a share in (0, 1): model selection needs validation identities');
    if (!(minutes > 0)) throw new UsageError(`--minutes must be a number > 0, got ${minutes}`);
    if (a.booleans.has('decoders')) {
      await initEngineFromFlags(a);
      const keys = a.flags.get('rows')?.split(',').map((k) => k.trim()).filter(Boolean);
      const unknown = (keys ?? []).filter((k) => !DECODER_ROWS.some((r) => r.key === k));
      if (unknown.length) throw new UsageError(`unknown --rows ${unknown.join(', ')} (rows: ${DECODER_ROWS.map((r) => r.key).join(', ')})`);
      const targets = numberFlag(a, 'targets', 300);
      if (!(Number.isInteger(targets) && targets >= 10)) throw new UsageError(`--targets must be an integer ≥ 10, got ${targets}`);
      const evalEvery = numberFlag(a, 'eval-every', 50);
      if (!(Number.isInteger(evalEvery) && evalEvery >= 1)) throw new UsageError(`--eval-every must be an integer ≥ 1, got ${evalEvery}`);
      return ablateDecoders({
        minutes, validation, workspace: path.resolve(a.flags.get('workspace') ?? process.cwd()), cacheDir: a.flags.get('cache'),
        overwrite: a.booleans.has('overwrite'), rows: keys ? DECODER_ROWS.filter((r) => keys.includes(r.key)) : DECODER_ROWS,
        targets, evalEvery, transfer: (a.flags.get('transfer') ?? 'faceapi-resnet128').split(',').map((t) => t.trim()).filter(Boolean),
      });
    }
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
