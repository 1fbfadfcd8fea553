/**
 * Inverting the embeddings in a user's file with whichever route the judge picks (or the user forces):
 * white box = latent search through the encoder from the black-box decoder's answer; black box = the
 * decoder's answer alone. Output: PNGs, index.json/index.html, and report.json with the route and cosines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDecoderModel, LoadedDecoder } from '../blackbox/decoderModel';
import { writeReconstructions } from '../blackbox/reconstruct';
import type { DecoderModelMeta } from '../blackbox/train';
import { l2NormalizeRows, readEmbeddingsFile } from '../io/embeddingsFile';
import type { AttackContext as JobContext } from '../runs/context';
import { RUN_FILES } from '../protocol/runFolder';
import { readJson, writeJsonAtomic } from '../runs/runFolder';
import { DecoderFaceModel } from './faceModel/decoder';
import { checkFrame, checkTargets, renderFaces } from './inversion';
import { gradientSearch } from './search/gradientSearch';
import { judgeRoute, RouteRequest } from '../encoders/judge';
import { DEFAULT_RUNS_DIR, defaultWhitebox } from '../protocol/runConfig';
import { findEncoderConfig, scopeOf } from '../encoders/registry';

export interface InvertFileOptions {
  encoderId: string;
  embeddingsFile: string;
  route: RouteRequest;
  /** Black-box run folder or model folder; default: the newest finished black-box run for this encoder. */
  generator?: string;
  steps?: number;
  outDir: string;
}

/** Newest finished black-box decoder for `encoderId` under `<workspace>/runs`. */
export function findGenerator(workspaceDir: string, encoderId: string): string {
  const runsDir = path.join(workspaceDir, DEFAULT_RUNS_DIR);
  const candidates = (fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [])
    .map((name) => path.join(runsDir, name, RUN_FILES.model, 'meta.json'))
    .filter((f) => fs.existsSync(f))
    .map((f) => ({ f, meta: readJson<DecoderModelMeta>(f), mtime: fs.statSync(f).mtimeMs }))
    .filter((c) => c.meta.encoderId === encoderId)
    .sort((a, b) => b.mtime - a.mtime);
  if (!candidates.length) {
    throw new Error(`no trained black-box decoder for encoder ${encoderId} under ${runsDir}: train one first ` +
      `("faceinv train models/experiments/seed-decoder.json") or name one with --generator`);
  }
  return path.dirname(candidates[0].f);
}

export async function invertFile(o: InvertFileOptions, ctx: JobContext): Promise<{ route: string; reason: string; outDir: string; cosine: number[] }> {
  const config = findEncoderConfig(o.encoderId, scopeOf(ctx.workspaceDir)).config;
  const decision = judgeRoute(config, o.route);
  ctx.log('info', `route: ${decision.route} — ${decision.reason}`);
  const { ids, rows } = readEmbeddingsFile(o.embeddingsFile, config.embeddingDim);
  l2NormalizeRows(rows);
  const generatorDir = o.generator ? path.resolve(ctx.workspaceDir, o.generator) : findGenerator(ctx.workspaceDir, config.id);
  checkTargets(rows, config);
  const loaded: LoadedDecoder = await loadDecoderModel(generatorDir);
  const generator = new DecoderFaceModel(loaded);
  try {
    if (loaded.meta.encoderId !== config.id) {
      ctx.log('warn', `the generator was trained on ${loaded.meta.encoderId} embeddings, the targets come from ${config.id}`);
    }
    if (loaded.meta.embeddingDim !== config.embeddingDim) {
      throw new Error(`model/encoder mismatch: the generator takes ${loaded.meta.embeddingDim}-d inputs, ${config.id} embeddings are ${config.embeddingDim}-d`);
    }
    checkFrame(generator, config);
    const S = generator.frame.size;
    // The decoder's latent is the template itself: its own answer is the start.
    const start = new Float32Array(rows.length * generator.latentDim);
    rows.forEach((r, i) => start.set(r, i * generator.latentDim));
    let latents: Float32Array = start;
    let cosine: number[] = [];
    if (decision.route === 'whitebox') {
      const wb = { ...defaultWhitebox(), ...(o.steps ? { steps: o.steps } : {}) };
        const res = await gradientSearch(generator, config, rows, start, wb, {
          signal: ctx.signal, workspaceDir: ctx.workspaceDir, warn: (m) => ctx.log('warn', m),
          onStep: (b, batches, s) => ctx.progress(b * wb.steps + s.step, batches * wb.steps, { loss: s.loss, cosine: s.meanCosine }),
        });
        latents = res.latents;
        cosine = res.cosine;
        const diverged = res.diverged.filter(Boolean).length;
        if (diverged) ctx.log('warn', `${diverged} targets diverged (NaN loss): stopped, best result kept`);
    }
    const images = await renderFaces(generator, latents, rows.length);
    const S3 = S * S * 3;
    await writeReconstructions(o.outDir, ids.map((id, i) => ({ id, image: images.subarray(i * S3, (i + 1) * S3), ...(cosine[i] !== undefined ? { cosine: cosine[i] } : {}) })), S,
      { encoderId: config.id, model: generator.dir, title: `${decision.route} inversion of ${path.basename(o.embeddingsFile)}`, frame: generator.frame });
    writeJsonAtomic(path.join(o.outDir, 'report.json'), { route: decision.route, reason: decision.reason, encoderId: config.id, generator: generator.dir, ids, cosine });
    return { route: decision.route, reason: decision.reason, outDir: o.outDir, cosine };
  } finally {
    generator.dispose();
  }
}
