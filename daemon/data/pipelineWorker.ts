/**
 * Worker-thread wrapper around PipelineCore: one worker per core, each with single-threaded onnxruntime
 * sessions, so a 2-core machine runs two images at once without oversubscription. Messages (main ⇄ worker):
 *   main → worker  { type: 'job', id, items: WorkItem[] }   |  { type: 'close' }
 *   worker → main  { type: 'ready', dim } | { type: 'result', id, results } | { type: 'error', id?, message }
 * The CoreInit arrives as workerData. Messages are handled one at a time, in order: a 'close' waits for the
 * job before it, then the worker releases its sessions and ends by itself (runOnWorkers never terminates it).
 */
import { MessagePort, parentPort, workerData } from 'node:worker_threads';
import { CoreInit, PipelineCore, WorkItem, WorkResult } from './pipelineCore';

export type ToWorker = { type: 'job'; id: number; items: WorkItem[] } | { type: 'close' };
export type FromWorker =
  | { type: 'ready'; dim: number | null }
  | { type: 'result'; id: number; results: WorkResult[] }
  | { type: 'error'; id?: number; message: string };

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('pipelineWorker.js must run as a worker thread');
  let core: PipelineCore;
  try {
    core = await PipelineCore.create(workerData as CoreInit);
  } catch (err) {
    port.postMessage({ type: 'error', message: `worker start-up failed: ${(err as Error).message}` } satisfies FromWorker);
    return;
  }
  port.postMessage({ type: 'ready', dim: core.encoderDim } satisfies FromWorker);
  let handled = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    handled = handled.then(() => handle(port, core, msg));
  });
}

async function handle(port: MessagePort, core: PipelineCore, msg: ToWorker): Promise<void> {
  if (msg.type === 'close') {
    await core.dispose();
    port.close();
    return;
  }
  try {
    const results = await core.process(msg.items);
    // Encoders may return rows that are views of one buffer: transfer each buffer once.
    const transfer = new Set<ArrayBuffer>();
    for (const r of results) {
      if (r.embedding) transfer.add(r.embedding.buffer as ArrayBuffer);
      for (const c of r.crops ?? []) transfer.add(c.buffer as ArrayBuffer);
    }
    port.postMessage({ type: 'result', id: msg.id, results } satisfies FromWorker, [...transfer]);
  } catch (err) {
    port.postMessage({ type: 'error', id: msg.id, message: (err as Error).message } satisfies FromWorker);
  }
}

void main();
