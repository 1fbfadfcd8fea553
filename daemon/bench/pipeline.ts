/**
 * LFW photos per second through the face pipeline (decode, detect, landmarks, align, embed; daemon/data/pipeline.ts)
 * on this machine, with the attacked encoder as the project builds it and as a plain ONNX Runtime session of its
 * file (PLAIN_ORT_LOADER), in one run: the first `images` photos of LFW, each run into a fresh temporary cache
 * (nothing cached is reused). Throughput is the steady state — photos finished between the first and the last
 * result, over that time — because a short run is otherwise mostly worker start-up (models loaded, graphs
 * checked: ~3 s), which a 13,233-photo run pays once; start-up is reported beside it. Two repetitions per side
 * in the order project, plain, plain, project, so load that rises or falls hits both alike.
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
  /** Steady-state photos per second (mean of the two repetitions' seconds per photo). */
  projectIps: number;
  plainIps: number;
  /** Seconds from the start of a run to its first result (workers starting), mean over all four runs. */
  startupSeconds: number;
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
  const once = async (plain: boolean): Promise<{ secondsPerPhoto: number; startup: number; workers: number }> => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-bench-pipeline-'));
    try {
      const now = () => Number(process.hrtime.bigint()) / 1e9;
      const t0 = now();
      let first: { t: number; done: number } | null = null;
      let last: { t: number; done: number } | null = null;
      const progress = {
        update(done: number) {
          if (done === 0) return;
          const t = now();
          first ??= { t, done };
          last = { t, done };
        },
        finish() { /* the last update already holds the end */ },
      };
      const out = await runFacePipeline(ds, { encoder: plain ? { ...target, loader: PLAIN_ORT_LOADER } : target }, { cacheDir, workers: opts.workers, progress });
      if (out.stats.processed !== n) throw new Error(`pipeline bench: ${out.stats.processed} of ${n} photos processed`);
      const a = first as { t: number; done: number } | null;
      const b = last as { t: number; done: number } | null;
      if (!a || !b || b.done <= a.done) throw new Error(`pipeline bench: ${n} photos are too few to time a steady state (--pipeline-images)`);
      return { secondsPerPhoto: (b.t - a.t) / (b.done - a.done), startup: a.t - t0, workers: out.stats.workers };
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  };
  const p1 = await once(false);
  const b1 = await once(true);
  const b2 = await once(true);
  const p2 = await once(false);
  const projectIps = 2 / (p1.secondsPerPhoto + p2.secondsPerPhoto);
  const plainIps = 2 / (b1.secondsPerPhoto + b2.secondsPerPhoto);
  return {
    images: n, workers: p1.workers, projectIps, plainIps, ratio: projectIps / plainIps,
    startupSeconds: (p1.startup + p2.startup + b1.startup + b2.startup) / 4,
    lfwSeconds: LFW_PHOTOS / projectIps, lfwSecondsPlain: LFW_PHOTOS / plainIps,
    datasetImages: full.images.length, load: [load0, os.loadavg()[0]],
  };
}
