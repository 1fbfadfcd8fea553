/**
 * `faceinv worker … --queue redis://HOST:PORT`: takes chunks of an audit from its BullMQ queue (queue.ts) and
 * inverts them through the audit's own chunk path (run.ts: the same plan, calibration, face model and
 * auditChunk → invertTargets), returning each chunk's results as the job's return value; the audit writes them.
 *
 * The worker prepares once (calibration from the shared cache or computed, the face model built from the same
 * seed in a scratch folder of its own), then refuses any chunk whose encoder hash, thresholds or store differ
 * from its own (an UnrecoverableError: the chunk fails at once with the reason, nothing is retried elsewhere
 * with wrong figures). Killed mid-chunk, it loses nothing: its lock lapses and another worker takes the chunk.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { AuditConfig } from '../protocol/auditConfig';
import { auditAttackSpec, planAttack } from '../attack/plan';
import { defaultCacheDir } from '../data/pipeline';
import type { AttackContext as JobContext } from '../runs/attackContext';
import { AUDIT_FILES, configHash } from './chunks';
import { auditIdOf, calibrationHash, connectionOf, DEFAULT_TUNING, queueNameOf, type ChunkJobData, type ChunkJobResult, type QueueTuning } from './queue';
import { openStores, prepareChunks, runChunk, type AuditOptions } from './run';

export interface WorkerOptions extends Pick<AuditOptions, 'cacheDir' | 'workers' | 'secrets'> {
  queue: string;
  /** How this worker is named in progress and in the report (default host-pid). */
  name?: string;
  tuning?: QueueTuning;
  /** Once it has inverted a chunk, stop after this many seconds without one (benches, batch machines); default: run until cancelled. */
  idleExitSeconds?: number;
}

/** Why a job's data does not fit this worker, or null. */
function refusal(d: ChunkJobData, own: { encoderHash: string; calibrationHash: string; storeSha256: string }, name: string): string | null {
  if (d.encoderHash !== own.encoderHash) return `worker ${name} refuses chunk ${d.chunk + 1}: its encoder's hash ${own.encoderHash.slice(0, 12)}… differs from the audit's ${d.encoderHash.slice(0, 12)}… (another model file or service)`;
  if (d.calibrationHash !== own.calibrationHash) return `worker ${name} refuses chunk ${d.chunk + 1}: its thresholds (calibration ${own.calibrationHash.slice(0, 12)}…) differ from the audit's (${d.calibrationHash.slice(0, 12)}…): another reference set or encoder`;
  if (d.storeSha256 !== own.storeSha256) return `worker ${name} refuses chunk ${d.chunk + 1}: its template store (SHA-256 ${own.storeSha256.slice(0, 12)}…) is not the audit's (${d.storeSha256.slice(0, 12)}…)`;
  return null;
}

/** Serves the audit's queue until cancelled (or idle for idleExitSeconds); returns how many chunks it inverted. */
export async function runAuditWorker(config: AuditConfig, ctx: JobContext, opts: WorkerOptions): Promise<{ chunks: number; name: string }> {
  const ws = ctx.workspaceDir;
  const name = opts.name ?? `${os.hostname()}-${process.pid}`;
  const plan = planAttack(auditAttackSpec(config), ws);
  const stores = openStores(config, plan, ws, ctx);
  const auditId = auditIdOf(config.name, configHash(config), stores.store.sha256);
  const scratchDir = path.join(opts.cacheDir ?? defaultCacheDir(), 'audit-worker', auditId, name.replace(/[^A-Za-z0-9._-]/g, '-'));
  const disposers: (() => unknown)[] = [];
  const tuning = opts.tuning ?? DEFAULT_TUNING;
  let chunks = 0;
  try {
    const prep = await prepareChunks(config, plan, ctx, opts, scratchDir, stores, disposers);
    const own = { encoderHash: prep.cal.hashA, calibrationHash: calibrationHash(prep.cal.calA.calibration), storeSha256: stores.store.sha256 };
    let last = Date.now();
    let active = 0;
    const process1 = async (job: Job<ChunkJobData, ChunkJobResult>): Promise<ChunkJobResult> => {
      const d = job.data;
      const why = refusal(d, own, name);
      if (why) { ctx.log('warn', why); throw new UnrecoverableError(why); }
      ctx.log('info', `${name}: chunk ${d.chunk + 1} (rows ${d.from}–${d.to - 1}), attempt ${job.attemptsMade + 1}`);
      let said = 0;
      active++;
      const file = await runChunk({
        k: d.chunk, from: d.from, to: d.to, config, plan, store: stores.store, prep, scratchDir, ctx, worker: name,
        onSearch: (qpt) => { if (Date.now() - said > 1000) { said = Date.now(); void job.updateProgress({ worker: name, chunk: d.chunk, perTemplate: qpt }).catch(() => undefined); } },
      }).finally(() => { active--; last = Date.now(); });
      const images: Record<string, string> = {};
      for (const r of file.results) {
        if (!r.image) continue;
        const f = path.join(scratchDir, AUDIT_FILES.images, r.image);
        images[r.image] = fs.readFileSync(f).toString('base64');
        fs.rmSync(f, { force: true });
      }
      chunks++;
      last = Date.now();
      return { worker: name, file, images };
    };
    const worker = new Worker<ChunkJobData, ChunkJobResult>(queueNameOf(auditId), process1, {
      connection: connectionOf(opts.queue), concurrency: 1, lockDuration: tuning.lockMs, stalledInterval: tuning.stalledMs, maxStalledCount: tuning.attempts,
    });
    let away = false;
    worker.on('error', (e) => { if (!away) { away = true; ctx.log('warn', `${name}: Redis at ${opts.queue} unreachable (${e.message}); waiting for it`); } });
    worker.on('ready', () => { if (away) { away = false; ctx.log('info', `${name}: Redis is back`); } });
    ctx.log('info', `${name} serves queue ${queueNameOf(auditId)} at ${opts.queue}`);
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const idle = opts.idleExitSeconds !== undefined && chunks > 0 && active === 0 && Date.now() - last > opts.idleExitSeconds * 1000;
        if (ctx.signal.aborted || idle) { clearInterval(tick); resolve(); }
      }, 250);
    });
    await worker.close();
    return { chunks, name };
  } finally {
    for (const d of disposers.reverse()) {
      try { await d(); } catch { /* released anyway */ }
    }
  }
}
