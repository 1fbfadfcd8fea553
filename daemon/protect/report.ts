/**
 * The protection report: report.json (every number) and a self-contained report.html like the audit's — a
 * table comparing the schemes (and no protection) row by row, the verdict sentences, the DET curves, the
 * unlinkability figure per scheme, and faces (victim photo, stolen-key and key-unknown reconstructions).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { ProtectConfig } from '../protocol/protectConfig';
import type { RateAt, RowResult } from './evaluate';
import type { Interval, Unlinkability } from './metrics';
import { COLOURS, detSvg, unlinkabilitySvg } from './plots';
import { verdicts } from './verdict';

export interface ProtectReportInput {
  config: ProtectConfig;
  rows: RowResult[];
  subjects: { identities: number; photos: number; genuinePairs: number; impostorPairs: number };
  attacker: { photos: number; identities: number };
  victimCrops: Map<string, Uint8Array>;
  faceSize: number;
  seconds: { total: number; setup: number; perRow: Record<string, number> };
  command: string;
  encoder: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(x > 0 && x < 0.01 ? 2 : 1)}`);

/** A rate with its 95 % interval, per cent: `1.2 [0.8–1.9]`. */
const withCi = (x: number | undefined, ci: Interval | undefined) => (ci && !Number.isNaN(ci[0]) ? `${pct(x)} <span class="ci">[${pct(ci[0])}–${pct(ci[1])}]</span>` : pct(x));
/** D↔sys with its subject-bootstrap interval. */
const dsysCell = (u: Unlinkability) => (u.dsysCI && !Number.isNaN(u.dsysCI[0]) ? `${u.dsys.toFixed(3)} <span class="ci">[${u.dsysCI[0].toFixed(3)}–${u.dsysCI[1].toFixed(3)}]</span>` : u.dsys.toFixed(3));
/** SAR type I / II with type II's Wilson interval. */
const sar = (p: RateAt) => `${pct(p.typeI)} / ${withCi(p.typeII, p.typeIICI)}`;

async function png(px: Uint8Array, S: number): Promise<string> {
  const buf = await sharp(Buffer.from(px.buffer, px.byteOffset, px.length), { raw: { width: S, height: S, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${buf.toString('base64')}`;
}

export function reportJson(i: ProtectReportInput): object {
  return {
    version: 1, name: i.config.name, encoder: i.encoder, command: i.command, seconds: i.seconds, subjects: i.subjects, attacker: i.attacker,
    operatingPoints: i.config.operatingPoints,
    rows: i.rows.map((r) => ({
      id: r.id, label: r.label, paper: r.paper, template: r.template, seconds: r.seconds,
      accuracy: {
        normal: { eer: r.accuracy.normal.eer, points: r.accuracy.normal.points, intervals: r.accuracy.normal.intervals, genuine: r.accuracy.normal.genuine, impostor: r.accuracy.normal.impostor },
        stolenKey: r.accuracy.stolenKey && { eer: r.accuracy.stolenKey.eer, points: r.accuracy.stolenKey.points, intervals: r.accuracy.stolenKey.intervals },
      },
      unlinkability: { dsys: r.unlinkability.dsys, dsysCI: r.unlinkability.dsysCI, bins: r.unlinkability.bins, omega: r.unlinkability.omega, matedPairs: r.unlinkability.matedPairs, nonMatedPairs: r.unlinkability.nonMatedPairs },
      attack: r.attack, renewability: r.renewability, verdicts: verdicts(r),
    })),
  };
}

export async function writeProtectReport(dir: string, i: ProtectReportInput): Promise<{ html: string; json: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  fs.writeFileSync(json, `${JSON.stringify(reportJson(i), null, 2)}\n`);
  const fmrs = i.config.operatingPoints;
  const head = ['scheme', 'template', ...fmrs.map((f) => `FNMR % @${f} normal`), 'EER % normal', ...fmrs.map((f) => `FNMR % @${f} stolen key`), 'EER % stolen key', 'D↔sys',
    ...fmrs.map((f) => `stolen-key faces SAR I / II % @${f} (protected op.)`), ...fmrs.map((f) => `nearest-face baseline SAR I / II % @${f}`),
    ...fmrs.map((f) => `stolen-key faces SAR I / II % @${f} (unprotected op.)`), ...fmrs.map((f) => `key-unknown faces SAR I / II % @${f}`),
    ...fmrs.map((f) => `renewal: old template / its face match new % @${f}`), 'mean cos(face, victim)', 'seconds'];
  const rowsHtml = i.rows.map((r) => {
    const a = r.attack;
    const cells = [
      `<b>${esc(r.label)}</b>${r.paper ? `<div class="paper">${esc(r.paper)}</div>` : ''}`, esc(r.template),
      ...r.accuracy.normal.points.map((p, k) => withCi(p.fnmr, r.accuracy.normal.intervals?.fnmr[k])), withCi(r.accuracy.normal.eer, r.accuracy.normal.intervals?.eer),
      ...fmrs.map((_, k) => withCi(r.accuracy.stolenKey?.points[k].fnmr, r.accuracy.stolenKey?.intervals?.fnmr[k])), withCi(r.accuracy.stolenKey?.eer, r.accuracy.stolenKey?.intervals?.eer), dsysCell(r.unlinkability),
      ...a.stolenKey.protectedOp.map(sar), ...a.baseline.protectedOp.map(sar),
      ...a.stolenKey.unprotectedOp.map(sar), ...fmrs.map((_, k) => (a.keyUnknown ? sar(a.keyUnknown.protectedOp[k]) : '–')),
      ...fmrs.map((_, k) => (r.renewability ? `${pct(r.renewability.oldMatchesNew[k].rate)} / ${pct(r.renewability.reconstructionMatchesNew[k].rate)}` : '–')),
      a.stolenKey.meanCosine.toFixed(3), r.seconds.toFixed(0),
    ];
    return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  }).join('\n');
  const det = detSvg(i.rows.flatMap((r, k) => [
    { label: `${r.label}${r.id === 'none' ? '' : ' (normal)'}`, fmr: r.accuracy.normal.det.fmr, fnmr: r.accuracy.normal.det.fnmr, colour: COLOURS[k % COLOURS.length] },
    ...(r.accuracy.stolenKey ? [{ label: 'stolen key', fmr: r.accuracy.stolenKey.det.fmr, fnmr: r.accuracy.stolenKey.det.fnmr, colour: COLOURS[k % COLOURS.length], dashed: true }] : []),
  ]), `DET curves, ${i.subjects.identities} held-out subjects (solid: normal, dashed: stolen key)`);
  const unl = i.rows.map((r) => unlinkabilitySvg(r.unlinkability, r.label)).join('\n');
  const S = i.faceSize;
  const faceRows: string[] = [];
  const byVictim = new Map<string, { label: string; stolen: Uint8Array; unknown: Uint8Array | null }[]>();
  for (const r of i.rows) for (const f of r.faces) {
    const l = byVictim.get(f.victim) ?? [];
    l.push({ label: r.label, stolen: f.stolenKey, unknown: f.keyUnknown });
    byVictim.set(f.victim, l);
  }
  for (const [victim, list] of byVictim) {
    const crop = i.victimCrops.get(victim);
    const cells = [`<figure>${crop ? `<img src="${await png(crop, S)}">` : ''}<figcaption>${esc(victim)}</figcaption></figure>`];
    for (const f of list) {
      cells.push(`<figure><img src="${await png(f.stolen, S)}"><figcaption>${esc(f.label)}${f.label === 'No protection' ? '' : ': stolen key'}</figcaption></figure>`);
      if (f.unknown) cells.push(`<figure><img src="${await png(f.unknown, S)}"><figcaption>${esc(f.label)}: key unknown</figcaption></figure>`);
    }
    faceRows.push(`<div class="faces">${cells.join('')}</div>`);
  }
  const verdictHtml = i.rows.map((r) => `<li>${verdicts(r).map(esc).join('<br>')}</li>`).join('');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Template protection — ${esc(i.config.name)}</title>
<style>body{font-family:sans-serif;margin:1.5em;max-width:1500px;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:3px 5px;text-align:right;vertical-align:top}td:first-child{text-align:left}th{background:#f3f3f3}.paper{font-size:10px;color:#666;max-width:260px}.ci{font-size:10px;color:#666;white-space:nowrap}.faces{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0}figure{margin:0;width:${S + 8}px;font-size:10px;text-align:center}figure img{width:${S}px;height:${S}px}.figs{display:flex;flex-wrap:wrap;gap:12px}code{background:#f5f5f5}</style></head><body>
<h1>Template protection: ${esc(i.config.name)}</h1>
<p>ISO/IEC 30136's four properties for each scheme, on ${i.subjects.photos} photos of ${i.subjects.identities} held-out subjects (${i.subjects.genuinePairs.toLocaleString('en-US')} genuine, ${i.subjects.impostorPairs.toLocaleString('en-US')} impostor pairs) embedded by <b>${esc(i.encoder)}</b>; the attacker owns ${i.attacker.photos} photos of ${i.attacker.identities} other people (the training side of the split). Every subject has their own key (normal scenario); in the stolen-key scenario impostors use the victim's key. Thresholds are each system's own at the FMR. SAR type I: the face is compared with the stolen template; type II: with the victim's other photo. Victims: ${i.rows[0]?.attack.victims ?? 0} per scheme. Total ${(i.seconds.total / 60).toFixed(1)} min.</p>
<h2>Verdicts</h2><ul>${verdictHtml}</ul>
<h2>Schemes compared</h2><table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>
${rowsHtml}</table>
<p>Brackets are 95 % intervals: for FNMR and EER a bootstrap over subjects (${i.rows[0]?.accuracy.normal.intervals?.resamples ?? 0} resamples; each resample redraws the subjects, recomputes the threshold at the FMR and the rates), for SAR type II Wilson's interval over the victims (one trial per victim). SAR values are per cent of victims; the "protected op." columns enrol the face under the victim's key and compare it at the protected system's threshold, the "unprotected op." columns compare its embedding with the victim's by cosine at the unprotected system's threshold. Renewal: the victim's key is replaced and they enrol again (their second photo); "old template" = does the stolen template still match, "its face" = does the face reconstructed from it (with the old key), enrolled under the new key, match.</p>
<h2>Accuracy: DET curves</h2>${det}
<h2>Unlinkability (Gomez-Barrero et al., IEEE TIFS 2018)</h2><div class="figs">${unl}</div>
<h2>Faces</h2><p>The victim's photo, then per scheme the face inverted from the stolen template with the stolen key, and the key-unknown attacker's face.</p>${faceRows.join('\n')}
<h2>Reproduce</h2><pre>${esc(i.command)}</pre><pre>${esc(JSON.stringify(i.config, null, 2))}</pre>
</body></html>`;
  const htmlFile = path.join(dir, 'report.html');
  fs.writeFileSync(htmlFile, html);
  return { html: htmlFile, json };
}
