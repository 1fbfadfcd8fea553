/**
 * Ranking a grid of search settings on validation targets: each point is searched by an injected function
 * (the real query search in ./tune.ts, a fake in tests), and the points are ranked by the attacked encoder's
 * mean cosine to the targets after the query budget — the quantity the search climbs and the one an attacker
 * can measure; type I at the validation thresholds is printed beside it (it saturates early, so it cannot
 * rank). Ties keep grid order, so the config's own settings win a tie.
 */
import type { TunedRow } from '../../protocol/runConfig';
import { describePoint, type GridPoint } from './grid';

/** What one search of one point scored on the validation targets. */
export interface PointScore {
  /** Mean cosine before the first query (after any warm-up). */
  startCosine: number;
  meanCosine: number;
  /** Share of targets above each threshold, in [0, 1]. */
  typeI: number[];
  seconds: number;
  /** A note for the table (e.g. the surrogate fitted badly and the search ran on queries alone). */
  note?: string;
}

export type SearchPoint = (p: GridPoint, index: number) => Promise<PointScore>;

export interface RankedRow { point: GridPoint; score: PointScore; order: number }

/** Searches every point (in grid order) and returns the rows best first. */
export async function rankGrid(points: readonly GridPoint[], search: SearchPoint, onRow?: (r: RankedRow) => void): Promise<RankedRow[]> {
  if (!points.length) throw new Error('tune: the grid has no points');
  const rows: RankedRow[] = [];
  for (let i = 0; i < points.length; i++) {
    const row = { point: points[i], score: await search(points[i], i), order: i };
    if (!Number.isFinite(row.score.meanCosine)) throw new Error(`tune: ${describePoint(points[i])} scored ${row.score.meanCosine} (not a number)`);
    rows.push(row);
    onRow?.(row);
  }
  return rows.sort((a, b) => b.score.meanCosine - a.score.meanCosine || a.order - b.order);
}

/** Rows as recorded in a tuned config. */
export function tunedRows(rows: readonly RankedRow[]): TunedRow[] {
  const r4 = (x: number) => Number(x.toFixed(4));
  return rows.map(({ point: p, score: s }) => ({
    components: p.components, sigma: p.sigma, learningRate: p.learningRate,
    ...(p.weight !== undefined ? { weight: p.weight, warmupSteps: p.warmupSteps } : {}),
    startCosine: r4(s.startCosine), meanCosine: r4(s.meanCosine), typeI: s.typeI.map(r4),
  }));
}

/** The ranked rows as a markdown table, the chosen one in bold. */
export function rankTable(rows: readonly RankedRow[], fmrs: readonly number[], queries: number): string {
  const surrogate = rows.some((r) => r.point.weight !== undefined);
  const head = ['rank', 'components', 'σ (probe radius)', 'step', ...(surrogate ? ['surrogate weight', 'warm-up steps'] : []),
    `attacked cosine: start → after ${queries} queries`, `type I % @${fmrs.map((f) => f.toExponential(0)).join(' / ')}`, 's', 'note'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  rows.forEach(({ point: p, score: s }, i) => {
    const end = i === 0 ? `**${s.meanCosine.toFixed(3)}**` : s.meanCosine.toFixed(3);
    lines.push(`| ${[i + 1, p.components, p.sigma, p.learningRate, ...(surrogate ? [p.weight ?? '—', p.warmupSteps ?? '—'] : []),
      `${s.startCosine.toFixed(3)} → ${end}`, s.typeI.map((t) => (100 * t).toFixed(1)).join(' / '), s.seconds.toFixed(0), s.note ?? ''].join(' | ')} |`);
  });
  return lines.join('\n');
}
