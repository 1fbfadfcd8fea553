/**
 * Inverting the embeddings in a user's file with whichever route the judge picks (or the user forces):
 * white box = latent search through the encoder from the black-box decoder's answer; black box = the
 * decoder's answer alone. Output: PNGs, index.json/index.html, and report.json with the route and cosines.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeReconstructions } from '../decoder/reconstruct';
import { l2NormalizeRows, readEmbeddingsFile } from '../io/embeddingsFile';
import type { AttackContext as JobContext } from '../runs/attackContext';
import { RUN_FILES } from '../protocol/runFolder';
import type { DecoderMetaView } from '../protocol/decoderFit';
import { readJson, writeJsonAtomic } from '../runs/runFolder';
import type { RouteRequest } from '../encoders/judge';
import { DEFAULT_RUNS_DIR } from '../protocol/runConfig';
import { openDecoderFaceModel } from './faceModel/decoder';
import { checkFrame, checkTargets, renderFaces } from './inversion';
import { invertTargets } from './invert';
import { invertAttackSpec, planAttack } from './plan';
import { startLatents } from './start';

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
    .map((f) => ({ f, meta: readJson<DecoderMetaView>(f), mtime: fs.statSync(f).mtimeMs }))
    .filter((c) => c.meta.encoderId === encoderId)
    .sort((a, b) => b.mtime - a.mtime);
  if (!candidates.length) {
    throw new Error(`no trained black-box decoder for encoder ${encoderId} under ${runsDir}: train one first ` +
      `("faceinv train models/experiments/seed-decoder.json") or name one with --generator`);
  }
  return path.dirname(candidates[0].f);
}

export async function invertFile(o: InvertFileOptions, ctx: JobContext): Promise<{ route: string; reason: string; outDir: string; cosine: number[] }> {
  const plan = planAttack(invertAttackSpec(o), ctx.workspaceDir);
  const { enc, decision } = plan;
  ctx.log('info', `route: ${decision.route} — ${decision.reason}`);
  const { ids, rows } = readEmbeddingsFile(o.embeddingsFile, enc.embeddingDim);
  l2NormalizeRows(rows);
  const generatorDir = o.generator ? path.resolve(ctx.workspaceDir, o.generator) : findGenerator(ctx.workspaceDir, enc.id);
  checkTargets(rows, enc);
  const generator = await openDecoderFaceModel(generatorDir, enc);
  try {
    checkFrame(generator, enc);
    const S = generator.frame.size;
    // The decoder's latent is the template itself: its own answer is the start.
    const start = startLatents(plan.start, rows, { templates: new Float32Array(0), dim: enc.embeddingDim, latents: new Float32Array(0), latentDim: generator.latentDim, n: 0 });
    const wb = plan.whitebox;
    const res = await invertTargets(plan, generator, rows, start, {
      signal: ctx.signal, workspaceDir: ctx.workspaceDir, log: (level, m) => ctx.log(level, m),
      onWhiteboxStep: (b, batches, s) => ctx.progress(b * wb.steps + s.step, batches * wb.steps, { loss: s.loss, cosine: s.meanCosine }),
    });
    const diverged = (res.diverged ?? []).filter(Boolean).length;
    if (diverged) ctx.log('warn', `${diverged} targets diverged (NaN loss): stopped, best result kept`);
    const cosine = res.cosine ?? [];
    const images = await renderFaces(generator, res.latents, rows.length);
    const S3 = S * S * 3;
    await writeReconstructions(o.outDir, ids.map((id, i) => ({ id, image: images.subarray(i * S3, (i + 1) * S3), ...(cosine[i] !== undefined ? { cosine: cosine[i] } : {}) })), S,
      { encoderId: enc.id, model: generator.dir, title: `${decision.route} inversion of ${path.basename(o.embeddingsFile)}`, frame: generator.frame });
    writeJsonAtomic(path.join(o.outDir, 'report.json'), { route: decision.route, reason: decision.reason, encoderId: enc.id, generator: generator.dir, ids, cosine });
    return { route: decision.route, reason: decision.reason, outDir: o.outDir, cosine };
  } finally {
    generator.dispose();
  }
}
