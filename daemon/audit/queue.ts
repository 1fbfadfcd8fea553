/**
 * An audit over many machines through BullMQ on Redis (issue 24): `faceinv audit … --queue redis://HOST:PORT`
 * puts the chunks on a queue, `faceinv worker … --queue …` on any number of machines takes them.
 *
 * The queue's own semantics, configured — no scheduler of ours:
 *   - one queue per audit, named from the audit's id (its name, config hash and store hash): two audits on one
 *     Redis are kept apart, and a worker started with another config listens on another queue;
 *   - one job per chunk, jobId = "c<k>": adding a chunk twice (a coordinator restarted, Redis lost and back)
 *     is a no-op while the job exists;
 *   - attempts with exponential backoff; a worker killed mid-chunk stops renewing its lock, and the other
 *     workers' stalled-job check moves the chunk back to wait within lockDuration + stalledInterval;
 *   - progress events (job.updateProgress → QueueEvents) carry the worker's name, for the CLI and the editor.
 *
 * Exactly once: a worker returns the chunk's results as the job's return value (the kept PNGs with them); only
 * the coordinator writes chunk files, keyed by chunk index, temp + rename (chunks.ts). Writing chunk k twice
 * writes the same file, so a chunk retried after a stall, or finished by two workers, lands once. Workers need
 * no shared filesystem, only the workspace's encoder, store and reference set (hashes checked per job).
 */
import * as crypto from 'node:crypto';
import { Queue, QueueEvents, type ConnectionOptions, type Job } from 'bullmq';
import { JobCancelledError } from '../runs/attackContext';
import type { Calibration } from './calibration';
import type { ChunkFile } from './chunks';

/** What a chunk job carries: where it is in the store, and what the worker must agree with. */
export interface ChunkJobData {
  auditId: string;
  chunk: number;
  from: number;
  to: number;
  encoderHash: string;
  calibrationHash: string;
  storeSha256: string;
}

/** What a worker returns for a chunk: the chunk file the coordinator writes, and the kept reconstructions (base64 PNG). */
export interface ChunkJobResult {
  worker: string;
  file: ChunkFile;
  images: Record<string, string>;
}

/** Progress a worker reports while it inverts a chunk. */
export interface ChunkProgress {
  worker: string;
  chunk: number;
  /** Search queries (or steps) per template so far. */
  perTemplate: number;
}

/** Settings of the queue's semantics; the defaults suit real chunks, tests shorten them. */
export interface QueueTuning {
  /** How long a worker's lock on a chunk lasts without renewal (a killed worker's chunk returns after this). */
  lockMs: number;
  /** How often workers look for stalled chunks. */
  stalledMs: number;
  /** Attempts per chunk (errors and stalls), with exponential backoff from backoffMs. */
  attempts: number;
  backoffMs: number;
}

export const DEFAULT_TUNING: QueueTuning = { lockMs: 60_000, stalledMs: 30_000, attempts: 5, backoffMs: 5_000 };

/** The audit's id: its name, the config's and the store's hashes (so a worker with another config or store never takes its chunks). */
export function auditIdOf(name: string, configHash: string, storeSha256: string): string {
  return `${name}-${configHash.slice(0, 12)}-${storeSha256.slice(0, 8)}`;
}

/** BullMQ queue names may not hold ":". */
export function queueNameOf(auditId: string): string {
  return `faceinv-audit.${auditId}`;
}

/** The thresholds a worker must share with the coordinator (a worker calibrated on another reference set is refused). */
export function calibrationHash(c: Calibration): string {
  const points = c.points.map((p) => [p.fmr, p.threshold, p.attainable]);
  return crypto.createHash('sha256').update(JSON.stringify({ encoder: c.encoderHash, reference: c.reference, points })).digest('hex');
}

/** A Redis URL checked, for the CLI's message before anything connects. */
export function parseQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue ${url}: expected redis://HOST:PORT (or rediss:// for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue ${url}: expected redis://HOST:PORT (or rediss:// for TLS), not ${u.protocol}`);
  return url;
}

/** Connection options: commands wait while Redis is away (never fail the audit), reconnecting every ≤ 2 s. */
export function connectionOf(url: string): ConnectionOptions {
  return { url: parseQueueUrl(url), maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: (n: number) => Math.min(200 * n, 2000) };
}

export interface Coordination {
  url: string;
  auditId: string;
  chunks: { k: number; from: number; to: number }[];
  data: Omit<ChunkJobData, 'chunk' | 'from' | 'to' | 'auditId'>;
  tuning: QueueTuning;
  signal: AbortSignal;
  log: (level: 'info' | 'warn', msg: string) => void;
  onProgress: (p: ChunkProgress) => void;
  /** A finished chunk (called once per chunk, whatever retries happened). */
  onDone: (r: ChunkJobResult) => void;
}

/** Silence on the queue after which the audit says no worker seems to be there. */
const NO_WORKER_MS = 60_000;
/** How often every pending chunk's job is looked at, besides the chunks whose events came. */
const SWEEP_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Puts the chunks on the audit's queue and waits for each job's return value, handing each to onDone once.
 * Redis unreachable or lost: says so, waits, re-adds the chunks the lost Redis forgot (same jobIds), goes on.
 * A chunk that fails for good (a worker refused it, or its attempts ran out) stops the audit with its reason.
 */
export async function coordinateChunks(c: Coordination): Promise<void> {
  const connection = connectionOf(c.url);
  const name = queueNameOf(c.auditId);
  const queue = new Queue<ChunkJobData, ChunkJobResult>(name, { connection });
  const events = new QueueEvents(name, { connection });
  let away = false;
  const down = (e: Error) => {
    if (away) return;
    away = true;
    c.log('warn', `Redis at ${c.url} unreachable (${e.message}): the audit waits and goes on when it is back; finished chunks are kept`);
  };
  queue.on('error', down);
  events.on('error', down);
  let heard = Date.now();
  events.on('active', () => { heard = Date.now(); });
  // Finished chunks are looked at when their event comes; a full sweep now and then (and after Redis was away) catches any event missed.
  const flagged = new Set<number>();
  const flag = (jobId: string) => { heard = Date.now(); const m = /^c(\d+)$/.exec(jobId); if (m) flagged.add(Number(m[1])); };
  events.on('completed', ({ jobId }) => flag(jobId));
  events.on('failed', ({ jobId }) => flag(jobId));
  events.on('progress', ({ data }) => { heard = Date.now(); if (data && typeof data === 'object') c.onProgress(data as unknown as ChunkProgress); });
  const pending = new Map(c.chunks.map((x) => [x.k, x]));
  const jobOpts = { attempts: c.tuning.attempts, backoff: { type: 'exponential', delay: c.tuning.backoffMs }, removeOnComplete: false, removeOnFail: false } as const;
  let first = true;
  let swept = 0;
  try {
    while (pending.size) {
      if (c.signal.aborted) throw new JobCancelledError();
      try {
        const sweep = first || away || Date.now() - swept > SWEEP_MS;
        const look = sweep ? [...pending.keys()] : [...flagged].filter((k) => pending.has(k));
        flagged.clear();
        await ensureJobs(queue, c, pending, look, jobOpts, first);
        if (sweep) swept = Date.now();
        first = false;
        if (away) { away = false; c.log('info', `Redis at ${c.url} is back: the audit goes on`); }
      } catch (e) {
        if (e instanceof ChunkFailedError) throw e;
        down(e as Error);
      }
      if (pending.size && !c.signal.aborted) await sleep(500);
      if (Date.now() - heard > NO_WORKER_MS) {
        heard = Date.now();
        c.log('warn', `no worker has taken or reported a chunk of queue ${name} for ${NO_WORKER_MS / 1000} s (${pending.size} chunks to go): start "faceinv worker" with this audit's config and --queue ${c.url}`);
      }
    }
    // Every chunk is on file: the queue's jobs (and their results) are done with.
    await queue.obliterate({ force: true }).catch((e: Error) => c.log('warn', `could not remove the finished queue ${name}: ${e.message}`));
  } finally {
    await Promise.allSettled([events.close(), queue.close()]);
  }
}

class ChunkFailedError extends Error {}

const ADD_BATCH = 500;

/**
 * One pass: adds the missing jobs, collects the finished ones, throws on one that failed for good. The first
 * pass of an audit (run again after such a failure) removes the failed jobs, so their chunks are tried anew.
 */
async function ensureJobs(queue: Queue<ChunkJobData, ChunkJobResult>, c: Coordination, pending: Map<number, Coordination['chunks'][number]>, look: number[], jobOpts: object, first: boolean): Promise<void> {
  const missing: Coordination['chunks'] = [];
  for (const k of look) {
    const x = pending.get(k);
    if (!x) continue;
    const job = await queue.getJob(`c${k}`) as Job<ChunkJobData, ChunkJobResult> | undefined;
    if (!job) { missing.push(x); continue; }
    if (!job.finishedOn) continue;
    const state = await job.getState();
    if (state === 'completed' && job.returnvalue) {
      pending.delete(k);
      c.onDone(job.returnvalue);
      // On file now: the result leaves Redis (a store of 10⁷ templates would otherwise keep gigabytes there).
      await job.remove().catch(() => undefined);
    } else if (state === 'failed' && first) {
      await job.remove();
      missing.push(x);
    } else if (state === 'failed') {
      throw new ChunkFailedError(`chunk ${k + 1} failed for good after ${job.attemptsMade} attempt(s): ${job.failedReason}`);
    }
  }
  for (let i = 0; i < missing.length; i += ADD_BATCH) {
    await queue.addBulk(missing.slice(i, i + ADD_BATCH).map((x) => ({ name: 'chunk', data: { ...c.data, auditId: c.auditId, chunk: x.k, from: x.from, to: x.to }, opts: { ...jobOpts, jobId: `c${x.k}` } })));
  }
}
