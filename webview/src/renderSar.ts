/**
 * Draws the success-attack-rate table of evaluation/report.json: type I and type II SAR at FMR 1e-2 and 1e-3
 * for each evaluation encoder (the attacked one first, transfer encoders marked), rank-1, mean cosine, and
 * the image-quality pair SSIM / PSNR. Rows come shaped by dashboardData.sarTable.
 */
import { h, type Child } from './dom';
import type { SarTable } from './dashboardData';

export function renderSar(table: SarTable | null, running: boolean): Child[] {
  if (!table) {
    return [h('p', { class: 'empty', text: running ? 'No evaluation yet: the run is still going.' : 'No evaluation/report.json in this run yet.' })];
  }
  const head = h('tr', {}, [
    h('th', { text: 'Evaluation encoder' }),
    h('th', { text: 'Type I @ FMR 1e-2', title: 'reconstruction vs the same image\'s template' }),
    h('th', { text: 'Type I @ FMR 1e-3' }),
    h('th', { text: 'Type II @ FMR 1e-2', title: 'reconstruction vs other images of the same identity' }),
    h('th', { text: 'Type II @ FMR 1e-3' }),
    h('th', { text: 'Rank-1' }),
    h('th', { text: 'Mean cos' }),
  ]);
  const body = table.rows.map((r) => h('tr', { class: r.role }, [
    h('td', {}, [
      h('span', { class: 'encoder', text: r.encoderId }),
      ' ',
      h('span', { class: `badge ${r.role}`, text: r.role === 'transfer' ? 'transfer' : 'attacked' }),
      r.notEmbedded ? h('div', { class: 'muted small', text: r.notEmbedded }) : null,
    ]),
    h('td', { class: 'num', text: r.typeI1e2 }),
    h('td', { class: 'num', text: r.typeI1e3 }),
    h('td', { class: 'num', text: r.typeII1e2 }),
    h('td', { class: 'num', text: r.typeII1e3 }),
    h('td', { class: 'num', text: r.rank1 }),
    h('td', { class: 'num', text: r.meanCosine }),
  ]));
  return [
    h('table', { class: 'sar', attrs: { 'data-testid': 'sar-table' } }, [h('thead', {}, [head]), h('tbody', {}, body)]),
    h('p', { class: 'quality' }, [
      h('span', { text: `SSIM ${table.ssim}` }), ' · ', h('span', { text: `PSNR ${table.psnr}` }), ' · ', h('span', { class: 'muted', text: table.caption }),
    ]),
    table.note ? h('p', { class: 'muted small', text: table.note }) : null,
  ];
}
