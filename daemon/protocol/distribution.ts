/**
 * Score distributions as histograms, and the plot of them, shared by the audit's HTML report (an inline SVG
 * string) and the dashboard webview (SVG elements): data shaping apart from drawing (GitLens's
 * timelineData / timelineRenderer split), so both show the same picture. Pure: no Node APIs (the webview
 * bundle imports this file).
 *
 * The plot is the one biometric engineers read first (e.g. ISO/IEC 19795-1 score distributions): the
 * genuine and impostor cosines of real photos, the reconstructions' cosines to their own templates and the
 * lookalike baseline's, each as a share of its own count per bin on a log axis (so the impostor tail that
 * sets the thresholds is visible next to a few hundred reconstructions), with the thresholds marked.
 */
import type { Histogram, ScoreDistribution } from './report';

/** The grid every distribution uses: 100 bins of 0.02 over [−1, 1]. */
export const DISTRIBUTION_GRID = { start: -1, width: 0.02, bins: 100 } as const;

export function binOf(score: number, grid: { start: number; width: number; bins: number } = DISTRIBUTION_GRID): number {
  const k = Math.floor((score - grid.start) / grid.width);
  return k < 0 ? 0 : k >= grid.bins ? grid.bins - 1 : k;
}

/** A histogram of `scores` (null / non-finite = missing). */
export function histogramOf(key: string, label: string, scores: ArrayLike<number | null | undefined>): Histogram {
  const counts = new Array<number>(DISTRIBUTION_GRID.bins).fill(0);
  let total = 0, missing = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s === null || s === undefined || !Number.isFinite(s)) { missing++; continue; }
    counts[binOf(s)]++;
    total++;
  }
  return { key, label, total, missing, counts };
}

/** Adds `b` into `a` (same key): histograms of chunks summed. */
export function addHistograms(a: Histogram, b: Histogram): Histogram {
  return { ...a, total: a.total + b.total, missing: a.missing + b.missing, counts: a.counts.map((c, k) => c + (b.counts[k] ?? 0)) };
}

export interface PlotSeries {
  key: string;
  label: string;
  color: string;
  dash?: string;
  /** SVG path data (step outline), in plot pixels. */
  d: string;
  total: number;
  missing: number;
}

export interface PlotModel {
  width: number;
  height: number;
  /** Plot area inside the margins. */
  area: { x: number; y: number; w: number; h: number };
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  series: PlotSeries[];
  thresholds: ThresholdMark[];
  xLabel: string;
  yLabel: string;
}

/**
 * A threshold's dotted line and its label. The label's box (`box`, in plot pixels, the text inside it at
 * `labelX`/`labelY` with `anchor`) is placed so no two labels overlap: thresholds of adjacent operating points
 * are often one bin apart, closer than a label is wide.
 */
export interface ThresholdMark {
  x: number;
  label: string;
  lowSupport: boolean;
  labelX: number;
  labelY: number;
  anchor: 'start' | 'end';
  box: { x: number; y: number; w: number; h: number };
}

/** Font size of the threshold labels and the width a character takes at it (an upper bound for digits and "FMR"). */
const LABEL_FONT = 10;
const LABEL_CHAR_W = 6.2;
const LABEL_ROW_H = 14;

/**
 * Places each label beside its line, right of it when it fits in the plot area, else left, on the first row
 * (from the top) where its box meets no box placed before. Pure layout; the font metrics are an upper bound,
 * so a real text box is never wider than its `box`.
 */
export function layoutThresholdLabels(marks: { x: number; label: string; lowSupport: boolean }[], area: { x: number; y: number; w: number; h: number }): ThresholdMark[] {
  const placed: ThresholdMark[] = [];
  const order = marks.map((m, i) => i).sort((a, b) => marks[a].x - marks[b].x);
  const out = new Array<ThresholdMark>(marks.length);
  const hits = (b: ThresholdMark['box']) => placed.some((p) => b.x < p.box.x + p.box.w && p.box.x < b.x + b.w && b.y < p.box.y + p.box.h && p.box.y < b.y + b.h);
  for (const i of order) {
    const m = marks[i];
    const w = Math.ceil(m.label.length * LABEL_CHAR_W) + 4;
    const fitsRight = m.x + 2 + w <= area.x + area.w;
    const sides: ('start' | 'end')[] = fitsRight ? ['start', 'end'] : ['end', 'start'];
    let mark: ThresholdMark | undefined;
    for (let row = 0; !mark; row++) {
      const y = area.y + 2 + row * LABEL_ROW_H;
      for (const anchor of sides) {
        const box = { x: anchor === 'start' ? m.x + 2 : m.x - 2 - w, y, w, h: LABEL_ROW_H - 2 };
        // Past the bottom of the area there is no free row left: stack anyway rather than loop forever.
        if (!hits(box) || y + LABEL_ROW_H > area.y + area.h) {
          mark = { ...m, anchor, box, labelX: anchor === 'start' ? box.x + 2 : box.x + w - 2, labelY: y + LABEL_FONT };
          break;
        }
      }
    }
    placed.push(mark);
    out[i] = mark;
  }
  return out;
}

/** Colours and dashes by key: real photos muted, the attack bold, the baseline between. */
export const SERIES_STYLE: Record<string, { color: string; dash?: string }> = {
  genuine: { color: '#2e7d32' },
  impostor: { color: '#757575' },
  'attack/redetect': { color: '#c62828' },
  'attack/direct': { color: '#c62828', dash: '5 3' },
  'nearest-face/redetect': { color: '#1565c0' },
  'nearest-face/direct': { color: '#1565c0', dash: '5 3' },
};

function fmtFmr(fmr: number): string {
  const e = Math.round(Math.log10(fmr));
  return Math.abs(fmr - 10 ** e) <= fmr * 1e-9 ? `1e${e}` : String(fmr);
}

/**
 * Lays out `dist` in a `width`×`height` box: x = cosine over the bins that hold any score (plus one bin each
 * side), y = log10 of each series' share per bin, down to half the smallest non-zero share.
 */
export function distributionPlot(dist: ScoreDistribution, width = 640, height = 300): PlotModel {
  const margin = { left: 52, right: 12, top: 12, bottom: 40 };
  const area = { x: margin.left, y: margin.top, w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const hs = dist.histograms.filter((h) => h.total > 0);
  const bins = dist.histograms[0]?.counts.length ?? DISTRIBUTION_GRID.bins;
  let lo = bins, hi = -1;
  for (const h of hs) h.counts.forEach((c, k) => { if (c > 0) { lo = Math.min(lo, k); hi = Math.max(hi, k); } });
  for (const t of dist.thresholds) { const k = binOf(t.threshold, { start: dist.start, width: dist.width, bins }); lo = Math.min(lo, k); hi = Math.max(hi, k); }
  if (hi < lo) { lo = 0; hi = bins - 1; }
  lo = Math.max(0, lo - 1);
  hi = Math.min(bins - 1, hi + 1);
  const x0 = dist.start + lo * dist.width, x1 = dist.start + (hi + 1) * dist.width;
  let minShare = 1;
  for (const h of hs) for (const c of h.counts) if (c > 0) minShare = Math.min(minShare, c / h.total);
  const yMin = Math.floor(Math.log10(minShare / 2));
  const X = (v: number) => area.x + ((v - x0) / (x1 - x0)) * area.w;
  const Y = (share: number) => area.y + area.h * (1 - (share > 0 ? (Math.log10(share) - yMin) / (0 - yMin) : 0));
  const r = (v: number) => Math.round(v * 10) / 10;
  const series: PlotSeries[] = hs.map((h) => {
    // Runs of non-empty bins are drawn as steps; an empty bin breaks the line (log(0) has no place on the axis).
    const parts: string[] = [];
    let open = false;
    for (let k = lo; k <= hi; k++) {
      const c = h.counts[k];
      if (c <= 0) { open = false; continue; }
      const y = r(Y(c / h.total));
      const xa = r(X(dist.start + k * dist.width)), xb = r(X(dist.start + (k + 1) * dist.width));
      parts.push(open ? `L${xa},${y}L${xb},${y}` : `M${xa},${y}L${xb},${y}`);
      open = true;
    }
    const style = SERIES_STYLE[h.key] ?? { color: '#6a1b9a' };
    return { key: h.key, label: h.label, color: style.color, ...(style.dash ? { dash: style.dash } : {}), d: parts.join(''), total: h.total, missing: h.missing };
  });
  const step = (x1 - x0) > 1 ? 0.2 : (x1 - x0) > 0.4 ? 0.1 : 0.05;
  const xTicks: PlotModel['xTicks'] = [];
  for (let v = Math.ceil(x0 / step) * step; v <= x1 + 1e-9; v += step) xTicks.push({ x: r(X(v)), label: (Math.abs(v) < 1e-9 ? 0 : v).toFixed(step < 0.1 ? 2 : 1) });
  const yTicks: PlotModel['yTicks'] = [];
  for (let e = 0; e >= yMin; e--) yTicks.push({ y: r(Y(10 ** e)), label: e === 0 ? '1' : `1e${e}` });
  return {
    width, height, area, xTicks, yTicks, series,
    thresholds: layoutThresholdLabels(dist.thresholds.map((t) => ({ x: r(X(t.threshold)), label: `FMR ${fmtFmr(t.fmr)}${t.lowSupport ? ' †' : ''}`, lowSupport: t.lowSupport })), area),
    xLabel: `cosine to the template (${dist.encoderId})`,
    yLabel: 'share per bin (log)',
  };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The plot as a standalone SVG string (for the HTML report; every text escaped). */
export function distributionSvg(p: PlotModel): string {
  const a = p.area;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${p.width} ${p.height}" width="${p.width}" height="${p.height}" role="img" aria-label="score distribution" class="distribution">`];
  out.push(`<rect x="${a.x}" y="${a.y}" width="${a.w}" height="${a.h}" fill="none" stroke="#bbb"/>`);
  for (const t of p.xTicks) out.push(`<line x1="${t.x}" y1="${a.y + a.h}" x2="${t.x}" y2="${a.y + a.h + 4}" stroke="#888"/><text x="${t.x}" y="${a.y + a.h + 16}" font-size="10" text-anchor="middle">${esc(t.label)}</text>`);
  for (const t of p.yTicks) out.push(`<line x1="${a.x - 4}" y1="${t.y}" x2="${a.x}" y2="${t.y}" stroke="#888"/><text x="${a.x - 6}" y="${t.y + 3}" font-size="10" text-anchor="end">${esc(t.label)}</text>`);
  for (const s of p.series) out.push(`<path d="${s.d}" fill="none" stroke="${s.color}" stroke-width="${s.dash ? 1.2 : 1.8}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}><title>${esc(`${s.label}: ${s.total} scores${s.missing ? `, ${s.missing} without a score` : ''}`)}</title></path>`);
  for (const t of p.thresholds) out.push(`<line x1="${t.x}" y1="${a.y}" x2="${t.x}" y2="${a.y + a.h}" stroke="#000" stroke-dasharray="2 3"/>`);
  for (const t of p.thresholds) out.push(`<rect x="${t.box.x}" y="${t.box.y}" width="${t.box.w}" height="${t.box.h}" fill="#fff" fill-opacity="0.85"/><text x="${t.labelX}" y="${t.labelY}" font-size="${LABEL_FONT}" text-anchor="${t.anchor}">${esc(t.label)}</text>`);
  out.push(`<text x="${a.x + a.w / 2}" y="${p.height - 6}" font-size="11" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(`<text transform="translate(12 ${a.y + a.h / 2}) rotate(-90)" font-size="11" text-anchor="middle">${esc(p.yLabel)}</text>`);
  out.push('</svg>');
  return out.join('');
}
