/**
 * The JobContext of the headless CLI: progress bar and logs on stderr, Ctrl-C aborts the job (which then
 * checkpoints), a second Ctrl-C exits at once.
 */
import { formatBudget, formatSeconds, progressFraction, type ProgressExtras } from '../protocol/budget';
import type { JobContext } from './context';

export interface ConsoleContext extends JobContext {
  /** Restores signal handlers; call when the job is over. */
  close(): void;
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/**
 * One progress line: `[#########-----------] 2.5 / 5 min  step 149  loss 0.123  ETA 2m30s`. With a budget
 * the bar and the ETA are the budget's (the job's own ETA, else the rate since `elapsedSeconds` ago); a
 * job's last report shows why it stopped instead of an ETA.
 */
export function progressLine(p: { step: number; total: number; metrics: Record<string, number>; message?: string } & ProgressExtras, elapsedSeconds: number): string {
  const frac = progressFraction(p) ?? 1;
  const filled = Math.round(frac * 20);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(20 - filled)}`;
  const where = p.budget ? `${formatBudget(p.budget)}  step ${p.step}` : `${p.step}/${p.total}`;
  const ms = Object.entries(p.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join('  ');
  const fallbackEta = frac > 0 ? (elapsedSeconds / frac) * (1 - frac) : NaN;
  const end = p.stopReason ? `stopped: ${p.stopReason}` : `ETA ${formatSeconds(p.etaSeconds ?? (p.budget?.kind === 'minutes' ? (p.budget.limit - p.budget.used) * 60 : fallbackEta))}`;
  return [`[${bar}] ${where}`, ms, end, p.message].filter(Boolean).join('  ');
}

export function consoleContext(workspaceDir: string, opts: { quiet?: boolean; cacheDir?: string; workers?: number } = {}): ConsoleContext {
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
    trusted: true,
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    progress(step, total, metrics, message, extras) {
      if (opts.quiet) return;
      const now = Date.now();
      const last = extras?.stopReason !== undefined || (!extras?.budget && step === total);
      if (now - lastPrint < (tty ? 200 : 5000) && !last) return;
      lastPrint = now;
      const line = progressLine({ step, total, metrics, ...(message ? { message } : {}), ...(extras ?? {}) }, (now - t0) / 1000);
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      if (tty && last) process.stderr.write('\n');
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
