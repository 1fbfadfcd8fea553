/**
 * Draws the run history (every folder under the daemon's <workspace>/runs/, newest first, with its state); a
 * click asks the extension to show that run. Rows come shaped by dashboardData.historyRows.
 */
import { h, type Child } from './dom';
import type { HistoryRow } from './dashboardData';

export function renderRuns(rows: HistoryRow[], runsRoot: string | null, select: (name: string) => void): Child[] {
  if (runsRoot === null) return [h('p', { class: 'empty', text: 'Start the daemon or connect to one to see its runs.' })];
  if (rows.length === 0) return [h('p', { class: 'empty', text: `No runs yet in ${runsRoot}.` })];
  return [h('ul', { class: 'runs' }, rows.map((r) => h('li', {}, [
    h('button', {
      class: `run${r.selected ? ' selected' : ''}`,
      title: r.problem ?? r.name,
      attrs: { 'aria-pressed': String(r.selected), 'data-run': r.name },
      on: { click: () => select(r.name) },
    }, [
      h('span', { class: `state ${r.state}`, text: r.state }),
      h('span', { class: 'name', text: r.name }),
      h('span', { class: 'detail muted', text: r.detail }),
      r.figures ? h('span', { class: 'figures', attrs: { 'data-testid': 'run-figures' }, text: r.figures, title: 'redetect, attacked encoder; lookalike = the nearest-training-face baseline' }) : null,
      h('span', { class: 'time muted', text: r.time }),
    ]),
  ])))];
}
