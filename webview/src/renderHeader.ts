/**
 * Draws the selected run's header: name, route (black/white box, with the judge's reason), attacked encoder,
 * state, progress against the run's budget (daemon job or run.json, with what an older run.json does not record),
 * the daemon connection, and problems found in the run's files.
 */
import { h, type Child } from './dom';
import { jobLine, runProgress } from './dashboardData';
import type { DaemonLink, RunView } from '../../daemon/protocol/webview';

function progressBar(frac: number, title: string): HTMLElement {
  const bar = h('div', { class: 'bar' });
  bar.style.width = `${(frac * 100).toFixed(1)}%`; // CSSOM, allowed by the CSP (no inline style attribute)
  return h('div', { class: 'progress', title, attrs: { role: 'progressbar', 'aria-valuenow': String(Math.round(frac * 100)), 'aria-valuemin': '0', 'aria-valuemax': '100' } }, [bar]);
}

/** "remote daemon ws://gpu:7391", "daemon connected", "daemon starting…", "reconnecting to …", "daemon not connected". */
export function daemonLabel(link: DaemonLink | undefined): string {
  if (!link?.connected) {
    // A daemon being (re)started or reached again is on its way, which "not connected" does not say.
    if (link?.status === 'starting') return 'daemon starting…';
    if (link?.status === 'connecting') return `connecting to ${link.url ?? 'the daemon'}…`;
    if (link?.status === 'reconnecting') return `reconnecting to ${link.url ?? 'the daemon'}…`;
    return link?.url ? `daemon ${link.url} not connected` : 'daemon not connected';
  }
  return link.remote && link.url ? `remote daemon ${link.url}` : 'daemon connected';
}

/**
 * The attack in words: run.json's `method` once the run recorded it; before that (a run still in its setup, or
 * a run.json of an older version) only the route, since its face model may be a PCA model as well as a decoder.
 */
export function methodLabel(m: NonNullable<RunView['manifest']>): string {
  if (m.method) return m.method;
  return m.kind === 'blackbox' ? 'black box' : 'white box (latent search)';
}

export function renderHeader(run: RunView | null, link: DaemonLink | undefined, refresh: () => void): Child[] {
  const daemonConnected = link?.connected ?? false;
  const pending = !daemonConnected && (link?.status === 'starting' || link?.status === 'connecting' || link?.status === 'reconnecting');
  const daemon = h('span', { class: `daemon ${daemonConnected ? 'up' : pending ? 'pending' : 'down'}`, text: daemonLabel(link), title: link?.problem ?? link?.url ?? '' });
  const refreshBtn = h('button', { class: 'secondary', text: 'Refresh', on: { click: refresh } });
  if (!run) return [h('div', { class: 'title-row' }, [h('h1', { text: 'Face Inversion Lab' }), h('span', { class: 'spacer' }), daemon, refreshBtn]), h('p', { class: 'empty', text: 'Select a run.' })];
  const m = run.manifest;
  const state = run.removed ? 'removed' : m?.state ?? 'unknown';
  // Budget, not epochs: a run that stopped on its 5-minute budget shows "budget of 5 min reached" and a full bar.
  const progress = runProgress(run);
  const frac = progress.fraction;
  // One progress line: a running job's (phase, budget, step, ETA), else run.json's (budget used, why it stopped);
  // an ended job adds a line only when it failed, with its error.
  const j = run.job;
  const active = !!j && (j.state === 'running' || j.state === 'queued');
  const line = active || j?.state === 'failed' ? jobLine(j) : '';
  const progressText = active ? '' : progress.text;
  return [
    h('div', { class: 'title-row' }, [
      h('h1', { text: run.name }),
      h('span', { class: `state ${state}`, text: state }),
      h('span', { class: 'spacer' }), daemon, refreshBtn,
    ]),
    m ? h('p', { class: 'meta' }, [
      // The attack in words where the run says it (face model, start, search); older runs say only their route.
      h('span', { class: 'method', text: methodLabel(m) }),
      ' · ', h('span', { text: `${m.encoderId} (${m.embeddingDim}-d)` }),
      ' · ', h('span', { class: 'muted', title: m.route.reason, text: `route ${m.route.requested} → ${m.route.chosen}` }),
      m.trainSeconds !== undefined ? h('span', { class: 'muted', text: ` · ${(m.trainSeconds / 60).toFixed(1)} min` }) : null,
    ]) : h('p', { class: 'muted', text: 'run.json missing or unreadable.' }),
    m?.error ? h('p', { class: 'error', text: m.error }) : null,
    frac !== null ? progressBar(frac, progress.text) : null,
    progressText ? h('p', { class: 'muted small progress-text', text: progressText }) : null,
    line ? h('p', { class: 'muted small job-line', text: line }) : null,
    progress.missing ? h('p', { class: 'muted small missing', text: progress.missing }) : null,
    run.problems.length ? h('details', { class: 'problems' }, [
      h('summary', { text: `${run.problems.length} problem${run.problems.length > 1 ? 's' : ''} reading this run` }),
      h('ul', {}, run.problems.map((p) => h('li', { text: p }))),
    ]) : null,
  ];
}
