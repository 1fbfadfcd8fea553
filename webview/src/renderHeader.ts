/**
 * Draws the selected run's header: name, route (black/white box, with the judge's reason), attacked encoder,
 * state, progress (daemon job or run.json), the daemon connection, and problems found in the run's files.
 */
import { h, type Child } from './dom';
import { jobLine, progressFraction } from './dashboardData';
import type { RunView } from '../../daemon/protocol/webview';

function progressBar(frac: number, title: string): HTMLElement {
  const bar = h('div', { class: 'bar' });
  bar.style.width = `${(frac * 100).toFixed(1)}%`; // CSSOM, allowed by the CSP (no inline style attribute)
  return h('div', { class: 'progress', title, attrs: { role: 'progressbar', 'aria-valuenow': String(Math.round(frac * 100)), 'aria-valuemin': '0', 'aria-valuemax': '100' } }, [bar]);
}

export function renderHeader(run: RunView | null, daemonConnected: boolean, refresh: () => void): Child[] {
  const daemon = h('span', { class: `daemon ${daemonConnected ? 'up' : 'down'}`, text: daemonConnected ? 'daemon connected' : 'daemon not connected' });
  const refreshBtn = h('button', { class: 'secondary', text: 'Refresh', on: { click: refresh } });
  if (!run) return [h('div', { class: 'title-row' }, [h('h1', { text: 'Face Inversion Lab' }), h('span', { class: 'spacer' }), daemon, refreshBtn]), h('p', { class: 'empty', text: 'Select a run.' })];
  const m = run.manifest;
  const state = run.removed ? 'removed' : m?.state ?? 'unknown';
  const frac = progressFraction(run);
  const progressText = m?.progress ? `epoch ${m.progress.epoch} / ${m.progress.totalEpochs} · step ${m.progress.step} / ${m.progress.totalSteps}` : '';
  return [
    h('div', { class: 'title-row' }, [
      h('h1', { text: run.name }),
      h('span', { class: `state ${state}`, text: state }),
      h('span', { class: 'spacer' }), daemon, refreshBtn,
    ]),
    m ? h('p', { class: 'meta' }, [
      h('span', { text: m.kind === 'blackbox' ? 'black box (decoder)' : 'white box (latent search)' }),
      ' · ', h('span', { text: `${m.encoderId} (${m.embeddingDim}-d)` }),
      ' · ', h('span', { class: 'muted', title: m.route.reason, text: `route ${m.route.requested} → ${m.route.chosen}` }),
      m.trainSeconds !== undefined ? h('span', { class: 'muted', text: ` · ${(m.trainSeconds / 60).toFixed(1)} min` }) : null,
    ]) : h('p', { class: 'muted', text: 'run.json missing or unreadable.' }),
    m?.error ? h('p', { class: 'error', text: m.error }) : null,
    frac !== null ? progressBar(frac, progressText) : null,
    progressText || run.job ? h('p', { class: 'muted small' }, [progressText, progressText && run.job ? ' · ' : '', jobLine(run.job)]) : null,
    run.problems.length ? h('details', { class: 'problems' }, [
      h('summary', { text: `${run.problems.length} problem${run.problems.length > 1 ? 's' : ''} reading this run` }),
      h('ul', {}, run.problems.map((p) => h('li', { text: p }))),
    ]) : null,
  ];
}
