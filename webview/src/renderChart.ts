/**
 * Draws the loss curves (train and held-out test for the black-box decoder; the search loss and the cosine
 * per step for white-box latent search; the best cosine against queries, mean and per target, for a black-box
 * query search) with chart.js, coloured from VS Code's theme variables
 * (`--vscode-charts-*`), updated in place as metric lines arrive. Input comes shaped by dashboardData.curves.
 */
import {
  Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip,
  type ChartDataset, type ChartOptions,
} from 'chart.js';
import type { CurveSet, Point } from './dashboardData';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Tooltip);

/** A theme colour by VS Code variable name, with a fallback outside VS Code. */
function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v.length > 0 ? v : fallback;
}

interface Palette { train: string; test: string; search: string; cosine: string; text: string; grid: string }

function palette(): Palette {
  return {
    train: themeColor('--vscode-charts-blue', '#3794ff'),
    test: themeColor('--vscode-charts-orange', '#d18616'),
    search: themeColor('--vscode-charts-purple', '#b180d7'),
    cosine: themeColor('--vscode-charts-green', '#89d185'),
    text: themeColor('--vscode-foreground', '#cccccc'),
    grid: themeColor('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)'),
  };
}

type LineSet = ChartDataset<'line', Point[]>;

export class CurveChart {
  private readonly chart: Chart<'line', Point[]>;
  private logScale = false;

  constructor(canvas: HTMLCanvasElement) {
    this.chart = new Chart(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: this.options(palette(), false),
    });
    // VS Code swaps theme classes on <body> and rewrites the variables: recolour then.
    new MutationObserver(() => this.recolor()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  private xLabel = 'step';
  /** Whether any loss curve is drawn: without one (query search) the cosine axis takes the left side. */
  private hasLoss = true;

  private options(p: Palette, log: boolean): ChartOptions<'line'> {
    return {
      animation: false,
      parsing: false,
      normalized: true,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      plugins: {
        legend: { labels: { color: p.text, boxWidth: 12 } },
        tooltip: { enabled: true },
      },
      scales: {
        x: { type: 'linear', title: { display: true, text: this.xLabel, color: p.text }, ticks: { color: p.text }, grid: { color: p.grid } },
        // 'auto': an axis shows only when a curve is drawn against it, so a chart of cosines has no "loss" axis.
        y: { type: log ? 'logarithmic' : 'linear', display: 'auto', title: { display: true, text: 'loss', color: p.text }, ticks: { color: p.text }, grid: { color: p.grid } },
        cos: {
          type: 'linear', position: this.hasLoss ? 'right' : 'left', display: 'auto', suggestedMin: 0, suggestedMax: 1,
          title: { display: true, text: 'cosine', color: p.text }, ticks: { color: p.text }, grid: this.hasLoss ? { drawOnChartArea: false } : { color: p.grid },
        },
      },
    };
  }

  /** Replaces the curves; `logScale` puts the loss axis on a log scale. */
  update(set: CurveSet, logScale: boolean): void {
    const p = palette();
    const line = (label: string, data: Point[], color: string, axis: 'y' | 'cos', dashed = false): LineSet => ({
      label, data, borderColor: color, backgroundColor: color, yAxisID: axis, borderWidth: 1.5, pointRadius: data.length > 60 ? 0 : 2,
      ...(dashed ? { borderDash: [5, 3] } : {}),
    });
    const datasets: LineSet[] = [];
    if (set.train.length) datasets.push(line('train loss', set.train, p.train, 'y'));
    if (set.test.length) datasets.push(line('test loss', set.test, p.test, 'y'));
    if (set.search.length) datasets.push(line('search loss', set.search, p.search, 'y'));
    if (set.cosine.length) datasets.push(line(set.targets.length ? 'mean best cosine' : 'cosine', set.cosine, p.cosine, 'cos', !set.targets.length));
    set.targets.forEach((t, i) => {
      const d = line(t.id.split('/').pop() ?? t.id, t.points, `hsla(${(i * 57) % 360}, 55%, 60%, 0.8)`, 'cos', true);
      d.borderWidth = 1;
      datasets.push(d);
    });
    this.chart.data.datasets = datasets;
    const hasLoss = datasets.some((d) => d.yAxisID === 'y');
    if (logScale !== this.logScale || set.xLabel !== this.xLabel || hasLoss !== this.hasLoss) {
      this.logScale = logScale;
      this.xLabel = set.xLabel;
      this.hasLoss = hasLoss;
      this.chart.options = this.options(p, logScale);
    }
    this.chart.update('none');
  }

  private recolor(): void {
    const p = palette();
    this.chart.options = this.options(p, this.logScale);
    const byLabel: Record<string, string> = { 'train loss': p.train, 'test loss': p.test, 'search loss': p.search, cosine: p.cosine, 'mean best cosine': p.cosine };
    for (const d of this.chart.data.datasets) {
      const c = byLabel[d.label ?? ''];
      if (c) { d.borderColor = c; d.backgroundColor = c; }
    }
    this.chart.update('none');
  }

  /** The value axes shown, as "left:loss" / "right:cosine" (what a reader sees beside the plot; tests read it). */
  get valueAxes(): string[] {
    const used = new Set(this.chart.data.datasets.map((d) => (d as LineSet).yAxisID));
    return Object.values(this.chart.scales)
      .filter((sc) => sc.axis === 'y' && (sc.options.display === true || (sc.options.display === 'auto' && used.has(sc.id))))
      .map((sc) => { const o = sc.options as { position?: string; title?: { text?: string } }; return `${o.position ?? ''}:${o.title?.text ?? ''}`; });
  }

  /** Datasets and points drawn, for tests and the empty-state message. */
  get drawnPoints(): number {
    return this.chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
  }
}
