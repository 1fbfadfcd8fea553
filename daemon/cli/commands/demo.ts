import * as fs from 'node:fs';
import * as path from 'node:path';
import { INSTALL_ROOT } from '../../io/installation';
import { RUN_FILES } from '../../protocol/runFolder';
import { parseArgs } from '../args';
import { CliCommand } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { runConfigHeadless } from './run';

const DEFAULT_CONFIG = path.join(INSTALL_ROOT, 'models', 'experiments', 'quick-attack.json');

export const command: CliCommand = {
  name: 'demo',
  summary: 'The main job: a complete black-box query attack on held-out LFW identities — face model, search, evaluation beside the baselines, report (≈10 min on 2 cores).',
  usage: `faceinv demo [--config RUN_CONFIG] [--dataset DIR] [--workspace DIR] [--overwrite] [--cache DIR] [--workers N]
  Default config: models/experiments/quick-attack.json (arcface512-faceplugin attacked as a black box: a PCA face
  model of the attacker's training faces, a ridge-regression start, a zeroth-order search with a budget of encoder
  queries per target; scored by the attacked encoder and by faceapi-resnet128 (transfer), under both protocols, beside
  the nearest-training-face and mean-face baselines). Dataset: the config's (LFW by default: FACEINV_LFW,
  ../shared/data/lfw, or ~/.faceinv/data/lfw). Results: <workspace>/runs/<name>/evaluation/report.md and grid.png.`,
  async run(args) {
    const a = parseArgs(args, { values: ['config', 'dataset', 'workspace', 'backend', 'cache', 'workers'], booleans: ['overwrite'] });
    await initEngineFromFlags(a);
    const t0 = Date.now();
    const out = await runConfigHeadless(path.resolve(a.flags.get('config') ?? DEFAULT_CONFIG), a);
    const files = [RUN_FILES.evaluationMarkdown, RUN_FILES.evaluationGrid, path.join(RUN_FILES.reconstructions, 'index.html')]
      .map((f) => path.join(out.runDir, f)).filter((f) => fs.existsSync(f));
    console.log(`Total time ${((Date.now() - t0) / 60000).toFixed(1)} min${out.attackSeconds !== undefined ? ` (attack ${(out.attackSeconds / 60).toFixed(1)} min)` : ''}. Files:\n${files.map((f) => `  ${f}`).join('\n')}`);
    return 0;
  },
};
