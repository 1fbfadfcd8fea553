/**
 * The evaluation's picture: cells of (aligned original | reconstruction | nearest training face | scores),
 * drawn with sharp (scores as SVG text), so a reader sees at a glance what the attack adds over a lookalike.
 */
import sharp, { OverlayOptions } from 'sharp';

export interface GridCell {
  original?: Uint8Array;
  reconstruction: Uint8Array;
  /** The baseline's picture for the same target (the nearest training face). */
  baseline?: Uint8Array;
  /** Lines of text beside the pictures. */
  lines: string[];
  ok: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

export async function renderGrid(file: string, cells: readonly GridCell[], size: number, columns = 3): Promise<void> {
  const textW = 170;
  const pad = 6;
  const pictures = cells.some((c) => c.baseline) ? 3 : 2;
  const cellW = size * pictures + textW + pad * (pictures + 1);
  const cellH = size + pad * 2;
  const rows = Math.max(1, Math.ceil(cells.length / columns));
  const width = cellW * Math.min(columns, Math.max(1, cells.length));
  const headH = 20;
  const height = cellH * rows + headH;
  const layers: OverlayOptions[] = [];
  const titles = ['original', 'reconstruction', ...(pictures === 3 ? ['nearest training face'] : [])];
  const head = Array.from({ length: Math.min(columns, Math.max(1, cells.length)) }, (_, col) => titles.map((t, k) =>
    `<text x="${col * cellW + pad + k * (size + pad) + 2}" y="14" font-family="sans-serif" font-size="11" fill="#555">${escapeXml(t)}</text>`).join('')).join('');
  layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${headH}">${head}</svg>`), left: 0, top: 0 });
  const raw = (px: Uint8Array) => ({ raw: { width: size, height: size, channels: 3 as const } , px });
  cells.forEach((c, i) => {
    const x0 = (i % columns) * cellW + pad;
    const y0 = headH + Math.floor(i / columns) * cellH + pad;
    if (c.original) {
      const r = raw(c.original);
      layers.push({ input: Buffer.from(r.px), raw: r.raw, left: x0, top: y0 });
    }
    const r = raw(c.reconstruction);
    layers.push({ input: Buffer.from(r.px), raw: r.raw, left: x0 + size + pad, top: y0 });
    if (c.baseline) {
      const b = raw(c.baseline);
      layers.push({ input: Buffer.from(b.px), raw: b.raw, left: x0 + 2 * (size + pad), top: y0 });
    }
    const text = c.lines.map((l, k) => `<text x="4" y="${16 + k * 16}" font-family="sans-serif" font-size="12" fill="${k === 0 ? (c.ok ? '#0a7d28' : '#b3261e') : '#222'}">${escapeXml(l)}</text>`).join('');
    layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${textW}" height="${size}">${text}</svg>`), left: x0 + pictures * (size + pad), top: y0 });
  });
  await sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(layers).png().toFile(file);
}
