/**
 * A white-box run on the held-out identities of a run config's split: judge the route, invert every chosen
 * test embedding by latent search through the attacked encoder, and write the run folder the evaluation and
 * the dashboard read (reconstructions with their sources, per-step loss and cosine in metrics.jsonl).
 */
import * as path from 'node:path';
import type { RunConfig } from '../config/run';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset, subsetByIdentity } from '../data/dataset';
import { getAlignedCrops, getEmbeddings } from '../data/embeddingCache';
import { makeIdentitySplit, splitToJson } from '../data/split';
import { listEncoderConfigs } from '../encoders/registry';
import { JobCancelledError, JobContext, yieldToEventLoop } from '../jobs/context';
import { RUN_FILES } from '../runs/layout';
import { claimRunFolder, MetricsWriter, truncateMetrics, updateManifest, writeFileAtomic } from '../runs/runFolder';
import { loadDecoderModel } from '../blackbox/decoderModel';
import { writeReconstructions } from '../blackbox/reconstruct';
import { TARGET_TEMPLATE } from '../blackbox/trainingSet';
import { chooseRows } from '../evaluation/evaluate';
import { loadDiffEncoder } from './diffEncoderFor';
import { invertTargets } from './invert';
import { judgeRoute } from './judge';
import { runDirOf } from '../blackbox/train';

export const WHITEBOX_DEFAULTS = { steps: 200, learningRate: 0.01, init: 'estimate' as const, priorWeight: 0, batchSize: 16 };

export function encoderConfigById(id: string) {
  const entry = listEncoderConfigs().find((e) => e.config.id === id);
  if (!entry) throw new Error(`no encoder config with id "${id}" (known: ${listEncoderConfigs().map((e) => e.config.id).join(', ')})`);
  return entry.config;
}

export interface WhiteboxOutcome {
  runDir: string;
  images: number;
  meanCosine: number;
  diverged: number;
  seconds: number;
}

export async function runWhitebox(config: RunConfig, ctx: JobContext, opts: { overwrite?: boolean; cacheDir?: string } = {}): Promise<WhiteboxOutcome> {
  const encConfig = encoderConfigById(config.encoder);
  const decision = judgeRoute(encConfig, config.route);
  if (decision.route !== 'whitebox') throw new Error(`runWhitebox: the judge chose ${decision.route} (${decision.reason})`);
  const wb = { ...WHITEBOX_DEFAULTS, ...(config.whitebox ?? {}) };
  if (!wb.generator) throw new Error(`run ${config.name}: the white-box route needs a generator: set whitebox.generator to a finished black-box run folder (e.g. "runs/default-attack")`);
  const runDir = runDirOf(config, ctx.workspaceDir);
  claimRunFolder(runDir, config, opts.overwrite ?? false);
  ctx.setRunDir(runDir);
  ctx.log('info', `route: whitebox — ${decision.reason}`);
  updateManifest(runDir, {
    name: config.name, kind: 'whitebox', encoderId: config.encoder, embeddingDim: encConfig.embeddingDim,
    route: { chosen: 'whitebox', requested: config.route, reason: decision.reason }, createdAt: new Date().toISOString(), state: 'running',
  });
  const t0 = Date.now();
  try {
    const datasetDir = resolveDatasetPath(config.dataset.path, ctx.workspaceDir);
    const full = openImageDataset(datasetDir);
    const split = makeIdentitySplit(full.identities, { seed: config.split.seed, testFraction: config.split.testFraction });
    writeFileAtomic(path.join(runDir, RUN_FILES.split), splitToJson(split));
    const testDs = subsetByIdentity(full, split.test);
    const emb = await getEmbeddings(testDs, config.encoder, { cacheDir: opts.cacheDir, workspaceDir: ctx.workspaceDir });
    const rows = chooseRows(emb.rels.length, config.evaluation.maxImages, config.split.seed);
    const targets = rows.map((r) => emb.embeddings.slice(r * emb.dim, (r + 1) * emb.dim));
    const generator = await loadDecoderModel(path.resolve(ctx.workspaceDir, wb.generator));
    const encoder = await loadDiffEncoder(encConfig, ctx.workspaceDir);
    const metricsFile = path.join(runDir, RUN_FILES.metrics);
    truncateMetrics(metricsFile, -1);
    const metrics = new MetricsWriter(metricsFile);
    try {
      let globalStep = 0;
      const res = await invertTargets(generator, encoder, encConfig, targets, {
        ...wb, seed: config.training.seed, signal: ctx.signal,
        onStep: (b, batches, s) => {
          globalStep++;
          metrics.append({ time: new Date().toISOString(), step: globalStep, split: 'search', loss: s.loss, cosine: s.meanCosine });
          ctx.progress(b * wb.steps + s.step, batches * wb.steps, { loss: s.loss, cosine: s.meanCosine, batch: b + 1 });
        },
      });
      if (ctx.signal.aborted) throw new JobCancelledError();
      await yieldToEventLoop();
      const S = generator.meta.outputSize;
      const crops = await getAlignedCrops(testDs, TARGET_TEMPLATE, S, { cacheDir: opts.cacheDir });
      const cropRow = new Map(crops.rels.map((r, i) => [r, i]));
      const S3 = S * S * 3;
      await writeReconstructions(path.join(runDir, RUN_FILES.reconstructions), rows.map((r, k) => {
        const c = cropRow.get(emb.rels[r]);
        return {
          id: emb.rels[r], identity: emb.identities[r], source: emb.rels[r], cosine: res.cosine[k],
          image: res.images.subarray(k * S3, (k + 1) * S3),
          ...(c !== undefined ? { original: crops.crops.subarray(c * S3, (c + 1) * S3) } : {}),
        };
      }), S, { encoderId: config.encoder, model: generator.dir, title: `${config.name}: white-box reconstructions` });
      const diverged = res.diverged.filter(Boolean).length;
      if (diverged) ctx.log('warn', `${diverged} targets diverged (NaN loss) and were stopped; their best result so far is kept`);
      const seconds = (Date.now() - t0) / 1000;
      const valid = res.cosine.filter((c) => Number.isFinite(c));
      const meanCosine = valid.reduce((p, q) => p + q, 0) / Math.max(1, valid.length);
      updateManifest(runDir, { state: 'finished', trainSeconds: seconds });
      return { runDir, images: rows.length, meanCosine, diverged, seconds };
    } finally {
      metrics.close();
      encoder.dispose();
      generator.decoder.dispose();
    }
  } catch (err) {
    updateManifest(runDir, err instanceof JobCancelledError ? { state: 'interrupted' } : { state: 'failed', error: (err as Error).message });
    throw err;
  }
}

