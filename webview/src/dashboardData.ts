/**
 * Data shaping for the dashboard webview, apart from drawing (GitLens `timelineData.ts` pattern): applying
 * extension messages to the state, loss/cosine series for the charts (downsampled), the SAR table rows of
 * evaluation/report.json (ISO/IEC 30136-style success attack rates at FMR 1e-2 / 1e-3), face cards, the run
 * history rows and the persisted view state. Pure functions of plain data; unit tested under Node.
 */
import { budgetFraction, formatBudget, formatSeconds } from '../../daemon/protocol/budget';
import type { MetricsLine } from '../../daemon/runs/layout';
import type { DashboardState, FaceView, RunJob, RunSummary, RunView, ToWebviewMessage } from '../../daemon/protocol/webview';

// ---------------------------------------------------------------------------------------------------------
// State updates

/** The state after one extension → webview message. Run-scoped messages for another run are ignored. */
export function applyMessage(state: DashboardState | null, msg: ToWebviewMessage): DashboardState | null {
  if (msg.method === 'dashboard/state') return msg.params;
  if (!state) return state;
  switch (msg.method) {
    case 'dashboard/runs': return { ...state, runs: msg.params.runs };
    case 'dashboard/daemon': return { ...state, daemonConnected: msg.params.connected };
    default: break;
  }
  const sel = state.selected;
  if (!sel || sel.name !== msg.params.run) return state;
  const withRun = (patch: Partial<RunView>): DashboardState => ({ ...state, selected: { ...sel, ...patch } });
  switch (msg.method) {
    case 'dashboard/metrics':
      return withRun({ metrics: sel.metrics.concat(msg.params.lines), problems: mergeProblems(sel.problems, msg.params.problems ?? []) });
    case 'dashboard/manifest': return withRun({ manifest: msg.params.manifest });
    case 'dashboard/faces': return withRun({ faces: msg.params.faces });
    case 'dashboard/evaluation': return withRun({ evaluation: msg.params.evaluation });
    case 'dashboard/job': return withRun({ job: msg.params.job });
    case 'dashboard/runRemoved': return { ...state, selected: { ...sel, removed: true }, message: msg.params.message };
  }
}

/** At most `max` problems kept (newest last), duplicates dropped. */
export function mergeProblems(old: string[], added: string[], max = 20): string[] {
  const out = old.slice();
  for (const p of added) if (!out.includes(p)) out.push(p);
  return out.slice(Math.max(0, out.length - max));
}

// ---------------------------------------------------------------------------------------------------------
// Charts

export interface Point { x: number; y: number }

export interface CurveSet {
  /** 'loss' curves always; 'cosine' (white box) when any line carries one. */
  train: Point[];
  test: Point[];
  search: Point[];
  cosine: Point[];
  /** Title of the chart for this run kind. */
  title: string;
  /** Total lines behind the points (before downsampling). */
  count: number;
}

/**
 * Averages consecutive points into at most `max` buckets (first and last point kept exactly), so a 100k-step
 * run draws as fast as a 1k-step one while its trend stays visible.
 */
export function downsample(points: Point[], max: number): Point[] {
  if (max < 3) throw new Error(`dashboardData.downsample: max must be ≥ 3, got ${max}`);
  if (points.length <= max) return points;
  const out: Point[] = [points[0]];
  const inner = points.length - 2;
  const buckets = max - 2;
  for (let b = 0; b < buckets; b++) {
    const lo = 1 + Math.floor((b * inner) / buckets);
    const hi = 1 + Math.floor(((b + 1) * inner) / buckets);
    let sx = 0, sy = 0;
    for (let i = lo; i < hi; i++) { sx += points[i].x; sy += points[i].y; }
    const n = hi - lo;
    if (n > 0) out.push({ x: sx / n, y: sy / n });
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Loss curves by split and, for white box, the cosine per step; non-finite values are left out. */
export function curves(metrics: readonly MetricsLine[], kind: 'blackbox' | 'whitebox' | undefined, maxPoints = 800): CurveSet {
  const train: Point[] = [], test: Point[] = [], search: Point[] = [], cosine: Point[] = [];
  for (const m of metrics) {
    if (Number.isFinite(m.loss)) (m.split === 'train' ? train : m.split === 'test' ? test : search).push({ x: m.step, y: m.loss });
    if (m.cosine !== undefined && Number.isFinite(m.cosine)) cosine.push({ x: m.step, y: m.cosine });
  }
  const whitebox = kind === 'whitebox' || (kind === undefined && search.length > 0);
  return {
    train: downsample(train, maxPoints), test: downsample(test, maxPoints), search: downsample(search, maxPoints),
    cosine: downsample(cosine, maxPoints),
    title: whitebox ? 'Latent search: loss and cosine to the target per step' : 'Decoder training: loss per step (train batches, held-out test)',
    count: metrics.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

export function formatRate(r: number | null): string {
  return r === null || !Number.isFinite(r) ? '—' : `${(r * 100).toFixed(1)} %`;
}

export interface SarRow {
  encoderId: string;
  /** 'attacked' for the encoder the templates came from, 'transfer' for the others. */
  role: 'attacked' | 'transfer';
  typeI1e2: string; typeI1e3: string; typeII1e2: string; typeII1e3: string;
  rank1: string; meanCosine: string;
  /** e.g. "3 of 120 not embedded" or '' when all were. */
  notEmbedded: string;
  count: number;
}

export interface SarTable {
  rows: SarRow[];
  ssim: string;
  psnr: string;
  /** One-line description: identities, images, route. */
  caption: string;
  /** Note on type II when some identities have a single image. */
  note: string;
}

/** The SAR table of an evaluation report: the attacked encoder first, then transfer encoders by id. */
export function sarTable(report: RunView['evaluation']): SarTable | null {
  if (!report) return null;
  const rows = report.scores.map((s): SarRow => ({
    encoderId: s.encoderId,
    role: s.transfer ? 'transfer' : 'attacked',
    typeI1e2: formatRate(s.typeI.fmr1e2), typeI1e3: formatRate(s.typeI.fmr1e3),
    typeII1e2: formatRate(s.typeII.fmr1e2), typeII1e3: formatRate(s.typeII.fmr1e3),
    rank1: formatRate(s.rank1), meanCosine: Number.isFinite(s.meanCosine) ? s.meanCosine.toFixed(3) : '—',
    notEmbedded: s.notEmbedded > 0 ? `${s.notEmbedded} of ${s.count} not embedded` : '',
    count: s.count,
  }));
  rows.sort((a, b) => (a.role === b.role ? a.encoderId.localeCompare(b.encoderId) : a.role === 'attacked' ? -1 : 1));
  return {
    rows,
    ssim: Number.isFinite(report.ssim) ? report.ssim.toFixed(3) : '—',
    psnr: Number.isFinite(report.psnr) ? `${report.psnr.toFixed(1)} dB` : '—',
    caption: `${report.images} reconstructions of ${report.identities} identities · ${report.route} attack on ${report.attackedEncoderId}`,
    note: report.identitiesWithoutTypeII > 0
      ? `Type II leaves out ${report.identitiesWithoutTypeII} ${report.identitiesWithoutTypeII === 1 ? 'identity' : 'identities'} with a single image.`
      : '',
  };
}

// ---------------------------------------------------------------------------------------------------------
// Faces

export interface FaceCard extends FaceView {
  /** Type I success at FMR 1e-3 by the attacked encoder, when the evaluation has this item. */
  success?: boolean;
  /** Cosine caption, e.g. "cos 0.712". */
  caption: string;
}

/** Face views joined with the evaluation's per-item results (by id). */
export function faceCards(run: RunView): FaceCard[] {
  const byId = new Map((run.evaluation?.items ?? []).map((i) => [i.id, i]));
  return run.faces.map((f) => {
    const ev = byId.get(f.id);
    const cos = ev?.cosine ?? f.cosine;
    return {
      ...f,
      ...(ev ? { success: ev.success1e3 } : {}),
      ...(f.identity === undefined && ev ? { identity: ev.identity } : {}),
      caption: cos !== undefined && Number.isFinite(cos) ? `cos ${cos.toFixed(3)}` : '',
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Run history and header

export interface HistoryRow {
  name: string;
  state: RunSummary['state'];
  detail: string;
  time: string;
  selected: boolean;
  problem?: string;
}

/** "2026-11-27 21:04" in UTC from an ISO string; the raw string when it does not parse. */
export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

export function historyRows(runs: readonly RunSummary[], selected: string | undefined): HistoryRow[] {
  return runs.map((r) => ({
    name: r.name,
    state: r.state,
    detail: [r.kind === 'blackbox' ? 'black box' : r.kind === 'whitebox' ? 'white box' : undefined, r.encoderId, r.hasReport ? 'evaluated' : undefined]
      .filter((s): s is string => s !== undefined).join(' · '),
    time: formatTime(r.createdAt),
    selected: r.name === selected,
    ...(r.problem ? { problem: r.problem } : {}),
  }));
}

function metric(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(4);
}

/**
 * The job status line, e.g. "running · step 120 / 2000 (6 %) · loss 0.1234 · imgPerSec 45.1", or under a
 * budget "running · 2.5 / 5 min (50 %) · step 149 · loss 0.1234 · ETA 2m30s" ("… · budget of 5 min
 * reached" once it stopped).
 */
export function jobLine(job: RunJob | null): string {
  if (!job) return '';
  const parts: string[] = [job.state];
  if (job.budget) {
    parts.push(`${formatBudget(job.budget)} (${Math.floor(budgetFraction(job.budget) * 100)} %)`);
    if (job.step !== undefined) parts.push(`step ${job.step}`);
  } else if (job.step !== undefined && job.total !== undefined && job.total > 0) {
    parts.push(`step ${job.step} / ${job.total} (${Math.floor((job.step / job.total) * 100)} %)`);
  }
  for (const [k, v] of Object.entries(job.metrics ?? {})) parts.push(`${k} ${metric(v)}`);
  if (job.message) parts.push(job.message);
  if (job.stopReason) parts.push(job.stopReason);
  else if (job.budget && job.etaSeconds !== undefined && (job.state === 'running' || job.state === 'queued')) parts.push(`ETA ${formatSeconds(job.etaSeconds)}`);
  if (job.error) parts.push(`error: ${job.error}`);
  return parts.join(' · ');
}

const ACTIVE_JOB: ReadonlySet<RunJob['state']> = new Set(['queued', 'running']);

/** Fraction done in [0,1]: the daemon job's (its budget when it has one), else run.json's; null when unknown. */
export function progressFraction(run: RunView): number | null {
  return runProgress(run).fraction;
}

/** What the header says about a run's progress: the bar, one line of text, and what run.json does not record. */
export interface ProgressView {
  /** Bar fill in [0,1]; null: no bar. */
  fraction: number | null;
  /** e.g. "budget of 5 min reached · 5.0 / 5 min · step 149 of 5310 planned · epoch 0 of 30". */
  text: string;
  /** Fields an older run.json lacks, named ("budget and stop reason not recorded (run.json of an older version)"). */
  missing?: string;
}

/**
 * Progress of the shown run. A running daemon job (or one that reported why it stopped) speaks first;
 * otherwise run.json: its budget and stop reason, or, in run.json files of older versions, the step
 * counters, with the missing fields named rather than a 3 % bar for a run that finished on its time budget.
 */
export function runProgress(run: RunView): ProgressView {
  const job = run.job;
  const m = run.manifest;
  if (job && job.step !== undefined && (ACTIVE_JOB.has(job.state) || job.stopReason)) {
    const fraction = job.stopReason ? 1 : job.budget ? budgetFraction(job.budget) : job.total ? Math.min(1, job.step / job.total) : null;
    const text = job.budget
      ? [job.stopReason, formatBudget(job.budget), `step ${job.step}`].filter(Boolean).join(' · ')
      : [job.stopReason, job.total ? `step ${job.step} / ${job.total}` : `step ${job.step}`].filter(Boolean).join(' · ');
    return { fraction, text };
  }
  if (!m) return { fraction: null, text: '' };
  const p = m.progress;
  const ended = m.state !== 'running';
  const budget = p?.budget;
  const parts: string[] = [];
  if (ended && m.stopReason) parts.push(m.stopReason);
  if (budget) parts.push(formatBudget(budget));
  if (p) parts.push(budget && budget.kind !== 'steps' ? `step ${p.step}${ended && p.step < p.totalSteps ? ` of ${p.totalSteps} planned` : ''}` : `step ${p.step} / ${p.totalSteps}`);
  if (p && p.totalEpochs && p.totalSteps > 0 && budget?.kind !== 'epochs') {
    const epochs = (p.step * p.totalEpochs) / p.totalSteps;
    parts.push(`${Number.isInteger(epochs) ? epochs : Number(epochs.toFixed(epochs < 10 ? 2 : 1))} of ${p.totalEpochs} epochs`);
  }
  // Only training-style progress is expected to carry them (a job that records no progress claims nothing).
  const lacks = p ? [!budget ? 'budget' : undefined, ended && m.state !== 'failed' && !m.stopReason ? 'stop reason' : undefined].filter((x): x is string => !!x) : [];
  const fraction = budget ? (m.state === 'finished' && m.stopReason ? 1 : budgetFraction(budget))
    : m.state === 'finished' ? 1
      : p && p.totalSteps > 0 ? Math.min(1, p.step / p.totalSteps) : null;
  return {
    fraction: p ? fraction : null,
    text: parts.join(' · '),
    ...(lacks.length ? { missing: `${lacks.join(' and ')} not recorded (run.json of an older version)` } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Persisted view state (acquireVsCodeApi().getState/setState)

export interface ViewState {
  /** Run shown last (asked for again in `dashboard/ready`). */
  run?: string;
  /** Face id shown enlarged. */
  enlarged?: string;
  /** Log-scale loss axis. */
  logScale: boolean;
}

/** A ViewState from whatever `getState()` returned (older or foreign shapes become defaults). */
export function restoreViewState(saved: unknown): ViewState {
  const s = typeof saved === 'object' && saved !== null ? (saved as Record<string, unknown>) : {};
  return {
    ...(typeof s.run === 'string' && s.run.length > 0 ? { run: s.run } : {}),
    ...(typeof s.enlarged === 'string' ? { enlarged: s.enlarged } : {}),
    logScale: s.logScale === true,
  };
}
