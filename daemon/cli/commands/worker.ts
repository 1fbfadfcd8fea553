/**
 * `faceinv worker`: takes chunks of a queued audit (`faceinv audit … --queue redis://…`) from its BullMQ queue
 * and inverts them (daemon/audit/worker.ts). Same config file or flags as the audit: they name the audit's
 * queue (its name, config hash and store hash), so a worker started for another audit never takes its chunks.
 * Runs until Ctrl-C (finishing the chunk in hand) or --idle-exit seconds without work.
 */
import * as path from 'node:path';
import { auditConfigFrom } from '../../audit/configFrom';
import { DEFAULT_TUNING, parseQueueUrl } from '../../audit/queue';
import { runAuditWorker } from '../../audit/worker';
import { consoleContext } from '../../jobs/consoleContext';
import { daemonRoots, setActiveRoots } from '../../security/roots';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { AUDIT_VALUE_FLAGS, localDataRoots, overridesOf } from './audit';

const USAGE = `faceinv worker [CONFIG.faceinv-audit.json] [--encoder ID --templates FILE] [audit options] --queue redis://HOST:PORT
  Takes chunks of the audit with this config from its queue and inverts them; the audit (faceinv audit … --queue)
  writes the results. Needs the workspace's encoder, template store and reference set (their hashes are checked
  against the audit's: a worker with another encoder or calibration is refused).

  --queue redis://HOST:PORT   the Redis the audit's queue is on
  --worker-name NAME          this worker's name in progress and the report (default HOST-PID)
  --lock-seconds S            how long a chunk stays locked without renewal (default ${DEFAULT_TUNING.lockMs / 1000}); a killed
                              worker's chunk goes to another worker after about this long
  --idle-exit S               once it has inverted a chunk, stop after S seconds without one (default: run until Ctrl-C)
  the audit's own flags (--sample, --budget, --chunk-size, …), --workspace DIR, --cache DIR, --backend NAME, --data-root DIR`;

export const command: CliCommand = {
  name: 'worker',
  summary: 'Take chunks of a queued audit (faceinv audit … --queue redis://…) from its BullMQ queue and invert them, on any number of machines.',
  usage: USAGE,
  async run(args) {
    const a = parseArgs(args, {
      values: [...AUDIT_VALUE_FLAGS, 'worker-name', 'lock-seconds', 'idle-exit'],
      booleans: ['all', 'json'],
    });
    if (a.positionals.length > 1) throw new UsageError('give at most one audit config file');
    const queue = a.flags.get('queue');
    if (!queue) throw new UsageError('give --queue redis://HOST:PORT (the audit\'s)');
    const file = a.positionals[0] ? path.resolve(a.positionals[0]) : undefined;
    if (!file && (!a.flags.has('encoder') || !a.flags.has('templates'))) throw new UsageError('give the audit\'s config file, or its --encoder and --templates');
    const o = overridesOf(a);
    let config;
    try {
      parseQueueUrl(queue);
      config = auditConfigFrom(file, o);
    } catch (err) {
      console.error(`faceinv worker: ${(err as Error).message}`);
      return 2;
    }
    const lockMs = intFlag(a, 'lock-seconds', DEFAULT_TUNING.lockMs / 1000, 1) * 1000;
    const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
    setActiveRoots(daemonRoots({ workspaceDir: workspace, dataRoots: localDataRoots(file, o, a.flags.get('data-root'), workspace) }));
    await initEngineFromFlags(a, a.booleans.has('json'));
    const ctx = consoleContext(workspace, { cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined });
    try {
      const out = await runAuditWorker(config, ctx, {
        queue, cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined,
        ...(a.flags.has('worker-name') ? { name: a.flags.get('worker-name') } : {}),
        tuning: { ...DEFAULT_TUNING, lockMs, stalledMs: Math.max(500, Math.round(lockMs / 2)) },
        ...(a.flags.has('idle-exit') ? { idleExitSeconds: intFlag(a, 'idle-exit', 60, 1) } : {}),
      });
      console.error(`faceinv worker: ${out.name} inverted ${out.chunks} chunks`);
      return 0;
    } catch (err) {
      console.error(`faceinv worker: ${(err as Error).message}`);
      return 1;
    } finally {
      ctx.close();
    }
  },
};
