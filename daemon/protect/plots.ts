/**
 * The report's figures as inline SVG (no plotting library): DET curves on normal-deviate axes, and the
 * unlinkability figure Gomez-Barrero et al. (TIFS 2018) use — mated and non-mated score densities with the
 * local D↔(s) on a second axis and D↔sys in the title.
 */
import type { Unlinkability } from './metrics';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const COLOURS = ['#222', '#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/** Inverse standard normal CDF (Acklam's rational approximation), for DET axes. */
export function probit(p: number): number {
  const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771082, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const dd = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (q < lo) { const r = Math.sqrt(-2 * Math.log(q)); return (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((dd[0] * r + dd[1]) * r + dd[2]) * r + dd[3]) * r + 1); }
  if (q > 1 - lo) { const r = Math.sqrt(-2 * Math.log(1 - q)); return -(((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / ((((dd[0] * r + dd[1]) * r + dd[2]) * r + dd[3]) * r + 1); }
  const r = q - 0.5, t = r * r;
  return (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * r / (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
}

export function detSvg(curves: { label: string; fmr: number[]; fnmr: number[]; dashed?: boolean; colour: string }[], title: string): string {
  const W = 520, H = 420, L = 60, R = 180, T = 30, B = 50;
  const ticks = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9];
  const lo = probit(1e-5), hi = probit(0.95);
  const x = (p: number) => L + ((probit(p) - lo) / (hi - lo)) * (W - L - R);
  const y = (p: number) => H - B - ((probit(p) - lo) / (hi - lo)) * (H - T - B);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<text x="${L}" y="18" font-size="13">${esc(title)}</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`];
  for (const t of ticks) {
    parts.push(`<line x1="${x(t)}" y1="${T}" x2="${x(t)}" y2="${H - B}" stroke="#eee"/><text x="${x(t)}" y="${H - B + 14}" text-anchor="middle">${t}</text>`);
    parts.push(`<line x1="${L}" y1="${y(t)}" x2="${W - R}" y2="${y(t)}" stroke="#eee"/><text x="${L - 4}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">FMR</text><text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">FNMR</text>`);
  curves.forEach((c, k) => {
    const pts = c.fmr.map((f, i) => [f, c.fnmr[i]] as const).filter(([f, r]) => f >= 1e-5 && r >= 1e-5 && f <= 0.95 && r <= 0.95);
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${c.colour}" stroke-width="1.6"${c.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.map(([f, r]) => `${x(f).toFixed(1)},${y(r).toFixed(1)}`).join(' ')}"/>`);
    const ly = T + 12 + k * 16;
    parts.push(`<line x1="${W - R + 10}" y1="${ly}" x2="${W - R + 30}" y2="${ly}" stroke="${c.colour}" stroke-width="2"${c.dashed ? ' stroke-dasharray="5 3"' : ''}/><text x="${W - R + 34}" y="${ly + 4}">${esc(c.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function unlinkabilitySvg(u: Unlinkability, title: string): string {
  const W = 520, H = 320, L = 50, R = 50, T = 30, B = 45;
  const lo = u.centres[0], hi = u.centres[u.centres.length - 1];
  const span = hi - lo || 1;
  const ymax = Math.max(...u.mated, ...u.nonMated) || 1;
  const x = (s: number) => L + ((s - lo) / span) * (W - L - R);
  const y = (v: number) => H - B - (v / ymax) * (H - T - B);
  const yd = (v: number) => H - B - v * (H - T - B);
  const bw = (W - L - R) / u.centres.length;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<text x="${L}" y="18" font-size="13">${esc(title)} — D↔sys = ${u.dsys.toFixed(3)}${u.dsysCI && !Number.isNaN(u.dsysCI[0]) ? ` [${u.dsysCI[0].toFixed(3)}–${u.dsysCI[1].toFixed(3)}]` : ''}</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#999"/>`];
  u.centres.forEach((c, i) => {
    parts.push(`<rect x="${(x(c) - bw / 2).toFixed(1)}" y="${y(u.nonMated[i]).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - B - y(u.nonMated[i])).toFixed(1)}" fill="#d62728" fill-opacity="0.35"/>`);
    parts.push(`<rect x="${(x(c) - bw / 2).toFixed(1)}" y="${y(u.mated[i]).toFixed(1)}" width="${bw.toFixed(1)}" height="${(H - B - y(u.mated[i])).toFixed(1)}" fill="#2ca02c" fill-opacity="0.35"/>`);
  });
  parts.push(`<polyline fill="none" stroke="#000" stroke-width="1.6" points="${u.centres.map((c, i) => `${x(c).toFixed(1)},${yd(u.dLocal[i]).toFixed(1)}`).join(' ')}"/>`);
  for (let k = 0; k <= 4; k++) {
    const s = lo + (k / 4) * span;
    parts.push(`<text x="${x(s)}" y="${H - B + 14}" text-anchor="middle">${s.toFixed(2)}</text>`);
    parts.push(`<text x="${W - R + 4}" y="${yd(k / 4) + 4}">${(k / 4).toFixed(2)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">comparison score</text>`,
    `<text transform="translate(14 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">probability density</text>`,
    `<text transform="translate(${W - 8} ${(T + H - B) / 2}) rotate(90)" text-anchor="middle">D↔(s)</text>`,
    `<rect x="${L + 8}" y="${T + 6}" width="10" height="10" fill="#2ca02c" fill-opacity="0.5"/><text x="${L + 22}" y="${T + 15}">mated (same subject, two keys)</text>`,
    `<rect x="${L + 8}" y="${T + 22}" width="10" height="10" fill="#d62728" fill-opacity="0.5"/><text x="${L + 22}" y="${T + 31}">non-mated</text>`,
    `<line x1="${L + 8}" y1="${T + 43}" x2="${L + 18}" y2="${T + 43}" stroke="#000" stroke-width="2"/><text x="${L + 22}" y="${T + 47}">D↔(s)</text>`, '</svg>');
  return parts.join('');
}
