/**
 * Drawing the oracle section of the audit report (issue 25, item 6) from its shaped data (oracleCurve.ts): an SVG of
 * success rate against oracle queries (log axis) per threshold with the lookalike as a dashed line, the mitigation
 * table, the table of the face held at each budget (type I / type II / transfer, oracleHeld.ts), and the same as
 * Markdown for report.md.
 */
import type { OracleReport } from './oracleCurve';
import { heldMeaning } from './oracleHeld';

const esc = (s: unknown) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);
const fmrText = (f: number | null) => (f === null ? 'own threshold' : `FMR ${f}`);
const COLOURS = ['#c0392b', '#2471a3', '#1e8449', '#7d3c98'];

/** The held faces' table: one line per measure, encoder, protocol and threshold; one column per budget. */
function heldTable(o: OracleReport): { head: string[]; lines: string[][] } | null {
  const held = o.held ?? [];
  if (!held.length) return null;
  const budgets = [...new Set(held.map((h) => h.queries))];
  const keys = [...new Set(held.map((h) => `${h.measure}\u0000${h.encoderId}\u0000${h.protocol}`))];
  const lines: string[][] = [];
  for (const key of keys) {
    const [measure, encoderId, protocol] = key.split('\u0000');
    const of = held.filter((h) => h.measure === measure && h.encoderId === encoderId && h.protocol === protocol);
    for (const [k, p] of of[0].points.entries()) {
      lines.push([measure, encoderId, protocol, `FMR ${p.fmr}`, ...budgets.map((q) => { const h = of.find((x) => x.queries === q); const x = h?.points[k]; return h && x ? `${pct(x.rate)} (${x.accepted}/${h.trials})` : '–'; })]);
    }
  }
  return { head: ['measure', 'encoder', 'protocol', 'threshold', ...budgets.map((q) => `≤ ${q}`)], lines };
}

const HELD_TITLE = 'The face held at each budget';
/** What a held face is, by attack (oracleHeld.ts). */
const heldWords = (o: OracleReport) => heldMeaning(o.attack).caption;

function curveSvg(o: OracleReport, w = 640, h = 280): string {
  const pad = { l: 48, r: 16, t: 12, b: 36 };
  const qs = o.curves[0]?.points.map((p) => p.queries) ?? [];
  if (!qs.length) return '';
  const lo = Math.log10(Math.min(...qs)), hi = Math.log10(Math.max(...qs, 10 ** (lo + 1)));
  const x = (q: number) => pad.l + ((Math.log10(q) - lo) / Math.max(1e-9, hi - lo)) * (w - pad.l - pad.r);
  const y = (r: number) => h - pad.b - r * (h - pad.t - pad.b);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((r) => `<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(r)}" y2="${y(r)}" stroke="#ddd"/><text x="${pad.l - 6}" y="${y(r) + 4}" text-anchor="end" font-size="11">${r * 100} %</text>`).join('');
  const ticks = qs.map((q) => `<text x="${x(q)}" y="${h - pad.b + 16}" text-anchor="middle" font-size="11">${q}</text>`).join('');
  const lines = o.curves.map((c, k) => {
    const col = COLOURS[k % COLOURS.length];
    const pts = c.points.map((p) => `${x(p.queries).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${col}" stroke-width="2" points="${pts}"/>${c.points.map((p) => `<circle cx="${x(p.queries).toFixed(1)}" cy="${y(p.rate).toFixed(1)}" r="3" fill="${col}"/>`).join('')}` +
      `<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(c.lookalike.rate)}" y2="${y(c.lookalike.rate)}" stroke="${col}" stroke-dasharray="5 4"/>`;
  }).join('');
  return `<svg role="img" aria-label="success rate against oracle queries" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">${grid}${ticks}${lines}` +
    `<text x="${(pad.l + w - pad.r) / 2}" y="${h - 4}" text-anchor="middle" font-size="11">oracle queries per subject (log)</text></svg>`;
}

export function oracleHtml(o: OracleReport): string {
  const legend = o.curves.map((c, k) => `<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${COLOURS[k % COLOURS.length]}"/></svg> ${esc(fmrText(c.fmr))} (threshold ${c.threshold.toFixed(3)}): solid = the attack, dashed = the lookalike</li>`).join('');
  const head = `<tr><th>threshold</th>${o.curves[0]?.points.map((p) => `<th>≤ ${p.queries}</th>`).join('') ?? ''}<th>lookalike (template)</th></tr>`;
  const body = o.curves.map((c) => `<tr><td>${esc(fmrText(c.fmr))}</td>${c.points.map((p) => `<td class="num">${pct(p.rate)} (${p.accepted})</td>`).join('')}<td class="num">${pct(c.lookalike.rate)}</td></tr>`).join('');
  const mit = o.mitigations.map((m) => `<tr><td>${esc(m.mitigation)}</td><td>${esc(fmrText(m.fmr))}</td>${m.measured ? `<td class="num">${m.q50 ?? 'not reached'}</td><td class="num">${m.q90 ?? 'not reached'}</td><td class="num">${pct(m.rateAtBudget)}</td>` : '<td colspan="3" class="muted">not measured</td>'}<td class="muted">${esc(m.note ?? '')}</td></tr>`).join('');
  return `<section id="oracle"><h2>What the exposed interface leaks: success against queries</h2>
<p>${esc(o.attack)} — ${esc(o.exposes)}; ${o.subjects} subjects, at most ${o.budget} oracle queries each (${o.queries.toLocaleString('en-US')} in all)${o.failed ? `; ${o.failed} failed at the oracle (counted as not reconstructed)` : ''}.</p>
${o.curves.map((c) => `<p class="headline">${esc(c.sentence)}</p>`).join('')}
${o.curves.length ? `<figure>${curveSvg(o)}<ul class="legend">${legend}</ul></figure><table><thead>${head}</thead><tbody>${body}</tbody></table>` : ''}
${heldHtml(o)}
${o.mitigations.length > o.curves.length ? `<h3>Mitigations</h3><table><thead><tr><th>mitigation</th><th>threshold</th><th>queries to 50 %</th><th>queries to 90 %</th><th>reconstructed within the budget</th><th>note</th></tr></thead><tbody>${mit}</tbody></table>` : ''}
<ul class="muted small">${o.notMeasured.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>`;
}

function heldHtml(o: OracleReport): string {
  const t = heldTable(o);
  if (!t) return '';
  return `<h3>${HELD_TITLE}</h3><p class="muted small">${esc(heldWords(o))}</p><table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${t.lines.map((l) => `<tr>${l.map((c, k) => `<td${k >= 4 ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export function oracleMarkdown(o: OracleReport): string {
  const lines = [`## What the exposed interface leaks: success against queries`, '', `${o.attack} — ${o.exposes}; ${o.subjects} subjects, at most ${o.budget} oracle queries each (${o.queries} in all)${o.failed ? `; ${o.failed} failed at the oracle` : ''}.`, ''];
  for (const c of o.curves) lines.push(`- ${c.sentence}`);
  if (o.curves.length) {
    lines.push('', `| threshold | ${o.curves[0].points.map((p) => `≤ ${p.queries}`).join(' | ')} | lookalike (template) |`, `|---|${o.curves[0].points.map(() => '---|').join('')}---|`);
    for (const c of o.curves) lines.push(`| ${fmrText(c.fmr)} | ${c.points.map((p) => pct(p.rate)).join(' | ')} | ${pct(c.lookalike.rate)} |`);
  }
  const t = heldTable(o);
  if (t) lines.push('', `${HELD_TITLE}: ${heldWords(o)}`, '', `| ${t.head.join(' | ')} |`, `|${t.head.map(() => '---|').join('')}`, ...t.lines.map((l) => `| ${l.join(' | ')} |`));
  if (o.mitigations.length > o.curves.length) {
    lines.push('', '| mitigation | threshold | queries to 50 % | queries to 90 % | within the budget | note |', '|---|---|---|---|---|---|');
    for (const m of o.mitigations) lines.push(`| ${m.mitigation} | ${fmrText(m.fmr)} | ${m.measured ? (m.q50 ?? 'not reached') : 'not measured'} | ${m.measured ? (m.q90 ?? 'not reached') : 'not measured'} | ${m.measured ? pct(m.rateAtBudget) : '–'} | ${m.note ?? ''} |`);
  }
  lines.push('', ...o.notMeasured.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
