/**
 * The audit's side of a queued audit (queue.ts): its chunks on the audit's BullMQ queue, each finished chunk's
 * file and kept reconstructions written here from the job's return value, the workers' progress said as it
 * comes. The worker's side is worker.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditConfig } from '../protocol/auditConfig';
import type { AttackContext as JobContext } from '../runs/attackContext';
import { AUDIT_FILES, configHash, type ChunkFile } from './chunks';
import { auditIdOf, calibrationHash, coordinateChunks, DEFAULT_TUNING, queueNameOf, type ChunkProgress, type QueueTuning } from './queue';
import type { Calibration } from './calibration';
import type { TemplateStore } from './templateStore';

/** What one process did for an audit: the report's `workers`. */
export interface WorkerTally { name: string; chunks: number; templates: number; seconds: number }

export interface QueuedChunks {
  url: string;
  config: AuditConfig;
  store: TemplateStore;
  cal: { hashA: string; calA: { calibration: Calibration } };
  auditDir: string;
  ctx: JobContext;
  tuning?: QueueTuning;
  chunks: { k: number; from: number; to: number }[];
  /** Writes a finished chunk's file and counts it (run.ts). */
  record: (file: ChunkFile) => void;
  /** Says the workers' progress as the audit's progress message (the CLI's line, the editor's notification). */
  say: (message: string) => void;
}

/** Puts the chunks on the queue and writes each one's results once, as workers finish them. */
export async function queuedChunks(q: QueuedChunks): Promise<void> {
  const { config, store, ctx } = q;
  const auditId = auditIdOf(config.name, configHash(config), store.sha256);
  if (!q.chunks.length) return;
  ctx.log('info', `${q.chunks.length} chunks on queue ${queueNameOf(auditId)} at ${q.url}: start workers with "faceinv worker <this audit's config or flags> --queue ${q.url}" on any machine with the workspace's encoder, store and reference set`);
  const working = new Map<string, ChunkProgress>();
  let lastSaid = 0;
  await coordinateChunks({
    url: q.url, auditId, chunks: q.chunks, tuning: q.tuning ?? DEFAULT_TUNING, signal: ctx.signal,
    data: { encoderHash: q.cal.hashA, calibrationHash: calibrationHash(q.cal.calA.calibration), storeSha256: store.sha256 },
    log: (level, msg) => ctx.log(level, msg),
    onProgress: (p) => {
      working.set(p.worker, p);
      if (Date.now() - lastSaid < 2000) return;
      lastSaid = Date.now();
      q.say(`workers: ${[...working.values()].map((w) => `${w.worker} on chunk ${w.chunk + 1} (${w.perTemplate} per template)`).join('; ')}`);
    },
    onDone: (r) => {
      for (const [name, b64] of Object.entries(r.images)) {
        if (!/^r\d{7}\.png$/.test(name)) continue;
        fs.writeFileSync(path.join(q.auditDir, AUDIT_FILES.images, name), Buffer.from(b64, 'base64'));
      }
      working.delete(r.worker);
      q.record({ ...r.file, worker: r.worker });
    },
  });
}
