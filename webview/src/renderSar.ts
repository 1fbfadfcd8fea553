/**
 * Draws the success-attack-rate tables of evaluation/report.json, one per protocol (re-detected first, then
 * direct): per scoring encoder the attack's row, then the baselines' rows (nearest training face, mean face)
 * in a muted style, so a reader sees at once what the attack adds over a lookalike. Type I and type II at
 * every operating point, rank-1, failures; counts and Wilson intervals in each cell's tooltip; weakly
 * supported thresholds marked †. Rows come shaped by dashboardData.sarTable.
 */
import { h, type Child } from './dom';
import type { SarCell, SarTable } from './dashboardData';

function num(c: SarCell): HTMLElement {
  return h('td', { class: `num${c.lowSupport ? ' low' : ''}`, text: `${c.text}${c.lowSupport ? ' †' : ''}`, title: c.title });
}

export function renderSar(table: SarTable | null, running: boolean, problem?: string): Child[] {
  if (!table && problem) return [h('p', { class: 'problem', attrs: { 'data-testid': 'sar-problem' }, text: problem })];
  if (!table) {
    return [h('p', { class: 'empty', text: running ? 'No evaluation yet: the run is still going.' : 'No evaluation/report.json in this run yet.' })];
  }
  if (table.problem) return [h('p', { class: 'problem', attrs: { 'data-testid': 'sar-problem' }, text: table.problem })];
  const out: Child[] = [h('p', { class: 'caption', text: table.caption })];
  for (const t of table.tables) {
    const head = h('tr', {}, [
      h('th', { text: 'Subject' }),
      h('th', { text: 'Scored by' }),
      ...table.points.map((p) => h('th', { text: `Type I @${p}`, title: `reconstruction vs the same photo's template, FMR ${p}` })),
      ...table.points.map((p) => h('th', { text: `Type II @${p}`, title: `reconstruction vs the person's other photos, FMR ${p}` })),
      h('th', { text: 'Rank-1' }),
    ]);
    const body = t.rows.map((r) => h('tr', { class: `${r.role} ${r.subject === 'attack' ? 'attack' : 'baseline'}` }, [
      h('td', {}, [h('span', { class: r.subject === 'attack' ? 'subject' : 'subject muted', text: r.label }), r.failed ? h('div', { class: 'muted small', text: r.failed }) : null]),
      h('td', {}, [h('span', { class: 'encoder', text: r.encoderId }), ' ', h('span', { class: `badge ${r.role}`, text: r.role })]),
      ...r.typeI.map(num),
      ...r.typeII.map(num),
      num(r.rank1),
    ]));
    out.push(h('h3', { class: 'protocol', text: t.title }));
    out.push(h('table', { class: 'sar', attrs: { 'data-testid': `sar-table-${t.protocol}` } }, [h('thead', {}, [head]), h('tbody', {}, body)]));
  }
  out.push(h('p', { class: 'quality' }, [h('span', { text: `SSIM ${table.ssim}` }), ' · ', h('span', { text: `PSNR ${table.psnr}` }),
    ...(table.ssimReferences ? [' · ', h('span', { class: 'muted', text: `SSIM of images that reconstruct nothing: ${table.ssimReferences}` })] : [])]));
  if (table.note) out.push(h('p', { class: 'muted small', text: table.note }));
  return out;
}
