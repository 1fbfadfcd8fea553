/**
 * Progress on stderr for long dataset passes: a bar redrawn in place on a terminal, or one line every few
 * seconds when stderr is a file/pipe; images/s over the run so far and the ETA from that rate.
 */
import { formatSeconds } from '../protocol/budget';
export interface ProgressSink {
  update(done: number, total: number, failed: number): void;
  finish(done: number, total: number, failed: number): void;
}

/** Durations as every progress line writes them (one formatter: protocol/budget.ts). */
export { formatSeconds as formatDuration } from '../protocol/budget';

/** One progress line: `[#####-----] 120/1000 12.0% 85.3 img/s ETA 10s failed 2 label`. */
export function formatProgress(label: string, done: number, total: number, failed: number, elapsedS: number): string {
  const frac = total > 0 ? done / total : 1;
  const width = 24;
  const fill = Math.round(frac * width);
  const rate = elapsedS > 0 ? done / elapsedS : 0;
  const eta = rate > 0 ? (total - done) / rate : NaN;
  return `${label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${done}/${total} ${(frac * 100).toFixed(1)}% ` +
    `${rate.toFixed(1)} img/s ETA ${formatSeconds(eta)}${failed > 0 ? ` failed ${failed}` : ''}`;
}

export function stderrProgress(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const t0 = Date.now();
  const tty = Boolean(stream.isTTY);
  let lastPrint = 0;
  const line = (d: number, t: number, f: number) => formatProgress(label, d, t, f, (Date.now() - t0) / 1000);
  return {
    update(done, total, failed) {
      const now = Date.now();
      if (tty) {
        if (now - lastPrint < 100) return;
        stream.write(`\r${line(done, total, failed)}\x1b[K`);
      } else {
        if (now - lastPrint < 5000) return;
        stream.write(`${line(done, total, failed)}\n`);
      }
      lastPrint = now;
    },
    finish(done, total, failed) {
      stream.write(`${tty ? '\r' : ''}${line(done, total, failed)}${tty ? '\x1b[K' : ''}\n`);
    },
  };
}
