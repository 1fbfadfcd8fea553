/** Text summaries of a pipeline run for the CLI: counts, speed, and every failure grouped by kind. */
import type { FaceFailure } from './errors';
import type { PipelineStats } from './pipeline';

export function formatFailures(failures: readonly FaceFailure[], maxListed = 50): string[] {
  if (failures.length === 0) return ['failures: none'];
  const byKind = new Map<string, number>();
  for (const f of failures) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  const lines = [`failures: ${failures.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`];
  for (const f of failures.slice(0, maxListed)) lines.push(`  ${f.file}: ${f.kind}: ${f.detail}`);
  if (failures.length > maxListed) lines.push(`  … and ${failures.length - maxListed} more`);
  return lines;
}

export function formatStats(s: PipelineStats): string {
  return `images: ${s.total} (cached ${s.cached}, processed ${s.processed} in ${s.seconds.toFixed(1)} s` +
    `${s.processed > 0 ? `, ${s.imagesPerSecond.toFixed(1)} images/s on ${s.workers} worker${s.workers === 1 ? '' : 's'}` : ''})` +
    `; several faces found in ${s.multiFace} (largest central one used)` +
    (s.preAlignment ? `; already aligned (${s.preAlignment.detail}): ${s.preAligned} photos embedded without detection` : '');
}
