/**
 * Data shaping for the dashboard webview, apart from drawing (GitLens `timelineData.ts` pattern): applying
 * extension messages to the state, loss/cosine series for the charts (downsampled), the SAR table rows of
 * evaluation/report.json (ISO/IEC 30136-style success attack rates per protocol, beside the baselines), face cards, the run
 * history rows and the persisted view state. Pure functions of plain data; unit tested under Node.
 */
import { budgetFraction, formatBudget, formatSeconds, phaseText } from '../../daemon/protocol/budget';
import { applyRunDelta, type RunDelta } from '../../daemon/protocol/runDelta';
import type { MetricsLine } from '../../daemon/protocol/runFolder';
import type { DashboardState, FaceView, RunJob, RunSummary, RunView, ToWebviewMessage } from '../../daemon/protocol/webview';

// ---------------------------------------------------------------------------------------------------------
// State updates

/**
 * The state after one extension → webview message. Run-scoped messages for another run are ignored; the run's
 * deltas follow the rules the extension's copy follows (daemon/protocol/runDelta.ts).
 */
export function applyMessage(state: DashboardState | null, msg: ToWebviewMessage): DashboardState | null {
  if (msg.method === 'dashboard/state') return msg.params;
  if (!state) return state;
  switch (msg.method) {
    case 'dashboard/runs': return { ...state, runs: msg.params.runs };
    case 'dashboard/daemon': return { ...state, daemon: msg.params };
    default: break;
  }
  const sel = state.selected;
  if (!sel || sel.name !== msg.params.run) return state;
  const withRun = (delta: RunDelta<FaceView>): DashboardState => ({ ...state, selected: applyRunDelta(sel, delta) });
  switch (msg.method) {
    case 'dashboard/metrics': return withRun({ kind: 'metrics', lines: msg.params.lines, ...(msg.params.problems ? { problems: msg.params.problems } : {}) });
    case 'dashboard/manifest': return withRun({ kind: 'manifest', manifest: msg.params.manifest });
    case 'dashboard/faces': return withRun({ kind: 'faces', faces: msg.params.faces });
    case 'dashboard/evaluation': return withRun({ kind: 'evaluation', evaluation: msg.params.evaluation, ...(msg.params.problem ? { problem: msg.params.problem } : {}) });
    case 'dashboard/runRemoved': return { ...withRun({ kind: 'removed' }), message: msg.params.message };
    case 'dashboard/faceImages': return { ...state, selected: { ...sel, faces: withImages(sel.faces, msg.params.images) } };
    case 'dashboard/job': return { ...state, selected: { ...sel, job: msg.params.job } };
  }
}

/** Faces with the pictures that arrived filled in; faces without news stay the same objects. */
export function withImages(faces: readonly FaceView[], images: readonly { id: string; imageUri?: string; originalUri?: string }[]): FaceView[] {
  const byId = new Map(images.map((i) => [i.id, i]));
  return faces.map((f) => {
    const got = byId.get(f.id);
    if (!got || ((got.imageUri ?? f.imageUri) === f.imageUri && (got.originalUri ?? f.originalUri) === f.originalUri)) return f;
    return { ...f, ...(got.imageUri ? { imageUri: got.imageUri } : {}), ...(got.originalUri ? { originalUri: got.originalUri } : {}) };
  });
}

/** The banner over the whole view: why the daemon is not live, then the view's own message. */
export function bannerText(state: DashboardState | null): string {
  return state ? [state.daemon.problem, state.message].filter(Boolean).join(' ') : '';
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
  /** Query search: each shown target's best cosine against the queries it has spent. */
  targets: { id: string; points: Point[] }[];
  /** Title of the chart for this run kind. */
  title: string;
  /** What the x axis counts. */
  xLabel: string;
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

/**
 * Loss curves by split; for a white box the cosine per step; for a black-box query search the mean best
 * cosine and each shown target's best cosine against queries spent. Non-finite values are left out.
 */
export function curves(metrics: readonly MetricsLine[], kind: 'blackbox' | 'whitebox' | undefined, maxPoints = 800): CurveSet {
  const train: Point[] = [], test: Point[] = [], search: Point[] = [], cosine: Point[] = [];
  const perTarget = new Map<string, Point[]>();
  for (const m of metrics) {
    if (m.target !== undefined) {
      if (m.cosine !== undefined && Number.isFinite(m.cosine)) (perTarget.get(m.target) ?? perTarget.set(m.target, []).get(m.target) as Point[]).push({ x: m.step, y: m.cosine });
      continue;
    }
    if (Number.isFinite(m.loss)) (m.split === 'train' ? train : m.split === 'test' ? test : search).push({ x: m.step, y: m.loss });
    if (m.cosine !== undefined && Number.isFinite(m.cosine)) cosine.push({ x: m.step, y: m.cosine });
  }
  const querySearch = kind === 'blackbox' && search.length > 0 && train.length === 0;
  const whitebox = kind === 'whitebox' || (kind === undefined && search.length > 0);
  return {
    train: downsample(train, maxPoints), test: downsample(test, maxPoints), search: querySearch ? [] : downsample(search, maxPoints),
    cosine: downsample(cosine, maxPoints),
    targets: [...perTarget.entries()].map(([id, points]) => ({ id, points: downsample(points, maxPoints) })),
    title: metrics.length === 0 ? 'Training and search curves'
      : querySearch ? 'Query search: best cosine to the target against encoder queries (mean over targets, and the first targets one by one)'
      : whitebox ? 'Latent search: loss and cosine to the target per step' : 'Decoder training: loss per step (train batches, held-out test)',
    xLabel: querySearch ? 'queries per target' : 'step',
    count: metrics.length,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

export function formatRate(r: number | null): string {
  return r === null || !Number.isFinite(r) ? '—' : `${(r * 100).toFixed(1)} %`;
}

type Report = NonNullable<RunView['evaluation']>;
type Row = Report['rows'][number];
type RateT = Row['typeI'][number];

/** One cell: the rate, its count and interval for the tooltip, and whether its threshold is weakly supported. */
export interface SarCell { text: string; title: string; lowSupport: boolean }

export interface SarRow {
  subject: Row['subject'];
  /** 'attack', or the baseline's name. */
  label: string;
  encoderId: string;
  /** The scoring encoder's role in the attack: only 'transfer' encoders were untouched by it. */
  role: 'attacked' | 'surrogate' | 'acceptance' | 'transfer';
  typeI: SarCell[];
  typeII: SarCell[];
  rank1: SarCell;
  /** e.g. "3 of 300 failed (3 no-face)", '' when none did. */
  failed: string;
}

export interface SarProtocolTable {
  protocol: Row['protocol'];
  title: string;
  rows: SarRow[];
}

export interface SarTable {
  /** Operating points as column heads, e.g. "1e-3". */
  points: string[];
  tables: SarProtocolTable[];
  ssim: string;
  psnr: string;
  /** SSIM of the images that reconstruct nothing against the same originals, e.g. "mean face 0.481 · same person 0.383"; '' when the report has none. */
  ssimReferences: string;
  /** One-line description: method, targets, identities, queries, time. */
  caption: string;
  /** Counts behind type II and rank-1, and low-support thresholds. */
  note: string;
  /** Set instead of tables when the report cannot be shown (older version…): what is missing and what to do. */
  problem?: string;
}

export function fmrLabel(fmr: number): string {
  const e = Math.round(Math.log10(fmr));
  return Math.abs(fmr - 10 ** e) <= fmr * 1e-9 ? `1e${e}` : String(fmr);
}

function cell(r: RateT | undefined, what: string, lowSupport: boolean): SarCell {
  if (!r || r.rate === null) return { text: '—', title: `${what}: no trials`, lowSupport };
  const ci = r.ci ? ` (95 % interval ${formatRate(r.ci[0])} – ${formatRate(r.ci[1])})` : '';
  return { text: formatRate(r.rate), title: `${what}: ${r.successes} of ${r.trials}${ci}${lowSupport ? '; fewer than 20 impostor scores above this threshold' : ''}`, lowSupport };
}

const PROTOCOL_ORDER = ['redetect', 'independent', 'direct'] as const satisfies readonly Row['protocol'][];
const PROTOCOL_TITLE: Record<Row['protocol'], string> = {
  redetect: 'Re-detected (as a real photo: detection, landmarks, alignment)',
  independent: 'Independent detector (face-api\'s SSD MobileNet v1 + 68 landmarks, used by the attack in no role)',
  direct: 'Direct (the reconstruction straight into each encoder, NbNet\'s protocol)',
};

const SUBJECT_LABEL: Record<Row['subject'], string> = { attack: 'attack', 'nearest-face': 'nearest training face', 'mean-face': 'mean face', 'real-crop': 'real crop (control)' };

/**
 * The SAR tables of an evaluation report, one per protocol: per scoring encoder (attacked first), the attack
 * row followed by its baseline rows. A report of an older version is named as such, with what it lacks.
 */
const SSIM_REFERENCE_LABEL = { 'mean-face': 'mean face', 'nearest-face': 'nearest face', 'same-person': 'another photo of the person' } as const;

export function sarTable(report: RunView['evaluation'] | { [k: string]: unknown } | null): SarTable | null {
  if (!report) return null;
  const r = report as Partial<Report>;
  if (r.version !== 2 || !Array.isArray(r.rows) || !Array.isArray(r.operatingPoints) || !Array.isArray(r.thresholds)) {
    const missing = ['version 2', 'operatingPoints', 'thresholds', 'rows'].filter((k) => (k === 'version 2' ? r.version !== 2 : !Array.isArray((r as Record<string, unknown>)[k])));
    return {
      points: [], tables: [], ssim: '—', psnr: '—', ssimReferences: '', caption: '', note: '',
      problem: `This report.json comes from an older version of Face Inversion Lab (missing: ${missing.join(', ')}): it has no protocols, baselines or intervals. Run "Evaluate Attack" (faceinv evaluate) on this run again.`,
    };
  }
  const rep = report as Report;
  const low = (enc: string, k: number) => rep.thresholds.find((t) => t.encoderId === enc)?.points[k]?.lowSupport ?? false;
  const encoders = rep.thresholds.map((t) => t.encoderId);
  const order = (x: Row) => [x.transfer ? 1 : 0, encoders.indexOf(x.encoderId), ['attack', 'nearest-face', 'mean-face', 'real-crop'].indexOf(x.subject)];
  // The protocols the report has, in a fixed order (an older report has no `independent`).
  const protocols = PROTOCOL_ORDER.filter((p) => rep.rows.some((x) => x.protocol === p));
  const tables: SarProtocolTable[] = protocols.map((protocol) => ({
    protocol,
    title: PROTOCOL_TITLE[protocol],
    rows: rep.rows.filter((x) => x.protocol === protocol).sort((a, b) => {
      const oa = order(a), ob = order(b);
      return oa[0] - ob[0] || oa[1] - ob[1] || oa[2] - ob[2];
    }).map((x): SarRow => ({
      subject: x.subject,
      label: SUBJECT_LABEL[x.subject],
      encoderId: x.encoderId,
      role: x.role ?? (x.transfer ? 'transfer' : 'attacked'),
      typeI: x.typeI.map((t, k) => cell(t, `type I @ FMR ${fmrLabel(rep.operatingPoints[k])}`, low(x.encoderId, k))),
      typeII: x.typeII.perPair.map((t, k) => cell(t, `type II pairs @ FMR ${fmrLabel(rep.operatingPoints[k])}`, low(x.encoderId, k))),
      rank1: cell(x.rank1, `rank-1 over ${x.rank1.trials} targets with another photo (${x.rank1Excluded} left out)`, false),
      failed: x.failed > 0 ? `${x.failed} of ${x.probes} failed (${Object.entries(x.failures).map(([k, v]) => `${v} ${k}`).join(', ')})` : '',
    })),
  }));
  const attack = rep.rows.find((x) => x.subject === 'attack' && x.protocol === 'redetect' && !x.transfer);
  const lowPoints = rep.thresholds.flatMap((t) => t.points.filter((p) => p.lowSupport).map((p) => `${t.encoderId} @${fmrLabel(p.fmr)}`));
  return {
    points: rep.operatingPoints.map(fmrLabel),
    tables,
    ssim: rep.imageQuality.ssim === null ? '—' : rep.imageQuality.ssim.toFixed(3),
    psnr: rep.imageQuality.psnr === null ? '—' : `${rep.imageQuality.psnr.toFixed(1)} dB`,
    ssimReferences: (rep.imageQuality.references ?? []).filter((x) => x.ssim !== null)
      .map((x) => `${SSIM_REFERENCE_LABEL[x.subject]} ${(x.ssim as number).toFixed(3)}`).join(' · '),
    caption: [
      rep.method,
      `${rep.probes} targets of ${rep.identities} held-out identities`,
      rep.queriesPerTarget !== undefined ? `${rep.queriesPerTarget.toFixed(0)} queries per target` : '',
      rep.attackSeconds !== undefined ? `${(rep.attackSeconds / 60).toFixed(1)} min` : '',
    ].filter(Boolean).join(' · '),
    note: [
      attack ? `Type II: ${attack.typeII.pairs} pairs of ${attack.typeII.probesWithPairs} targets (failed reconstructions fail all their pairs); rank-1 over ${attack.rank1.trials} targets (${attack.rank1Excluded} have no other photo).` : '',
      lowPoints.length ? `Weakly supported thresholds (fewer than 20 impostor scores above): ${lowPoints.join(', ')}.` : '',
      ...(rep.protocols ?? []).filter((p) => p.notScored).map((p) => `Protocol "${p.protocol}" not scored: ${p.notScored}.`),
    ].filter(Boolean).join(' '),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Faces

export interface FaceCard extends FaceView {
  /** Redetect verdict by the attacked encoder, when the evaluation has this item: 'hit' at `passesAt`, 'miss', or 'no-face'. */
  verdict?: 'hit' | 'miss' | 'no-face';
  /** Strictest operating point passed (type I, redetect), e.g. "1e-4". */
  passesAt?: string;
  /** Why the reconstruction could not be scored (e.g. "no-face"). */
  failure?: string;
  /** Cosine caption, e.g. "cos 0.712". */
  caption: string;
}

/** Face views joined with the evaluation's per-item results (by id). */
export function faceCards(run: RunView): FaceCard[] {
  const items = (run.evaluation as Partial<Report> | null)?.version === 2 ? (run.evaluation as Report).items : [];
  const byId = new Map(items.map((i) => [i.id, i]));
  return run.faces.map((f) => {
    const ev = byId.get(f.id);
    if (!ev) return { ...f, caption: f.cosine !== undefined && Number.isFinite(f.cosine) ? `cos ${f.cosine.toFixed(3)}` : '' };
    const red = ev.attack.redetect;
    const verdict = red.cosine === null ? 'no-face' : ev.passesAt !== null ? 'hit' : 'miss';
    return {
      ...f,
      ...(f.identity === undefined ? { identity: ev.identity } : {}),
      verdict,
      ...(ev.passesAt !== null ? { passesAt: fmrLabel(ev.passesAt) } : {}),
      ...(red.cosine === null ? { failure: red.failure ?? 'failed' } : {}),
      caption: red.cosine === null ? `no face found (${red.failure ?? 'failed'})` : `cos ${red.cosine.toFixed(3)}`,
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
  /** The evaluated attack's headline figures (redetect), to compare methods across runs. */
  figures?: string;
  selected: boolean;
  problem?: string;
}

/** "2026-11-27 21:04" in UTC from an ISO string; the raw string when it does not parse. */
export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}

/** "1e-4 type I 98.7 % (lookalike 40.0 %) · type II 74.2 % · faceapi-resnet128 69.3 % · 96 queries" (redetect). */
export function headlineText(h: NonNullable<RunSummary['headline']>): string {
  return [
    `type I @1e-4 ${formatRate(h.typeI1e4)}${h.nearestFace1e4 !== null ? ` (lookalike ${formatRate(h.nearestFace1e4)})` : ''}`,
    `type II @1e-3 ${formatRate(h.typeII1e3)}`,
    ...(h.transfer ? [`${h.transfer.encoderId} @1e-3 ${formatRate(h.transfer.typeI1e3)}`] : []),
    h.queriesPerTarget !== undefined ? `${h.queriesPerTarget.toFixed(0)} queries/target` : 'white box',
  ].join(' · ');
}

export function historyRows(runs: readonly RunSummary[], selected: string | undefined): HistoryRow[] {
  return runs.map((r) => ({
    name: r.name,
    state: r.state,
    detail: [r.kind === 'blackbox' ? 'black box' : r.kind === 'whitebox' ? 'white box' : undefined, r.encoderId, r.hasReport ? 'evaluated' : undefined]
      .filter((s): s is string => s !== undefined).join(' · '),
    time: formatTime(r.createdAt),
    ...(r.headline ? { figures: headlineText(r.headline) } : {}),
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
  const ph = job.phase;
  if (ph) parts.push(`${ph.index}/${ph.count} ${phaseText(ph)}`);
  if (ph && !job.budget && (ph.total !== undefined ? job.total === ph.total : !(job.total !== undefined && job.total > 0))) {
    // A phase that counts only its items (photos embedded) has no steps to show.
  } else if (job.budget) {
    parts.push(`${formatBudget(job.budget)} (${Math.floor(budgetFraction(job.budget) * 100)} %)`);
    if (job.step !== undefined) parts.push(`step ${job.step}`);
  } else if (job.step !== undefined && job.total !== undefined && job.total > 0) {
    parts.push(`step ${job.step} / ${job.total} (${Math.floor((job.step / job.total) * 100)} %)`);
  }
  for (const [k, v] of Object.entries(job.metrics ?? {})) parts.push(`${k} ${metric(v)}`);
  if (job.message && !(ph && job.message === phaseText(ph))) parts.push(job.message);
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
  if (job?.phase && ACTIVE_JOB.has(job.state)) {
    // One progress model: the bar is the current phase's, and the text says which phase of how many.
    const ph = job.phase;
    const fraction = job.budget ? budgetFraction(job.budget) : ph.total ? Math.min(1, (ph.done ?? 0) / ph.total) : job.total ? Math.min(1, (job.step ?? 0) / job.total) : null;
    return { fraction, text: jobLine(job) };
  }
  if (job && job.step !== undefined && ACTIVE_JOB.has(job.state)) {
    const fraction = job.budget ? budgetFraction(job.budget) : job.total ? Math.min(1, job.step / job.total) : null;
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
  // Under a query budget the steps are the queries the budget already counts: no second count of them.
  if (p && budget?.kind !== 'queries') parts.push(budget && budget.kind !== 'steps' ? `step ${p.step}${ended && p.step < p.totalSteps ? ` of ${p.totalSteps} planned` : ''}` : `step ${p.step} / ${p.totalSteps}`);
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
