/**
 * Data shaping for the dashboard webview, apart from drawing (GitLens `timelineData.ts` pattern): applying
 * extension messages to the state, loss/cosine series for the charts (downsampled), the SAR table rows of
 * evaluation/report.json (ISO/IEC 30136-style success attack rates at FMR 1e-2 / 1e-3), face cards, the run
 * history rows and the persisted view state. Pure functions of plain data; unit tested under Node.
 */
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

/** The job status line, e.g. "running · step 120 / 2000 (6 %) · loss 0.1234 · imgPerSec 45.1". */
export function jobLine(job: RunJob | null): string {
  if (!job) return '';
  const parts: string[] = [job.state];
  if (job.step !== undefined && job.total !== undefined && job.total > 0) {
    parts.push(`step ${job.step} / ${job.total} (${Math.floor((job.step / job.total) * 100)} %)`);
  }
  for (const [k, v] of Object.entries(job.metrics ?? {})) parts.push(`${k} ${Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(4)}`);
  if (job.message) parts.push(job.message);
  if (job.error) parts.push(`error: ${job.error}`);
  return parts.join(' · ');
}

/** Fraction done in [0,1] from the job or the manifest's progress; null when unknown. */
export function progressFraction(run: RunView): number | null {
  if (run.job?.step !== undefined && run.job.total) return Math.min(1, run.job.step / run.job.total);
  const p = run.manifest?.progress;
  if (p && p.totalSteps > 0) return Math.min(1, p.step / p.totalSteps);
  return null;
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
