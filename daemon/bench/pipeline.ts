/**
 * LFW photos per second through the face pipeline (decode, detect, landmarks, align, embed; daemon/data/pipeline.ts)
 * on this machine, with the attacked encoder as the project builds it and as a plain ONNX Runtime session of its
 * file (PLAIN_ORT_LOADER), in one run: the first `images` photos of LFW, each run into a fresh temporary cache
 * (nothing cached is reused), worker start-up included as a user's `faceinv embed` pays it. Two repetitions
 * per side in the order project, plain, plain, project, so load that rises or falls hits both alike.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openImageDataset, ImageDataset } from '../data/dataset';
import { PLAIN_ORT_LOADER, runFacePipeline } from '../data/pipeline';
import { encoderTarget } from '../data/encoderTarget';
import { resolveDatasetPath } from '../config/datasetPath';

export interface PipelineBenchResult {
  images: number;
  workers: number;
  /** Photos per second (images / wall seconds, mean of the two repetitions' seconds). */
  projectIps: number;
  plainIps: number;
  ratio: number;
  /** Seconds the whole of LFW (13,233 photos) would take at projectIps / plainIps. */
  lfwSeconds: number;
  lfwSecondsPlain: number;
  datasetImages: number;
  load: [number, number];
}

export interface PipelineBenchOptions {
  /** Photos per run (default 160). */
  images?: number;
  /** Dataset folder (default LFW as configs find it). */
  dataset?: string;
  workers?: number;
  encoder?: string;
}

/** LFW's photo count (the deep-funneled archive). */
export const LFW_PHOTOS = 13233;

export async function benchPipeline(opts: PipelineBenchOptions = {}): Promise<PipelineBenchResult> {
  const load0 = os.loadavg()[0];
  const full = openImageDataset(opts.dataset ?? resolveDatasetPath('lfw', process.cwd()));
  const n = Math.min(opts.images ?? 160, full.images.length);
  const ds: ImageDataset = { ...full, images: full.images.slice(0, n) };
  const target = encoderTarget(opts.encoder ?? 'arcface512-faceplugin');
  const once = async (plain: boolean): Promise<{ seconds: number; workers: number }> => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-bench-pipeline-'));
    try {
      const t0 = process.hrtime.bigint();
      const out = await runFacePipeline(ds, { encoder: plain ? { ...target, loader: PLAIN_ORT_LOADER } : target }, { cacheDir, workers: opts.workers });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      if (out.stats.processed !== n) throw new Error(`pipeline bench: ${out.stats.processed} of ${n} photos processed`);
      return { seconds, workers: out.stats.workers };
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  };
  const p1 = await once(false);
  const b1 = await once(true);
  const b2 = await once(true);
  const p2 = await once(false);
  const projectIps = n / ((p1.seconds + p2.seconds) / 2);
  const plainIps = n / ((b1.seconds + b2.seconds) / 2);
  return {
    images: n, workers: p1.workers, projectIps, plainIps, ratio: projectIps / plainIps,
    lfwSeconds: LFW_PHOTOS / projectIps, lfwSecondsPlain: LFW_PHOTOS / plainIps,
    datasetImages: full.images.length, load: [load0, os.loadavg()[0]],
  };
}
