/**
 * Text the extension shows: status-bar item, output-channel log lines, progress messages, and the
 * notification (message + buttons) for a failed connection. Plain module (no vscode), unit-tested.
 */
import type { JobInfo, JobProgress, LogLevel, StatusResult } from '../daemon/protocol/daemon';
import { formatBudget, formatSeconds, phaseText } from '../daemon/protocol/budget';
import { percentOf } from './jobTracker';

export type ConnectionStateName = 'stopped' | 'starting' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface StatusBarView {
  text: string;
  tooltip: string;
  /** True when the item should use the warning/error background. */
  alert: boolean;
}

/** Short metric list for progress text: `loss 0.0123 · img/s 41.2` (at most 3, finite values). */
export function formatMetrics(metrics: Record<string, number>, max = 3): string {
  return Object.entries(metrics)
    .filter(([, v]) => Number.isFinite(v))
    .slice(0, max)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 1000 || v === 0 || Number.isInteger(v) ? String(Math.round(v * 1000) / 1000) : v.toPrecision(4)}`)
    .join(' · ');
}

/**
 * Progress text for notifications and tooltips. Under a budget: `2.5 / 5 min · step 149 · loss 0.12 · ETA
 * 2m30s`, and on the last report why it stopped (`… · budget of 5 min reached`); else `step 12/40 · …`.
 */
export function progressMessage(progress: JobProgress): string {
  const m = formatMetrics(progress.metrics);
  const ph = progress.phase;
  // A phase report that counts only its items ("3,200 / 10,678 photos") has no steps of its own to show.
  const counted = !!ph && !progress.budget && (ph.total !== undefined ? progress.total === ph.total : !(progress.total > 0));
  const where = counted ? [] : progress.budget ? [formatBudget(progress.budget), `step ${progress.step}`] : [`step ${progress.step}/${progress.total}`];
  const end = progress.stopReason ?? (progress.budget && progress.etaSeconds !== undefined ? `ETA ${formatSeconds(progress.etaSeconds)}` : undefined);
  const head = ph ? `${ph.index}/${ph.count} ${phaseText(ph)}` : undefined;
  const message = ph && progress.message === phaseText(ph) ? undefined : progress.message;
  return [head, ...where, m, message, end].filter(Boolean).join(' · ');
}

export function statusBarView(state: ConnectionStateName, status: Pick<StatusResult, 'backend'> | undefined, job: JobInfo | undefined, remote: boolean): StatusBarView {
  const where = remote ? 'remote' : 'local';
  switch (state) {
    case 'stopped': return { text: '$(circle-slash) faceinv: stopped', tooltip: 'Face Inversion daemon is not running — click to start it', alert: false };
    case 'starting': return { text: '$(sync~spin) faceinv: starting', tooltip: 'Starting the local Face Inversion daemon…', alert: false };
    case 'connecting': return { text: '$(sync~spin) faceinv: connecting', tooltip: `Connecting to the ${where} daemon…`, alert: false };
    case 'reconnecting': return { text: '$(sync~spin) faceinv: reconnecting', tooltip: `Lost the ${where} daemon; reconnecting…`, alert: true };
    case 'failed': return { text: '$(error) faceinv: disconnected', tooltip: 'Cannot reach the Face Inversion daemon — click for options', alert: true };
    case 'connected': {
      const backend = status?.backend ?? '?';
      if (!job) return { text: `$(pulse) faceinv: ${backend}`, tooltip: `Face Inversion daemon (${where}) on backend ${backend}, idle — click for the dashboard`, alert: false };
      const pct = percentOf(job);
      const ph = job.progress?.phase;
      // "run 2/3 attack 40%": a run's percent is its phase's, so it never reads 100 % while its evaluation runs.
      const what = `${job.kind}${ph ? ` ${ph.index}/${ph.count} ${ph.id}` : ''}${pct === undefined ? (job.state === 'queued' ? ' queued' : '') : ` ${pct}%`}`;
      return {
        text: `$(pulse) faceinv: ${backend} · ${what}`,
        tooltip: `${job.label} (${job.state})${job.progress ? ` — ${progressMessage(job.progress)}` : ''} — click for the dashboard`,
        alert: false,
      };
    }
  }
}

/** One output-channel line for a daemon log notification. */
export function logLine(level: LogLevel, message: string, time: string, jobId?: string): string {
  const t = /T(\d\d:\d\d:\d\d(\.\d+)?)/.exec(time)?.[1] ?? time;
  return `[${t}] [${level}]${jobId ? ` [job ${jobId}]` : ''} ${message}`;
}

export type ConnectFailureKind = 'unauthorized' | 'unreachable' | 'origin' | 'timeout' | 'other';

/** Classifies a connect error by the DaemonClient's readable reason. */
export function classifyConnectError(err: unknown): ConnectFailureKind {
  const msg = err instanceof Error ? err.message : String(err);
  if (/token refused|401/.test(msg)) return 'unauthorized';
  if (/origin refused|403/.test(msg)) return 'origin';
  if (/nothing is listening|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|connection closed/i.test(msg)) return 'unreachable';
  if (/timed? ?out|ETIMEDOUT/i.test(msg)) return 'timeout';
  return 'other';
}

export const ACTION_RETRY = 'Retry';
export const ACTION_START = 'Start Daemon';
export const ACTION_CONNECT = 'Connect…';
export const ACTION_SHOW_LOG = 'Show Log';
export const ACTION_OPEN_SETTINGS = 'Open Settings';

/** Message and buttons for a connection that failed (after any automatic retries). */
export function connectFailureNotice(url: string, err: unknown): { message: string; actions: string[] } {
  const kind = classifyConnectError(err);
  const detail = err instanceof Error ? err.message : String(err);
  switch (kind) {
    case 'unauthorized':
      return { message: `Face Inversion: the daemon at ${url} refused the token (wrong or from an older start). Retry with the current connection file, start a local daemon, or connect with the right token.`, actions: [ACTION_RETRY, ACTION_START, ACTION_CONNECT] };
    case 'unreachable':
      return { message: `Face Inversion: no daemon answers at ${url} (is it running?).`, actions: [ACTION_RETRY, ACTION_START, ACTION_CONNECT] };
    case 'origin':
      return { message: `Face Inversion: the daemon at ${url} refused this client's origin: ${detail}`, actions: [ACTION_RETRY, ACTION_START] };
    case 'timeout':
      return { message: `Face Inversion: connecting to ${url} timed out.`, actions: [ACTION_RETRY, ACTION_START, ACTION_CONNECT] };
    default:
      return { message: `Face Inversion: cannot connect to the daemon: ${detail}`, actions: [ACTION_RETRY, ACTION_START, ACTION_SHOW_LOG] };
  }
}

/** Notice after the local daemon process exited on its own. */
export function crashNotice(code: number | null, signal: string | null, restarting: boolean, crashes: number): string {
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return restarting
    ? `Face Inversion: the daemon ${how}; restarting it (crash ${crashes}). Running jobs resume from their last checkpoint when resubmitted.`
    : `Face Inversion: the daemon ${how} ${crashes} times in a few minutes; not restarting it again. See the output log.`;
}

/** Validates a daemon URL typed by the user; returns an error text or undefined. */
export function checkDaemonUrl(value: string): string | undefined {
  let u: URL;
  try { u = new URL(value.trim()); } catch { return 'not a URL; expected ws://host:port or wss://host:port'; }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return `scheme ${u.protocol} is not supported; use ws:// or wss://`;
  if (!u.port && u.protocol === 'ws:') return 'give the port, e.g. ws://gpu-box:7391';
  return undefined;
}
