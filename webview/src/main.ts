/**
 * Entry of the dashboard webview bundle (esbuild → out/webview/dashboard.js). Receives the whole
 * DashboardState once, then change notifications (daemon/protocol/webview.ts); messages that match no
 * declaration are dropped with a console warning. Each section re-renders only when its slice of the state
 * changed (the reducer keeps unchanged slices identical), so metric lines redraw the chart, not the faces.
 */
import { TO_WEBVIEW, OpenImageMessage, ReadyMessage, ReconnectMessage, RefreshMessage, SelectRunMessage, type DashboardState, type ToWebviewMessage } from '../../daemon/protocol/webview';
import { applyMessage, bannerText, curves, faceCards, historyRows, sarTable, type ViewState } from './dashboardData';
import { byId, h, setChildren } from './dom';
import { renderBanner } from './renderBanner';
import { CurveChart } from './renderChart';
import { renderFaces, renderLightbox, type FaceActions } from './renderFaces';
import { renderHeader } from './renderHeader';
import { renderRuns } from './renderRuns';
import { renderSar } from './renderSar';
import { renderDistribution } from './renderDistribution';
import { loadViewState, post, saveViewState } from './vscodeApi';

function parse(data: unknown): ToWebviewMessage | undefined {
  for (const t of TO_WEBVIEW) if (t.is(data)) return data as ToWebviewMessage;
  return undefined;
}

let state: DashboardState | null = null;
let view: ViewState = loadViewState();
let chart: CurveChart | undefined;
/** Slices drawn last, per section, compared by identity (element-wise for arrays). */
const drawn = new Map<string, unknown>();

function setView(patch: Partial<ViewState>): void {
  view = { ...view, ...patch };
  if (patch.enlarged === undefined && 'enlarged' in patch) delete view.enlarged;
  saveViewState(view);
  render();
}

const faceActions: FaceActions = {
  enlarge: (id) => setView({ enlarged: id }),
  open: (face, which) => { if (state?.selected) post(OpenImageMessage.create({ run: state.selected.name, face, which })); },
};

/** True when `value` differs from what section `key` drew last (and records it). */
function changed(key: string, value: unknown): boolean {
  const before = drawn.get(key);
  const same = Array.isArray(value) && Array.isArray(before)
    ? value.length === before.length && value.every((v, i) => v === before[i])
    : before === value;
  drawn.set(key, value);
  return !same;
}

function render(): void {
  const s = state;
  const run = s?.selected ?? null;

  if (changed('banner', [bannerText(s), s?.daemon.connected])) {
    setChildren(byId('banner'), renderBanner(s, () => post(ReconnectMessage.create({}))));
  }
  if (changed('runs', [s?.runs, s?.runsRoot, run?.name])) {
    setChildren(byId('runs'), s ? renderRuns(historyRows(s.runs, run?.name), s.runsRoot, (name) => {
      setView({ run: name, enlarged: undefined });
      post(SelectRunMessage.create({ run: name }));
    }) : [h('p', { class: 'empty', text: 'Waiting for the extension…' })]);
  }
  if (changed('header', [run?.name, run?.manifest, run?.job, run?.problems, run?.removed, s?.daemon])) {
    setChildren(byId('header'), renderHeader(run, s?.daemon, () => post(RefreshMessage.create({}))));
  }
  if (changed('chart', [run?.metrics, run?.manifest?.kind, view.logScale])) {
    const set = curves(run?.metrics ?? [], run?.manifest?.kind);
    byId('chart-title').textContent = set.title;
    chart ??= new CurveChart(byId<HTMLCanvasElement>('loss-chart'));
    chart.update(set, view.logScale);
    byId('loss-chart').dataset.lines = String(set.count); // what the curves are drawn from (tests read it)
    byId('loss-chart').dataset.axes = chart.valueAxes.join(' ');
    const empty = byId('chart-empty');
    empty.hidden = chart.drawnPoints > 0;
    empty.textContent = run ? 'No metrics yet (metrics.jsonl).' : '';
    byId<HTMLInputElement>('log-scale').checked = view.logScale;
  }
  if (changed('sar', [run?.name, run?.evaluation, run?.evaluationProblem, run?.manifest?.state])) {
    setChildren(byId('sar'), renderSar(sarTable(run?.evaluation ?? null), run?.manifest?.state === 'running', run?.evaluationProblem));
  }
  if (changed('distribution', [run?.name, run?.evaluation, run?.manifest?.state])) {
    setChildren(byId('distribution'), renderDistribution(run?.evaluation ?? null, run?.manifest?.state === 'running'));
  }
  const cards = run ? faceCards(run) : [];
  const facesChanged = changed('faces', [run?.name, run?.faces, run?.evaluation]);
  if (facesChanged) setChildren(byId('faces'), run ? renderFaces(cards, faceActions) : []);
  if (changed('lightbox', view.enlarged) || facesChanged) {
    setChildren(byId('lightbox'), renderLightbox(cards.find((c) => c.id === view.enlarged), faceActions));
  }
  document.body.dataset.ready = state ? 'true' : 'false';
}

window.addEventListener('message', (ev: MessageEvent) => {
  const msg = parse(ev.data);
  if (!msg) {
    console.warn('dashboard: ignored a message that matches no declaration', ev.data);
    return;
  }
  state = applyMessage(state, msg);
  if (msg.method === 'dashboard/state' && state?.selected && state.selected.name !== view.run) {
    view = { logScale: view.logScale, run: state.selected.name };
    saveViewState(view);
  }
  render();
});

window.addEventListener('keydown', (ev) => { if (ev.key === 'Escape' && view.enlarged) setView({ enlarged: undefined }); });
byId<HTMLInputElement>('log-scale').addEventListener('change', (ev) => setView({ logScale: (ev.target as HTMLInputElement).checked }));

render();
post(ReadyMessage.create(view.run ? { run: view.run } : {}));
