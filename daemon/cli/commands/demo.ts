import * as fs from 'node:fs';
import * as path from 'node:path';
import { trainBlackBox } from '../../blackbox/train';
import { loadRunConfig } from '../../config/loadRunConfig';
import { evaluateRun, reportMarkdown } from '../../evaluation/evaluate';
import { consoleContext } from '../../jobs/consoleContext';
import { RUN_FILES } from '../../runs/layout';
import { parseArgs } from '../args';
import { CliCommand } from '../command';
import { initEngineFromFlags } from '../engineFlags';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const DEFAULT_CONFIG = path.join(REPO_ROOT, 'models', 'experiments', 'quick-attack.json');

export const command: CliCommand = {
  name: 'demo',
  summary: 'The main job: a complete small black-box attack on LFW — train (≈6 min), reconstruct held-out faces, evaluate, report.',
  usage: `faceinv demo [--config RUN_CONFIG] [--dataset DIR] [--workspace DIR] [--overwrite]
  Default config: models/experiments/quick-attack.json (arcface512-faceplugin, average-face targets, group-3
  settings, 128×128, 6-minute training budget). Dataset: the config's (LFW by default: FACEINV_LFW, ../shared/data/lfw,
  or ~/.faceinv/data/lfw). Results: <workspace>/runs/<name>/evaluation/report.md and grid.png.`,
  async run(args) {
    const a = parseArgs(args, { values: ['config', 'dataset', 'workspace', 'backend', 'cache'], booleans: ['overwrite'] });
    const config = loadRunConfig(path.resolve(a.flags.get('config') ?? DEFAULT_CONFIG));
    if (a.flags.has('dataset')) config.dataset.path = path.resolve(a.flags.get('dataset') as string);
    const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
    await initEngineFromFlags(a);
    const ctx = consoleContext(workspace);
    try {
      const t0 = Date.now();
      const trained = await trainBlackBox(config, ctx, { overwrite: a.booleans.has('overwrite'), cacheDir: a.flags.get('cache') });
      console.error(`trained ${trained.steps} steps in ${trained.trainSeconds.toFixed(0)} s (held-out L1 ${trained.testLoss.toFixed(4)})`);
      const report = await evaluateRun(trained.runDir, ctx, { cacheDir: a.flags.get('cache') });
      console.log(reportMarkdown(report));
      const files = [RUN_FILES.evaluationMarkdown, RUN_FILES.evaluationGrid, path.join(RUN_FILES.reconstructions, 'index.html')]
        .map((f) => path.join(trained.runDir, f)).filter((f) => fs.existsSync(f));
      console.log(`Total time ${((Date.now() - t0) / 60000).toFixed(1)} min. Files:\n${files.map((f) => `  ${f}`).join('\n')}`);
      return 0;
    } finally {
      ctx.close();
    }
  },
};
