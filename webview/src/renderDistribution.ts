/**
 * Draws an evaluated run's score distribution (evaluation/report.json `distribution`) and its verdict
 * sentences, the same picture and words as the audit report: the plot is laid out by
 * daemon/protocol/distribution.ts (data shaping) and built here as SVG elements (drawing; no innerHTML), the
 * sentences come from daemon/protocol/verdict.ts.
 */
import type { EvaluationReport } from '../../daemon/protocol/report';
import { distributionPlot, type PlotModel } from '../../daemon/protocol/distribution';
import { evaluationVerdicts, evaluationWords, verdictSentence } from '../../daemon/protocol/verdict';
import { h, type Child } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function plotSvg(p: PlotModel): SVGSVGElement {
  const a = p.area;
  const svg = s('svg', { viewBox: `0 0 ${p.width} ${p.height}`, width: p.width, height: p.height, role: 'img', 'aria-label': 'score distribution', class: 'distribution' });
  svg.append(s('rect', { x: a.x, y: a.y, width: a.w, height: a.h, fill: 'none', stroke: 'currentColor', 'stroke-opacity': 0.3 }));
  for (const t of p.xTicks) svg.append(s('line', { x1: t.x, y1: a.y + a.h, x2: t.x, y2: a.y + a.h + 4, stroke: 'currentColor' }), s('text', { x: t.x, y: a.y + a.h + 16, 'font-size': 10, 'text-anchor': 'middle', fill: 'currentColor' }, t.label));
  for (const t of p.yTicks) svg.append(s('line', { x1: a.x - 4, y1: t.y, x2: a.x, y2: t.y, stroke: 'currentColor' }), s('text', { x: a.x - 6, y: t.y + 3, 'font-size': 10, 'text-anchor': 'end', fill: 'currentColor' }, t.label));
  for (const se of p.series) {
    const path = s('path', { d: se.d, fill: 'none', stroke: se.color, 'stroke-width': se.dash ? 1.2 : 1.8, 'data-key': se.key, ...(se.dash ? { 'stroke-dasharray': se.dash } : {}) });
    path.append(s('title', {}, `${se.label}: ${se.total} scores${se.missing ? `, ${se.missing} without a score` : ''}`));
    svg.append(path);
  }
  // Lines first, then every label on its box: a label crossing a neighbour's line covers it.
  for (const t of p.thresholds) svg.append(s('line', { x1: t.x, y1: a.y, x2: t.x, y2: a.y + a.h, stroke: 'currentColor', 'stroke-dasharray': '2 3', class: 'threshold' }));
  for (const t of p.thresholds) {
    svg.append(
      s('rect', { x: t.box.x, y: t.box.y, width: t.box.w, height: t.box.h, class: 'label-bg' }),
      s('text', { x: t.labelX, y: t.labelY, 'font-size': 10, 'text-anchor': t.anchor, fill: 'currentColor', class: 'threshold-label' }, t.label));
  }
  svg.append(s('text', { x: a.x + a.w / 2, y: p.height - 6, 'font-size': 11, 'text-anchor': 'middle', fill: 'currentColor' }, p.xLabel));
  svg.append(s('text', { transform: `translate(12 ${a.y + a.h / 2}) rotate(-90)`, 'font-size': 11, 'text-anchor': 'middle', fill: 'currentColor' }, p.yLabel));
  return svg;
}

export function renderDistribution(report: EvaluationReport | null, running: boolean): Child[] {
  if (!report) return [h('p', { class: 'empty', text: running ? 'No evaluation yet: the run is still going.' : 'No evaluation/report.json in this run yet.' })];
  const words = evaluationWords(report.attackedEncoderId);
  const verdict = evaluationVerdicts(report).filter((p) => p.fmr <= 1e-3);
  const out: Child[] = [h('ul', { class: 'verdict', attrs: { 'data-testid': 'verdict' } }, verdict.map((p) => h('li', { text: verdictSentence(p, words) })))];
  const d = report.distribution;
  if (!d) {
    out.push(h('p', { class: 'muted small', text: 'This report has no score distribution (written by an older version): run "Evaluate Attack" again to draw it.' }));
    return out;
  }
  const plot = distributionPlot(d, 640, 280);
  const legend = h('ul', { class: 'legend' }, plot.series.map((se) => {
    const sw = s('svg', { width: 26, height: 10, 'aria-hidden': 'true' });
    sw.append(s('line', { x1: 0, y1: 5, x2: 26, y2: 5, stroke: se.color, 'stroke-width': 2, ...(se.dash ? { 'stroke-dasharray': se.dash } : {}) }));
    return h('li', {}, [sw, ` ${se.label} `, h('span', { class: 'muted', text: `(${se.total.toLocaleString('en-US')}${se.missing ? `, ${se.missing} without a score` : ''})` })]);
  }));
  out.push(h('div', { class: 'plot', attrs: { 'data-testid': 'distribution' } }, [plotSvg(plot)]), legend,
    h('p', { class: 'muted small', text: `Genuine and impostor pairs: ${d.pairsFrom}. Each curve is a share of its own count per bin of ${d.width} (log scale); dotted lines: the thresholds.` }));
  return out;
}
