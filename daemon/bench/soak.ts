/**
 * Soak benchmark: a real daemon server (loopback WebSocket, token, queue, notifications) runs small `probe`
 * jobs back to back for a while, submitted and followed by a real client, and samples the process RSS and
 * the engine's tensor count over time. A leak shows as a positive slope: tensors must not grow at all;
 * RSS is judged on the second half of the run (after allocator and JIT warm-up) by its least-squares slope.
 */
import { tf } from '../tfjs/tf';
import type { JobKind } from '../jobs/defineJobKind';
import { probeJob } from '../jobs/kinds/probe';
import { DaemonClient } from '../protocol/client';
import { JobInfo, JobStateNotification, SubmitJobRequest, SubscribeRequest } from '../protocol/daemon';
import { newToken } from '../server/auth';
import { DaemonServer } from '../server/server';

export interface SoakOptions {
  /** Wall-clock length of the run, minutes (> 0). */
  minutes: number;
  /** Steps per probe job (default 20). */
  jobSteps?: number;
  /** Matrix size of the probe job (default 64). */
  size?: number;
  /** Seconds between samples (default: minutes*60/40, at least 0.5). */
  sampleEverySec?: number;
  backendName?: string;
  onSample?(s: SoakSample): void;
}

export interface SoakSample {
  /** Seconds since start. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  numTensors: number;
  numBytes: number;
  jobsDone: number;
}

export interface SoakReport {
  minutes: number;
  backend: string;
  jobs: number;
  jobsFailed: number;
  samples: SoakSample[];
  /** Least-squares slopes over the second half of the samples, per minute. */
  rssSlopeMiBPerMin: number;
  heapSlopeMiBPerMin: number;
  tensorSlopePerMin: number;
  tensorsStart: number;
  tensorsEnd: number;
}

/** Least-squares slope of y over x (0 for fewer than two points). */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  if (!(opts.minutes > 0)) throw new Error(`soak: minutes must be > 0, got ${opts.minutes}`);
  const token = newToken();
  const server = new DaemonServer({
    host: '127.0.0.1', port: 0, token, workspaceDir: process.cwd(),
    kinds: new Map<string, JobKind>([['probe', probeJob as unknown as JobKind]]),
    engine: { backend: tf.getBackend(), reason: 'soak', threads: 1, versions: {}, memory: () => tf.memory() },
  });
  const port = await server.listen();
  const client = await DaemonClient.connect(`ws://127.0.0.1:${port}`, token);
  const ends = new Map<string, (job: JobInfo) => void>();
  client.on(JobStateNotification, ({ job }) => {
    if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'cancelled') ends.get(job.id)?.(job);
  });
  await client.request(SubscribeRequest, {});
  const samples: SoakSample[] = [];
  const t0 = Date.now();
  const endAt = t0 + opts.minutes * 60_000;
  const every = (opts.sampleEverySec ?? Math.max(0.5, (opts.minutes * 60) / 40)) * 1000;
  let jobs = 0;
  let failed = 0;
  let nextSample = t0;
  const sample = () => {
    const m = process.memoryUsage();
    const t = tf.memory();
    const s: SoakSample = { t: (Date.now() - t0) / 1000, rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20, numTensors: t.numTensors, numBytes: t.numBytes, jobsDone: jobs };
    samples.push(s);
    opts.onSample?.(s);
  };
  try {
    while (Date.now() < endAt) {
      if (Date.now() >= nextSample) { sample(); nextSample += every; }
      const done = new Promise<JobInfo>((resolve) => {
        void client.request(SubmitJobRequest, { kind: 'probe', params: { steps: opts.jobSteps ?? 20, size: opts.size ?? 64 } }).then(({ job }) => ends.set(job.id, (j) => { ends.delete(job.id); resolve(j); }));
      });
      const job = await done;
      jobs++;
      if (job.state !== 'succeeded') failed++;
    }
    sample();
  } finally {
    await client.close();
    await server.close();
  }
  const half = samples.slice(Math.floor(samples.length / 2));
  const mins = half.map((s) => s.t / 60);
  return {
    minutes: opts.minutes,
    backend: opts.backendName ?? tf.getBackend(),
    jobs,
    jobsFailed: failed,
    samples,
    rssSlopeMiBPerMin: slope(mins, half.map((s) => s.rssMiB)),
    heapSlopeMiBPerMin: slope(mins, half.map((s) => s.heapUsedMiB)),
    tensorSlopePerMin: slope(samples.map((s) => s.t / 60), samples.map((s) => s.numTensors)),
    tensorsStart: samples[0]?.numTensors ?? 0,
    tensorsEnd: samples.at(-1)?.numTensors ?? 0,
  };
}
