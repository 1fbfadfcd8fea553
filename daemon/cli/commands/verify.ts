/**
 * `faceinv verify`: an encoder's LFW verification accuracy (10-fold protocol on pairs.txt) and its FMR 1e-2 /
 * 1e-3 thresholds from the all-pairs impostor distribution of the test identities, saved to
 * `<cache>/thresholds/<encoderId>.json` for the attack evaluation.
 */
import * as path from 'node:path';
import { parseArgs, intFlag, numberFlag } from '../args';
import { CliCommand, UsageError } from '../command';
import { verifyEncoder } from '../../data/verifyRun';
import { openImageDataset } from '../../data/dataset';
import { defaultCacheDir } from '../../data/pipeline';
import { stderrProgress } from '../../data/progress';
import { formatFailures, formatStats } from '../../data/summary';
import { FAILED_PAIR_SCORE } from '../../data/verify';
import { parseBackendChoice } from '../../tfjs/backend';
import { setEnvValue } from '../../protocol/env';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

export const command: CliCommand = {
  name: 'verify',
  summary: 'LFW 10-fold verification accuracy, TAR@FAR=1e-3 and FMR thresholds of an encoder (saved for attacks).',
  usage: 'faceinv verify --encoder ID --dataset DIR [--cache DIR] [--pairs FILE] [--seed N] [--test-fraction F]\n' +
    '               [--workers N] [--workspace DIR] [--backend NAME] [--json]\n' +
    '  --pairs          LFW pairs.txt (default: next to the dataset)\n' +
    '  --seed, --test-fraction   identity split whose test identities give the impostor distribution (0, 0.2)\n' +
    'Exit code: 0 done (images that failed to embed are reported and count as rejected pairs), 2 bad arguments.',
  async run(args) {
    const a = parseArgs(args, { values: ['encoder', 'dataset', 'cache', 'pairs', 'seed', 'test-fraction', 'workers', 'workspace', 'backend'], booleans: ['json'] });
    const encoderId = a.flags.get('encoder');
    const datasetDir = a.flags.get('dataset');
    if (!encoderId) throw new UsageError('--encoder ID is required');
    if (!datasetDir) throw new UsageError('--dataset DIR is required');
    try {
      openImageDataset(datasetDir);
    } catch (err) {
      throw new UsageError(`--dataset: ${(err as Error).message}`);
    }
    const testFraction = numberFlag(a, 'test-fraction', 0.2);
    if (!(testFraction > 0 && testFraction < 1)) throw new UsageError(`--test-fraction must be in (0, 1), got ${testFraction}`);
    if (a.flags.has('backend')) setEnvValue('FACEINV_BACKEND', parseBackendChoice(a.flags.get('backend') as string, '--backend'));
    const out = await verifyEncoder({
      encoderId,
      datasetDir,
      cacheDir: a.flags.get('cache') ?? defaultCacheDir(),
      pairsFile: a.flags.get('pairs'),
      seed: intFlag(a, 'seed', 0, 0),
      testFraction,
      workers: intFlag(a, 'workers', 0, 0) || undefined,
      workspaceDir: path.resolve(a.flags.get('workspace') ?? process.cwd()),
      progress: stderrProgress(`embed ${encoderId}`),
    });
    const t = out.thresholds;
    if (a.booleans.has('json')) {
      console.log(JSON.stringify({ ...t, foldAccuracies: out.tenFold?.foldAccuracies, thresholdsFile: out.thresholdsFile }, null, 2));
      return 0;
    }
    console.log(formatStats(out.embeddings.stats));
    for (const line of formatFailures(out.embeddings.failed, 20)) console.log(line);
    if (t.lfw && out.tenFold) {
      console.log(`LFW 10-fold accuracy: ${pct(t.lfw.accuracyMean)} ± ${pct(t.lfw.accuracyStd)} (folds: ${out.tenFold.foldAccuracies.map((x) => (100 * x).toFixed(1)).join(' ')})`);
      console.log(`TAR @ FAR=1e-3 (pairs.txt): ${pct(t.lfw.tarAtFar1e3)} at cosine > ${t.lfw.thresholdAtFar1e3.toFixed(4)}`);
      console.log(`pairs with an image that could not be embedded: ${t.lfw.pairsWithFailures} (${t.lfw.failedPairImages} images), scored ${FAILED_PAIR_SCORE} (rejected)`);
    } else {
      console.log('no pairs.txt found: LFW accuracy skipped (give --pairs FILE)');
    }
    console.log(`impostor distribution: ${t.impostorPairs} cross-identity pairs among ${t.split.images} images of ${t.split.identities} test identities (split seed ${t.split.seed}, test fraction ${t.split.testFraction}); ${t.genuinePairs} genuine pairs`);
    for (const p of t.points) {
      console.log(`FMR ${p.fmr}: cosine threshold ${p.threshold.toFixed(4)} (measured FMR ${p.measuredFmr.toExponential(2)}, FNMR ${pct(p.fnmr)})`);
    }
    console.log(`saved ${out.thresholdsFile}`);
    return 0;
  },
};
