/**
 * Runs the face pipeline over a dataset with resumable caches: per-image face analysis (detection + landmarks),
 * aligned crops per template/size, and embeddings per encoder. Work already in a cache is skipped; new results
 * are appended as they arrive (recordLog.ts), so a killed run keeps everything finished. Images are spread
 * over worker threads (pipelineWorker.ts) in small chunks. Failures (corrupt, no face, …) are collected per
 * image, never thrown: the caller decides what a failure means (the CLI exits non-zero).
 *
 * Cache layout under `cacheDir` (file names carry every input that changes the stored bytes):
 *   faces/fa<v>/<datasetId>.log                          analysis JSON or a deterministic failure
 *   crops/fa<v>/<template>-<size>/<datasetId>.log         [S,S,3] uint8
 *   emb/<encoderId>/<modelHash16>/fa<v>/<template>-<size>/<datasetId>.log   [dim] float32
 * Record key per image: `<rel>|<size bytes>|<mtime ms>`, so a changed file is recomputed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { RecordLog } from './recordLog';
import type { DatasetImage, ImageDataset } from './dataset';
import { FACE_ANALYSIS_VERSION, FaceAnalysis } from './faceAnalysis';
import { FaceFailure, FaceFailureKind } from './errors';
import { AlignmentSpec, alignmentKey } from './templates';
import { CoreInit, EncoderLoaderSpec, PipelineCore, WorkItem, WorkResult } from './pipelineCore';
import type { FromWorker, ToWorker } from './pipelineWorker';
import { ProgressSink } from './progress';
import { PreAlignment, preAlignmentFor } from './preAligned';
import { encoderIdForPath } from '../protocol/encoderConfig';

/** The encoder side of a run: what identifies its embeddings, and how workers load it. */
export interface EncoderTarget {
  id: string;
  /** Hash of the model file(s) (hex); part of the cache key. */
  modelHash: string;
  alignment: AlignmentSpec;
  /** Workspace whose encoder configs (and relative model paths) the id is looked up in, besides the shipped ones. */
  workspaceDir?: string;
  /** Module + export that loads the encoder by id in a worker (default: daemon/encoders/load loadEncoderById). */
  loader?: { module: string; exportName: string };
}

export interface PipelineOptions {
  /** Cache root (default defaultCacheDir()). */
  cacheDir?: string;
  /** Worker threads (default: CPU count, at most 8); 0 runs in this thread. */
  workers?: number;
  /** onnxruntime threads per session (default 1). */
  threads?: number;
  /** Images per worker message (default 16). */
  chunk?: number;
  progress?: ProgressSink;
}

export interface PipelineWant {
  encoder?: EncoderTarget;
  /** Aligned crop caches to fill and return. */
  crops?: AlignmentSpec[];
}

export interface PipelineOutcome {
  images: DatasetImage[];
  /** Per image: its analysis, or null when it failed. */
  analyses: (FaceAnalysis | null)[];
  /** Per image: its failure, or null. */
  failureOf: (FaceFailure | null)[];
  failures: FaceFailure[];
  /** Indices (into `images`) of the images that went through; the rows of `embeddings` and `crops`. */
  ok: number[];
  /** Embeddings [ok.length, dim] row-major, when an encoder was requested. */
  embeddings?: Float32Array;
  dim?: number;
  /** Crops [ok.length, S, S, 3] uint8 per alignmentKey. */
  crops: Map<string, Uint8Array>;
  stats: PipelineStats;
}

export interface PipelineStats {
  total: number;
  /** Images whose every requested output was already cached. */
  cached: number;
  /** Images processed in this run. */
  processed: number;
  /** Images on which the detector found more than one face (the primary one was used). */
  multiFace: number;
  seconds: number;
  /** processed / seconds (work actually done). */
  imagesPerSecond: number;
  workers: number;
  /** Photos given to the encoder as they are (an already aligned dataset), without detection. */
  preAligned: number;
  /** Why the dataset counts as already aligned (declared or detected); absent when it does not. */
  preAlignment?: PreAlignment;
}

/** `<repo root or cwd>/.cache/embeddings`: the repo root is the nearest ancestor of cwd with a package.json. */
export function defaultCacheDir(cwd = process.cwd()): string {
  let d = path.resolve(cwd);
  for (;;) {
    if (fs.existsSync(path.join(d, 'package.json'))) return path.join(d, '.cache', 'embeddings');
    const up = path.dirname(d);
    if (up === d) return path.join(path.resolve(cwd), '.cache', 'embeddings');
    d = up;
  }
}

/** Default encoder loader: the encoder registry. */
export const REGISTRY_LOADER = {
  module: path.resolve(__dirname, '..', 'encoders', 'load.js'),
  exportName: 'loadEncoderById',
};

/** The registry loader with ONNX encoders as plain ONNX Runtime sessions of their files (a speed baseline). */
export const PLAIN_ORT_LOADER = {
  module: REGISTRY_LOADER.module,
  exportName: 'loadPlainEncoderById',
};

/** Failure kinds that depend only on the file's bytes (cached); others are retried on the next run. */
const DETERMINISTIC: ReadonlySet<FaceFailureKind> = new Set(['not-an-image', 'corrupt', 'too-small', 'no-face', 'landmarks-failed']);

export function imageKey(img: DatasetImage): string {
  const st = fs.statSync(img.file, { throwIfNoEntry: false });
  return st ? `${img.rel}|${st.size}|${Math.round(st.mtimeMs)}` : `${img.rel}|missing`;
}

/** The image an imageKey names (its versions replace each other in the caches: a copied dataset has new mtimes). */
export function imageSlot(key: string): string {
  return key.replace(/\|(?:\d+\|\d+|missing)$/, '');
}

export function facesLogPath(cacheDir: string, datasetId: string): string {
  return path.join(cacheDir, 'faces', `fa${FACE_ANALYSIS_VERSION}`, `${datasetId}.log`);
}
export function cropsLogPath(cacheDir: string, datasetId: string, spec: AlignmentSpec): string {
  return path.join(cacheDir, 'crops', `fa${FACE_ANALYSIS_VERSION}`, alignmentKey(spec), `${datasetId}.log`);
}
export function embeddingsLogPath(cacheDir: string, datasetId: string, enc: EncoderTarget): string {
  return path.join(cacheDir, 'emb', encoderIdForPath(enc.id), enc.modelHash.slice(0, 16), `fa${FACE_ANALYSIS_VERSION}`, alignmentKey(enc.alignment), `${datasetId}.log`);
}

type FaceRecord = { ok: FaceAnalysis } | { fail: { kind: FaceFailureKind; detail: string } };

export async function runFacePipeline(ds: ImageDataset, want: PipelineWant, opts: PipelineOptions = {}): Promise<PipelineOutcome> {
  const t0 = Date.now();
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const cropSpecs = want.crops ?? [];
  const images = ds.images;
  const N = images.length;
  const keys = images.map(imageKey);

  const facesLog = RecordLog.open(facesLogPath(cacheDir, ds.id), imageSlot);
  const cropLogs = cropSpecs.map((s) => RecordLog.open(cropsLogPath(cacheDir, ds.id, s), imageSlot));
  const embLog = want.encoder ? RecordLog.open(embeddingsLogPath(cacheDir, ds.id, want.encoder), imageSlot) : null;
  const logs = [facesLog, ...cropLogs, ...(embLog ? [embLog] : [])];

  // An already aligned dataset (preAligned.ts) skips detection for the encoder's crops.
  const pre = want.encoder ? await preAlignmentFor(ds, want.encoder.alignment) : null;
  const analyses: (FaceAnalysis | null)[] = new Array(N).fill(null);
  const failureOf: (FaceFailure | null)[] = new Array(N).fill(null);
  const todo: WorkItem[] = [];
  for (let i = 0; i < N; i++) {
    const rec = facesLog.get(keys[i]);
    if (rec) {
      const parsed = JSON.parse(rec.toString('utf8')) as FaceRecord;
      if ('fail' in parsed) {
        failureOf[i] = { file: images[i].file, ...parsed.fail };
        continue;
      }
      analyses[i] = parsed.ok;
    }
    if (keys[i].endsWith('|missing')) {
      failureOf[i] = { file: images[i].file, kind: 'unreadable', detail: 'file not found' };
      continue;
    }
    const missingCrops = cropSpecs.filter((_, c) => !cropLogs[c].has(keys[i]));
    const needEmb = embLog !== null && !embLog.has(keys[i]);
    if ((analyses[i] || (pre && cropSpecs.length === 0)) && missingCrops.length === 0 && !needEmb) continue;
    todo.push({ index: i, file: images[i].file, analysis: analyses[i] ?? undefined, embed: needEmb, crops: missingCrops, ...(pre ? { preAligned: pre.spec } : {}) });
  }
  const cachedCount = N - todo.length;
  let done = cachedCount;
  let failed = failureOf.filter((f) => f !== null).length;
  let multiFace = 0;
  let preAligned = 0;
  let dim: number | undefined;
  opts.progress?.update(done, N, failed);

  const accept = (results: WorkResult[]) => {
    for (const r of results) {
      const item = todoByIndex.get(r.index);
      if (!item) throw new Error(`pipeline: a worker returned an unknown image index ${r.index}`);
      const i = r.index;
      if (r.analysis && r.analysedNow) facesLog.append(keys[i], Buffer.from(JSON.stringify({ ok: r.analysis } satisfies FaceRecord)));
      if (r.analysis) analyses[i] = r.analysis;
      if (r.preAligned) preAligned++;
      if (r.failure) {
        failureOf[i] = r.failure;
        failed++;
        if (DETERMINISTIC.has(r.failure.kind) && !r.analysis) {
          facesLog.append(keys[i], Buffer.from(JSON.stringify({ fail: { kind: r.failure.kind, detail: r.failure.detail } } satisfies FaceRecord)));
        }
      } else {
        item.crops.forEach((spec, c) => {
          const log = cropLogs[cropSpecs.indexOf(spec)];
          log.append(keys[i], (r.crops as Uint8Array[])[c]);
        });
        if (item.embed && embLog) {
          const e = r.embedding as Float32Array;
          if (dim === undefined) dim = e.length;
          else if (dim !== e.length) throw new Error(`encoder ${want.encoder?.id} returned ${e.length} values, earlier ${dim}`);
          embLog.append(keys[i], new Uint8Array(e.buffer, e.byteOffset, e.byteLength));
        }
      }
      done++;
    }
    opts.progress?.update(done, N, failed);
  };
  const todoByIndex = new Map(todo.map((t) => [t.index, t]));

  const workerCount = todo.length === 0 ? 0 : Math.min(opts.workers ?? Math.min(8, os.availableParallelism?.() ?? os.cpus().length), Math.ceil(todo.length / 4));
  const init: CoreInit = {
    threads: opts.threads ?? 1,
    encoder: want.encoder && todo.some((t) => t.embed) ? encoderLoaderSpec(want.encoder) : undefined,
  };
  const chunk = opts.chunk ?? 16;
  try {
    if (todo.length > 0) {
      if (workerCount <= 0 || (opts.workers ?? 1) === 0) {
        const core = await PipelineCore.create(init);
        try {
          for (let s = 0; s < todo.length; s += chunk) accept(await core.process(todo.slice(s, s + chunk)));
        } finally {
          await core.dispose();
        }
      } else {
        await runOnWorkers(todo, chunk, workerCount, init, accept);
      }
    }
  } finally {
    for (const l of logs) l.close();
  }
  opts.progress?.finish(done, N, failed);

  // Assemble outputs from the (now complete) caches: rows for the successful images only.
  const ok: number[] = [];
  for (let i = 0; i < N; i++) if (!failureOf[i]) ok.push(i);
  const crops = new Map<string, Uint8Array>();
  cropSpecs.forEach((spec, c) => {
    const S3 = spec.size * spec.size * 3;
    const rows = new Uint8Array(ok.length * S3);
    ok.forEach((i, r) => {
      const b = cropLogs[c].get(keys[i]);
      if (!b || b.length !== S3) throw new Error(`${cropLogs[c].file}: crop of ${images[i].rel} missing or of the wrong size`);
      rows.set(b, r * S3);
    });
    crops.set(alignmentKey(spec), rows);
  });
  let embeddings: Float32Array | undefined;
  if (embLog) {
    for (const i of ok) {
      if (dim !== undefined) break;
      dim = (embLog.get(keys[i]) as Buffer).length / 4;
    }
    dim = dim ?? 0;
    embeddings = new Float32Array(ok.length * dim);
    ok.forEach((i, r) => {
      const b = embLog.get(keys[i]);
      if (!b || b.length !== (dim as number) * 4) throw new Error(`${embLog.file}: embedding of ${images[i].rel} missing or of the wrong size`);
      embeddings?.set(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), r * (dim as number));
    });
  }
  for (const a of analyses) if (a && a.faceCount > 1) multiFace++;
  const seconds = (Date.now() - t0) / 1000;
  return {
    images,
    analyses,
    failureOf,
    failures: failureOf.filter((f): f is FaceFailure => f !== null),
    ok,
    embeddings,
    dim,
    crops,
    stats: {
      total: N,
      cached: cachedCount,
      processed: todo.length,
      multiFace,
      seconds,
      imagesPerSecond: todo.length > 0 ? todo.length / seconds : 0,
      workers: workerCount,
      preAligned,
      ...(pre ? { preAlignment: pre } : {}),
    },
  };
}

function encoderLoaderSpec(enc: EncoderTarget): EncoderLoaderSpec {
  const loader = enc.loader ?? REGISTRY_LOADER;
  return { module: loader.module, exportName: loader.exportName, id: enc.id, alignment: enc.alignment, ...(enc.workspaceDir ? { workspaceDir: enc.workspaceDir } : {}) };
}

/** A pipeline worker and the end of its thread. */
interface RunningWorker { w: Worker; exited: Promise<void> }

/** Spreads `todo` over `count` workers, `chunk` images per message; resolves when all results are in. */
async function runOnWorkers(todo: WorkItem[], chunk: number, count: number, init: CoreInit, accept: (r: WorkResult[]) => void): Promise<void> {
  const script = path.join(__dirname, 'pipelineWorker.js');
  const jobs: WorkItem[][] = [];
  for (let s = 0; s < todo.length; s += chunk) jobs.push(todo.slice(s, s + chunk));
  let next = 0;
  const workers: RunningWorker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0;
      let finished = false;
      const fail = (err: Error) => {
        if (finished) return;
        finished = true;
        reject(err);
      };
      const feed = (w: Worker, inFlight: { id: number | null }) => {
        if (finished) return;
        if (next >= jobs.length) {
          inFlight.id = null;
          active--;
          if (active === 0) {
            finished = true;
            resolve();
          }
          return;
        }
        inFlight.id = next;
        w.postMessage({ type: 'job', id: next, items: jobs[next] } satisfies ToWorker);
        next++;
      };
      for (let k = 0; k < count; k++) {
        const w = new Worker(script, { workerData: init });
        workers.push({ w, exited: new Promise((r) => w.once('exit', () => r())) });
        active++;
        const inFlight: { id: number | null } = { id: null };
        w.on('message', (msg: FromWorker) => {
          try {
            if (msg.type === 'ready') {
              feed(w, inFlight);
            } else if (msg.type === 'result') {
              accept(msg.results);
              feed(w, inFlight);
            } else if (msg.id !== undefined) {
              // The whole chunk failed unexpectedly: record each image, keep going.
              accept(jobs[msg.id].map((it) => ({ index: it.index, analysedNow: false, failure: { file: it.file, kind: 'pipeline-error', detail: msg.message } })));
              feed(w, inFlight);
            } else {
              fail(new Error(msg.message));
            }
          } catch (err) {
            fail(err as Error);
          }
        });
        w.on('error', (err) => fail(new Error(`pipeline worker crashed: ${err.message}`)));
        w.on('exit', (code) => {
          if (!finished && inFlight.id !== null) fail(new Error(`pipeline worker exited (code ${code}) during a job`));
        });
      }
    });
  } finally {
    await closeWorkers(workers);
  }
}

/**
 * Asks every worker to close and waits until each has ended by itself: after the chunk it is on (a failure
 * elsewhere can end the run while a worker is mid-chunk), it releases its sessions and leaves. Never
 * Worker.terminate(): stopping a thread inside an ONNX Runtime call makes onnxruntime-node throw a Napi::Error
 * that no JavaScript frame can take, and the whole process aborts ("terminate called after throwing an
 * instance of 'Napi::Error'", exit 134).
 */
async function closeWorkers(workers: RunningWorker[]): Promise<void> {
  for (const { w } of workers) w.postMessage({ type: 'close' } satisfies ToWorker);
  await Promise.all(workers.map((r) => r.exited));
}
