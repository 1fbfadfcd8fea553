/**
 * The evaluation's picture: rows of (aligned original | reconstruction | scores), drawn with sharp
 * (scores as SVG text), so a report can be judged at a glance.
 */
import sharp, { OverlayOptions } from 'sharp';

export interface GridCell {
  original?: Uint8Array;
  reconstruction: Uint8Array;
  /** Lines of text beside the pair. */
  lines: string[];
  ok: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export async function renderGrid(file: string, cells: readonly GridCell[], size: number, columns = 3): Promise<void> {
  const textW = 170;
  const pad = 6;
  const cellW = size * 2 + textW + pad * 3;
  const cellH = size + pad * 2;
  const rows = Math.max(1, Math.ceil(cells.length / columns));
  const width = cellW * Math.min(columns, Math.max(1, cells.length));
  const height = cellH * rows;
  const layers: OverlayOptions[] = [];
  const raw = (px: Uint8Array) => ({ raw: { width: size, height: size, channels: 3 as const } , px });
  cells.forEach((c, i) => {
    const x0 = (i % columns) * cellW + pad;
    const y0 = Math.floor(i / columns) * cellH + pad;
    if (c.original) {
      const r = raw(c.original);
      layers.push({ input: Buffer.from(r.px), raw: r.raw, left: x0, top: y0 });
    }
    const r = raw(c.reconstruction);
    layers.push({ input: Buffer.from(r.px), raw: r.raw, left: x0 + size + pad, top: y0 });
    const text = c.lines.map((l, k) => `<text x="4" y="${16 + k * 16}" font-family="sans-serif" font-size="12" fill="${k === 0 ? (c.ok ? '#0a7d28' : '#b3261e') : '#222'}">${escapeXml(l)}</text>`).join('');
    layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${textW}" height="${size}">${text}</svg>`), left: x0 + 2 * size + 2 * pad, top: y0 });
  });
  await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(layers).png().toFile(file);
}
