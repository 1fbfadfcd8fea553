/**
 * The JobContext of the headless CLI: progress bar and logs on stderr, Ctrl-C aborts the job (which then
 * checkpoints), a second Ctrl-C exits at once.
 */
import { formatDuration } from '../data/progress';
import type { JobContext } from './context';

export interface ConsoleContext extends JobContext {
  /** Restores signal handlers; call when the job is over. */
  close(): void;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

export function consoleContext(workspaceDir: string, opts: { quiet?: boolean } = {}): ConsoleContext {
  const abort = new AbortController();
  const tty = Boolean(process.stderr.isTTY);
  const t0 = Date.now();
  let lastPrint = 0;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupt: stopping after this step (checkpoint is kept); press Ctrl-C again to quit now\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    jobId: 'cli',
    signal: abort.signal,
    workspaceDir,
    progress(step, total, metrics, message) {
      if (opts.quiet) return;
      const now = Date.now();
      if (now - lastPrint < (tty ? 200 : 5000) && step !== total) return;
      lastPrint = now;
      const frac = total > 0 ? step / total : 1;
      const elapsed = (now - t0) / 1000;
      const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : NaN;
      const bar = `${'#'.repeat(Math.round(frac * 20))}${'-'.repeat(20 - Math.round(frac * 20))}`;
      const ms = Object.entries(metrics).map(([k, v]) => `${k} ${fmt(v)}`).join('  ');
      const line = `[${bar}] ${step}/${total} ${ms}  ETA ${formatDuration(eta)}${message ? `  ${message}` : ''}`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      if (tty && step === total) process.stderr.write('\n');
    },
    log(level, message) {
      if (opts.quiet && level === 'debug') return;
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${level === 'info' ? '' : `${level}: `}${message}\n`);
    },
    setRunDir() { /* the CLI prints the run folder itself */ },
    close() {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}
