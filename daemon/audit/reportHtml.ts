/**
 * The audit's report, in the three forms a reviewer needs: report.json (AuditReport, reportSchema.ts),
 * templates.csv (every template's scores), and report.html — one self-contained file to hand over: the
 * verdict, the verdict tables per protocol with intervals beside the lookalike baseline, transfer, the
 * score-distribution plot as inline SVG, a grid of reconstructions with their scores (PNG data URIs), cost
 * (route, queries per template, wall time), calibration, a paged list of every template, and what
 * reproduces the audit (config, encoder hash, versions, seeds). Its Content-Security-Policy allows nothing
 * but its own inline style, its one inline script (by hash) and data: images, so it opens offline and
 * cannot fetch anything.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import type { AuditConfig } from '../protocol/auditConfig';
import type { EncoderConfigEntry } from '../encoders/registry';
import type { RouteDecision } from '../encoders/judge';
import type { ScoreDistribution } from '../protocol/report';
import { writeFileAtomic, writeJsonAtomic } from '../runs/runFolder';
import type { PcaFaceModel } from '../attack/faceModel/pca';
import type { Calibration } from './calibration';
import { AUDIT_FILES } from './chunks';
import { distributionPlot, distributionSvg } from '../protocol/distribution';
import type { ReferenceEmbeddings, ReferenceSet } from './reference';
import { sampleSizeFor, type SampleInfo } from './sample';
import { oracleReport } from './oracleCurve';
import { oracleHtml, oracleMarkdown } from './oracleHtml';
import type { AuditReport, AuditVerdict, TemplateResult } from './reportSchema';
import { distributionFor, passesAt, rowCounts, verdictsFor, type ScorerSummaryInput } from './summary';
import type { TemplateStore } from './templateStore';
import { fmrText, VERDICT_CLASS_TEXT } from '../protocol/verdict';

export interface ReportTransfer {
  entry: EncoderConfigEntry;
  calibration: Calibration;
  calibrationCached: boolean;
  ref: ReferenceEmbeddings;
}

export interface ReportInput {
  auditDir: string;
  config: AuditConfig;
  state: 'finished' | 'partial';
  entry: EncoderConfigEntry;
  hash: string;
  decision: RouteDecision;
  method: string;
  store: TemplateStore;
  results: TemplateResult[];
  ref: ReferenceSet;
  refA: ReferenceEmbeddings;
  calA: { calibration: Calibration; cached: boolean };
  transfers: ReportTransfer[];
  pca: PcaFaceModel;
  chunks: { size: number; total: number; done: number };
  scoringQueries: number;
  workSeconds: number;
  sessionSeconds: number;
  command: string;
  engine: string;
  versions: Record<string, string>;
  http: (readonly [string, unknown])[];
  /** A sampled audit (sample.ts). */
  sample?: SampleInfo;
  /** Who inverted the chunks (queue workers, or this process). */
  workers?: AuditReport['workers'];
}

const GRID_SIZE = 24;

function summaryInput(c: Calibration, transfer: boolean, ref: ReferenceSet): ScorerSummaryInput {
  return { encoderId: c.encoderId, transfer, points: c.points, genuine: c.genuine, impostor: c.impostor, pairsFrom: ref.description };
}

/** The threat model's oracle step (issue 25), when there was one: what the recovered templates are worth, and who failed. */
export function oracleSummary(results: readonly TemplateResult[]): string | null {
  const rows = results.filter((r) => r.oracle);
  if (!rows.length) return null;
  if (rows[0].oracle?.attack !== 'score-least-squares') return searchSummary(rows);
  const cos = rows.map((r) => r.oracle?.recoveredCosine).filter((c): c is number => c !== undefined).sort((a, b) => a - b);
  const queries = rows.reduce((a, r) => a + (r.oracle?.queries ?? 0), 0);
  const failed = rows.filter((r) => r.oracle?.error && r.oracle.recoveredCosine === undefined);
  const partial = rows.filter((r) => r.oracle?.error && r.oracle.recoveredCosine !== undefined).length;
  const kinds = new Map<string, number>();
  for (const r of failed) { const k = (r.oracle?.error ?? '').split(':')[0]; kinds.set(k, (kinds.get(k) ?? 0) + 1); }
  const med = cos.length ? cos[Math.floor(cos.length / 2)] : Number.NaN;
  return `Threat model ${rows[0].oracle?.attack}: ${cos.length} of ${rows.length} subjects' templates recovered from the system's answers (${queries.toLocaleString('en-US')} oracle queries in all; recovered template's cosine to the enrolled one: median ${med.toFixed(4)}, lowest ${cos.length ? cos[0].toFixed(4) : '–'})` +
    (partial ? `; ${partial} subjects were locked out mid-way and recovered from the answers before it` : '') +
    (failed.length ? `; ${failed.length} subjects failed at the oracle (${[...kinds].map(([k, v]) => `${v} ${k}`).join(', ')}), counted as not accepted` : '') + '. The lookalike baseline is the reference photo nearest to the enrolled template.';
}

/** The oracle searches' note: queries spent, and who failed at the oracle (the curve is the report's oracle section). */
function searchSummary(rows: readonly TemplateResult[]): string {
  const queries = rows.reduce((a, r) => a + (r.oracle?.queries ?? 0), 0);
  const kinds = new Map<string, number>();
  for (const r of rows.filter((x) => x.oracle?.error)) { const k = (r.oracle?.error ?? '').split(':')[0]; kinds.set(k, (kinds.get(k) ?? 0) + 1); }
  const failed = rows.filter((r) => r.failure?.startsWith('oracle:')).length;
  return `Threat model ${rows[0].oracle?.attack}: ${rows.length} subjects asked of the system, ${queries.toLocaleString('en-US')} oracle queries in all` +
    (kinds.size ? `; oracle errors: ${[...kinds].map(([k, v]) => `${v} ${k}`).join(', ')}${failed ? ` (${failed} subjects never got a face to score, counted as not accepted)` : ''}` : '') + '. The success-vs-queries curve is in the oracle section.';
}

export function buildAuditReport(i: ReportInput): AuditReport {
  const { config, results } = i;
  const sA = summaryInput(i.calA.calibration, false, i.ref);
  const verdicts: AuditVerdict[] = [...verdictsFor(results, sA, 0), ...i.transfers.flatMap((t, k) => verdictsFor(results, summaryInput(t.calibration, true, i.ref), k + 1))];
  const counts = rowCounts(results);
  const q = results.filter((r) => !r.skipped && r.queries !== undefined).map((r) => r.queries as number);
  const cals = [{ c: i.calA.calibration, cached: i.calA.cached }, ...i.transfers.map((t) => ({ c: t.calibration, cached: t.calibrationCached }))];
  const unattainable = cals.flatMap(({ c }) => c.points.filter((p) => !p.attainable).map((p) => ({ encoderId: c.encoderId, fmr: p.fmr, impostorPairs: c.impostorPairs, needed: Math.ceil(1 / p.fmr) })));
  const grid = results.filter((r) => r.image && r.attack).slice(0, GRID_SIZE).map((r) => ({
    row: r.row, id: r.id, image: r.image as string, ...(r.nearest ? { nearestRel: r.nearest.rel, nearest: { direct: r.nearest.direct, redetect: r.nearest.redetect } } : {}),
    attack: r.attack as NonNullable<TemplateResult['attack']>, passesAt: passesAt(r, i.calA.calibration.points),
  }));
  const notes: string[] = [];
  if (i.state === 'partial') notes.push(`Partial: ${i.chunks.done} of ${i.chunks.total} chunks are scored; the figures cover those templates only. Run the audit again to continue.`);
  const skipped = Object.entries(counts.skipped);
  if (skipped.length) notes.push(`${skipped.reduce((a, [, v]) => a + v, 0)} rows of the store could not be audited (${skipped.map(([k, v]) => `${v} ${k}`).join(', ')}); they are listed in templates.csv and left out of every rate.`);
  if (counts.unnormalised) notes.push(`${counts.unnormalised} templates were not of unit length and were normalised before use (cosine does not depend on the scale).`);
  if (counts.failed) notes.push(`${counts.failed} templates' inversions were cut short (${Object.entries(counts.failures).map(([k, v]) => `${v} ${k}`).join(', ')}); their best reconstruction so far is scored like any other.`);
  for (const u of unattainable) notes.push(`FMR ${fmrText(u.fmr)} is not measurable with ${u.encoderId} on this reference set: ${u.impostorPairs.toLocaleString('en-US')} impostor pairs, at least ${u.needed.toLocaleString('en-US')} needed (${(20 * u.needed).toLocaleString('en-US')} for a well-supported threshold).`);
  for (const { c } of cals) for (const p of c.points.filter((x) => x.attainable && x.lowSupport)) notes.push(`${c.encoderId}'s threshold at FMR ${fmrText(p.fmr)} rests on ${p.impostorsAbove} impostor scores above it (fewer than 20): approximate.`);
  const oracleNote = oracleSummary(results);
  if (oracleNote) notes.push(oracleNote);
  const oracle = config.threat ? oracleReport(results, config.threat, exposesText(config.threat), [sA, ...i.transfers.map((t) => summaryInput(t.calibration, true, i.ref))]) : null;
  if (config.reference.path === 'lfw' && !config.reference.split) notes.push('The reference set is all of LFW: if the store holds public figures who are in LFW, the lookalike baseline may find their own photos.');
  if (i.decision.route === 'blackbox') notes.push('Every face sent to the audited encoder is an 8-bit image, as a real system receives it; scoring queries (reconstructions and lookalikes, both protocols) are counted apart from the attack\'s budget.');
  const sample = i.sample ? sampleBlock(i.sample, verdicts, config.margin) : undefined;
  if (sample) notes.unshift(sample.sentence);
  const e = i.entry.config;
  return {
    format: 'faceinv-audit-report', version: 1, createdAt: new Date().toISOString(), name: config.name, state: i.state,
    encoder: { id: e.id, format: e.format, hash: i.hash, embeddingDim: e.embeddingDim, description: e.description, source: e.source },
    route: { chosen: i.decision.route, requested: i.decision.requested, reason: i.decision.reason },
    method: i.method,
    templates: { file: i.store.file, sha256: i.store.sha256, format: i.store.format, rows: i.store.rows, audited: counts.audited, skipped: counts.skipped, unnormalised: counts.unnormalised, failed: counts.failed, failures: counts.failures },
    reference: { description: i.ref.description, key: i.ref.key, images: i.refA.rels.length, identities: new Set(i.refA.identities).size, failed: i.refA.failed },
    operatingPoints: config.operatingPoints,
    unattainable,
    calibration: cals.map(({ c, cached }) => ({ encoderId: c.encoderId, encoderHash: c.encoderHash, images: c.reference.images, identities: c.reference.identities, genuinePairs: c.genuinePairs, impostorPairs: c.impostorPairs, cached, seconds: c.seconds })),
    verdicts,
    distribution: distributionFor(results, sA, 0),
    transferDistributions: i.transfers.map((t, k) => distributionFor(results, summaryInput(t.calibration, true, i.ref), k + 1)),
    cost: {
      queriesPerTemplate: q.length ? q.reduce((a, b) => a + b, 0) / q.length : null,
      maxQueriesPerTemplate: q.length ? Math.max(...q) : null,
      budget: i.decision.route === 'blackbox' && config.search.method !== 'none' ? config.budget : null,
      stepsPerTemplate: i.decision.route === 'whitebox' ? config.whitebox.steps : null,
      scoringQueries: i.scoringQueries,
      workSeconds: i.workSeconds,
      sessionSeconds: i.sessionSeconds,
      ...(i.http.length ? { http: Object.fromEntries(i.http) } : {}),
    },
    chunks: i.chunks,
    ...(sample ? { sample } : {}),
    ...(i.workers ? { workers: i.workers } : {}),
    ...(oracle ? { oracle } : {}),
    grid,
    reproduce: { config, command: i.command, seed: config.seed, faceModel: i.pca.describe(), versions: i.versions, engine: i.engine },
    notes,
  };
}

/** What a sampled verdict says: the headline rate with its interval, and the sample a chosen margin needs. */
function sampleBlock(info: SampleInfo, verdicts: AuditVerdict[], margin: number): NonNullable<AuditReport['sample']> {
  const head = verdicts[0]?.points.find((p) => p.attainable);
  const r = head?.attack;
  const worstCase = sampleSizeFor(margin, 0.5, info.of);
  const atObservedRate = r && r.rate !== null ? sampleSizeFor(margin, r.rate, info.of) : null;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rateText = r && r.rate !== null && r.ci && head
    ? `at FMR ${fmrText(head.fmr)} (${verdicts[0].protocol}) the sample's rate is ${pct(r.rate)}, 95 % CI ${pct(r.ci[0])}–${pct(r.ci[1])} (Wilson): the store's rate lies in it with 95 % confidence`
    : 'no rate yet';
  const sentence = `A seeded random sample of ${info.n.toLocaleString('en-US')} of the store's ${info.of.toLocaleString('en-US')} templates (seed ${info.seed}${info.reason === 'default' ? ', the default for a store this size' : ''}): ${rateText}. `
    + `A 95 % interval of ±${(100 * margin).toFixed(1)} points needs ${worstCase.toLocaleString('en-US')} templates at worst (p = 0.5)${atObservedRate !== null ? `, ${atObservedRate.toLocaleString('en-US')} at the observed rate` : ''} (--sample N, --margin).`;
  return { n: info.n, of: info.of, seed: info.seed, reason: info.reason, margin, needed: { worstCase, atObservedRate }, sentence };
}

// ---------------------------------------------------------------------------------------------------------
// CSV

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(6)) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function templatesCsv(results: readonly TemplateResult[], report: AuditReport): string {
  const points = report.verdicts[0]?.points.filter((p) => p.attainable) ?? [];
  const head = ['row', 'id', 'status', 'queries', 'attack_redetect', 'attack_direct', 'lookalike', 'lookalike_redetect', 'lookalike_direct', ...points.map((p) => `accepted_redetect_fmr_${fmrText(p.fmr)}`), 'note'];
  const lines = [head.join(',')];
  for (const r of results) {
    const status = r.skipped ? 'skipped' : r.failure ? 'cut-short' : 'audited';
    const note = r.skipped ?? [r.failure, r.note, r.attack?.redetect.failure ? `redetect: ${r.attack.redetect.failure}` : undefined].filter(Boolean).join('; ');
    lines.push([r.row, r.id, status, r.queries, r.attack?.redetect.cosine, r.attack?.direct.cosine, r.nearest?.rel, r.nearest?.redetect.cosine, r.nearest?.direct.cosine,
      ...points.map((p) => (r.skipped ? '' : r.attack?.redetect.cosine !== null && r.attack?.redetect.cosine !== undefined && r.attack.redetect.cosine > p.threshold ? 1 : 0)), note].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------
// HTML

function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const pct = (x: number | null) => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);
const ciText = (c: [number, number] | null) => (c ? `${(100 * c[0]).toFixed(1)}–${(100 * c[1]).toFixed(1)}` : '');
const cosText = (s: { cosine: number | null; failure?: string } | undefined) => (!s ? '—' : s.cosine === null ? (s.failure?.split(':')[0] ?? 'failed') : s.cosine.toFixed(3));

function verdictTable(v: AuditVerdict): string {
  const rows = v.points.map((p) => `<tr class="${p.attainable ? p.class : 'unmeasured'}"><td>${fmrText(p.fmr)}</td>` +
    (p.attainable
      ? `<td class="num">${p.threshold.toFixed(3)}${p.lowSupport ? ' †' : ''}</td><td class="num">${p.impostorsAbove}</td>` +
        `<td class="num"><b>${p.attack.successes} / ${p.attack.trials}</b> · ${pct(p.attack.rate)} <span class="ci">[${ciText(p.attack.ci)}]</span></td>` +
        `<td class="num">${p.baseline.successes} / ${p.baseline.trials} · ${pct(p.baseline.rate)} <span class="ci">[${ciText(p.baseline.ci)}]</span></td><td>${esc(VERDICT_CLASS_TEXT[p.class])}</td>`
      : '<td colspan="5" class="muted">not measurable: the reference set has too few impostor pairs for this FMR</td>') + '</tr>').join('');
  return `<table class="verdict"><thead><tr><th>FMR</th><th>threshold</th><th>impostors above</th><th>reconstructions accepted</th><th>lookalikes accepted</th><th>reading</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p class="muted small">Mean cosine to the template: reconstructions ${v.meanCosine === null ? 'n/a' : v.meanCosine.toFixed(3)}, lookalikes ${v.baselineMeanCosine === null ? 'n/a' : v.baselineMeanCosine.toFixed(3)}.` +
    `${Object.keys(v.failures).length ? ` Not scored (count as not accepted): ${Object.entries(v.failures).map(([k, n]) => `${n} ${esc(k)}`).join(', ')}.` : ''}</p>`;
}

function legend(d: ScoreDistribution): string {
  const p = distributionPlot(d);
  return `<ul class="legend">${p.series.map((s) => `<li><svg width="26" height="10" aria-hidden="true"><line x1="0" y1="5" x2="26" y2="5" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/></svg> ${esc(s.label)} <span class="muted">(${s.total.toLocaleString('en-US')}${s.missing ? `, ${s.missing} without a score` : ''})</span></li>`).join('')}</ul>`;
}

function plotBlock(d: ScoreDistribution, title: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption>${distributionSvg(distributionPlot(d, 720, 320))}${legend(d)}<p class="muted small">Genuine and impostor pairs: ${esc(d.pairsFrom)}. Each curve is a share of its own count per bin of 0.02 (log scale), so a few hundred reconstructions sit beside millions of impostor pairs; dotted lines: the thresholds.</p></figure>`;
}

async function pngDataUri(raw: Uint8Array, size: number): Promise<string> {
  const buf = await sharp(Buffer.from(raw.buffer, raw.byteOffset, raw.length), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
  return `data:image/png;base64,${buf.toString('base64')}`;
}

/** The paging script (inline; its hash goes into the page's CSP). Reads the JSON rows block, draws 100 a page. */
const PAGER_JS = `(function(){
var rows=JSON.parse(document.getElementById('rows').textContent);var per=100,page=0,filter='all';
var body=document.getElementById('list-body'),info=document.getElementById('list-info');
function f(v){return v===null?'':typeof v==='number'?v.toFixed(3):String(v);}
function keep(r){return filter==='all'||(filter==='accepted'&&r[7]!==null)||(filter==='rejected'&&r[7]===null&&r[2]!=='skipped')||(filter==='skipped'&&r[2]==='skipped');}
function draw(){var list=rows.filter(keep);var pages=Math.max(1,Math.ceil(list.length/per));if(page>=pages)page=pages-1;
while(body.firstChild)body.removeChild(body.firstChild);
list.slice(page*per,(page+1)*per).forEach(function(r){var tr=document.createElement('tr');
[r[0],r[1],r[2],r[3],f(r[4]),f(r[5]),r[6],f(r[8]),r[7]===null?'':'1e'+Math.round(Math.log10(r[7])),r[9]].forEach(function(c){var td=document.createElement('td');td.textContent=c===null||c===undefined?'':String(c);tr.appendChild(td);});body.appendChild(tr);});
info.textContent='page '+(page+1)+' of '+pages+' \\u00b7 '+list.length+' templates';}
document.getElementById('prev').addEventListener('click',function(){if(page>0){page--;draw();}});
document.getElementById('next').addEventListener('click',function(){page++;draw();});
document.getElementById('filter').addEventListener('change',function(e){filter=e.target.value;page=0;draw();});
draw();})();`;

const CSS = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px}
.muted{color:#666}.small{font-size:12px}.ci{color:#666;font-size:12px}
.headline{font-size:16px;background:#fff8e1;border-left:4px solid #f9a825;padding:10px 14px}
.headline.leaks{background:#ffebee;border-color:#c62828}.headline.resists{background:#e8f5e9;border-color:#2e7d32}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}td.num{text-align:right;white-space:nowrap}
tr.leaks td:last-child{color:#c62828;font-weight:600}tr.unmeasured td{color:#888}
.grid{display:flex;flex-wrap:wrap;gap:10px}.cell{border:1px solid #ddd;padding:6px;width:240px;font-size:12px}.cell img{width:112px;height:112px;image-rendering:pixelated}
.cell.ok{border-color:#c62828}ul.legend{list-style:none;padding:0;columns:2;font-size:12px}pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
figure{margin:0}figcaption{font-weight:600;margin:8px 0}svg.distribution{max-width:100%;height:auto;font-family:inherit}
#list table{font-size:12px}`;

export async function renderAuditHtml(report: AuditReport, results: readonly TemplateResult[], images: { dir: string; nearest: (rel: string) => Uint8Array | undefined; size: number }): Promise<string> {
  const main = report.verdicts.filter((v) => !v.transfer);
  const redetect = main.find((v) => v.protocol === 'redetect') as AuditVerdict;
  const head = redetect.points.find((p) => p.attainable && Math.abs(p.fmr - 1e-4) < 1e-12) ?? redetect.points.find((p) => p.attainable);
  const cells: string[] = [];
  for (const g of report.grid) {
    const file = path.join(images.dir, g.image);
    const recon = fs.existsSync(file) ? `data:image/png;base64,${fs.readFileSync(file).toString('base64')}` : '';
    const near = g.nearestRel ? images.nearest(g.nearestRel) : undefined;
    const nearUri = near ? await pngDataUri(near, images.size) : '';
    cells.push(`<div class="cell${g.passesAt !== null ? ' ok' : ''}"><div>${recon ? `<img alt="reconstruction of ${esc(g.id)}" src="${recon}">` : ''}${nearUri ? `<img alt="lookalike ${esc(g.nearestRel)}" src="${nearUri}">` : ''}</div>` +
      `<div><b>${esc(g.id)}</b> — ${g.passesAt !== null ? `accepted down to FMR ${fmrText(g.passesAt)}` : 'not accepted'}</div>` +
      `<div>reconstruction: redetect ${cosText(g.attack.redetect)}, direct ${cosText(g.attack.direct)}</div>` +
      `<div class="muted">lookalike ${esc(g.nearestRel ?? '')}: redetect ${cosText(g.nearest?.redetect)}, direct ${cosText(g.nearest?.direct)}</div></div>`);
  }
  const pts = redetect.points.filter((p) => p.attainable);
  const thr = [...pts].sort((a, b) => a.fmr - b.fmr);
  const rowsJson = JSON.stringify(results.map((r) => {
    let pass: number | null = null;
    for (const p of thr) if (!r.skipped && r.attack?.redetect.cosine !== null && r.attack?.redetect.cosine !== undefined && r.attack.redetect.cosine > p.threshold) { pass = p.fmr; break; }
    return [r.row, r.id, r.skipped ? 'skipped' : r.failure ? 'cut short' : 'audited', r.queries ?? null, r.attack?.redetect.cosine ?? null, r.attack?.direct.cosine ?? null,
      r.nearest?.rel ?? '', pass, r.nearest?.redetect.cosine ?? null, r.skipped ?? r.failure ?? r.note ?? r.attack?.redetect.failure ?? ''];
  })).replace(/</g, '\\u003c');
  const scriptHash = crypto.createHash('sha256').update(PAGER_JS).digest('base64');
  const styleHash = crypto.createHash('sha256').update(CSS).digest('base64');
  const csp = `default-src 'none'; img-src data:; style-src 'sha256-${styleHash}'; script-src 'sha256-${scriptHash}'; base-uri 'none'; form-action 'none'`;
  const c = report.cost;
  const transfer = report.verdicts.filter((v) => v.transfer);
  const m = report.reproduce;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Template store audit: ${esc(report.name)}</title><style>${CSS}</style></head>
<body>
<h1>Template store audit: ${esc(report.name)}</h1>
<p class="muted">${esc(report.createdAt)} · encoder <b>${esc(report.encoder.id)}</b> (${esc(report.encoder.format)}) · ${report.templates.audited.toLocaleString('en-US')} templates audited of ${report.templates.rows.toLocaleString('en-US')} · ${report.state === 'finished' ? 'complete' : `<b>partial: ${report.chunks.done} of ${report.chunks.total} chunks</b>`}</p>
<section id="verdict"><h2>Verdict (ISO/IEC 30136 irreversibility)</h2>
${head ? `<p class="headline ${head.class}" data-testid="headline">${esc(head.sentence)}</p>` : '<p class="headline">No operating point is measurable on this reference set.</p>'}
<ul>${redetect.points.filter((p) => p !== head).map((p) => `<li>${esc(p.sentence)}</li>`).join('')}</ul>
<p class="muted small">Accepted: the reconstruction, re-detected and aligned as a real photo, has a cosine to its own template above the threshold calibrated at that false match rate on the reference set. The lookalike is the reference photo whose template is nearest to the target — what an attacker gets with no inversion at all.</p>
${transfer.filter((v) => v.protocol === 'redetect').map((v) => `<p><b>Transfer to ${esc(v.encoderId)}</b> (${v.templates} templates with a template there): ${v.points.filter((p) => p.attainable).map((p) => esc(p.sentence)).join(' ')}</p>`).join('')}
</section>
${report.oracle ? oracleHtml(report.oracle) : ''}
<section id="tables"><h2>Verdict tables</h2>
${main.map((v) => `<h3>${v.protocol === 'redetect' ? 'Re-detected (detection, landmarks, alignment: as a real photo)' : 'Direct (the reconstruction straight into the encoder)'} — ${esc(v.encoderId)}, ${v.templates} templates</h3>${verdictTable(v)}`).join('')}
${transfer.map((v) => `<h3>Transfer: ${esc(v.encoderId)}, ${v.protocol}, ${v.templates} templates</h3>${verdictTable(v)}`).join('')}
<p class="muted small">Intervals: Wilson 95 %. † a threshold resting on fewer than 20 impostor scores above it.</p>
</section>
<section id="distribution"><h2>Score distribution</h2>
${plotBlock(report.distribution, `${report.encoder.id}: real photos, reconstructions and lookalikes`)}
${report.transferDistributions.map((d) => plotBlock(d, `Transfer: ${d.encoderId}`)).join('')}
</section>
<section id="grid"><h2>Reconstructions</h2><p class="muted small">Each cell: the reconstruction from the template (left) and the lookalike from the reference set (right), with their cosines to the template; a red border marks a reconstruction the system accepts. Shown: the first ${report.grid.length} of the kept sample.</p>
<div class="grid">${cells.join('')}</div></section>
<section id="cost"><h2>Route and cost</h2><table>
<tr><th>route</th><td>${esc(report.route.chosen)} (requested ${esc(report.route.requested)}): ${esc(report.route.reason)}</td></tr>
<tr><th>attack</th><td>${esc(report.method)}</td></tr>
<tr><th>queries per template</th><td>${c.queriesPerTemplate === null ? (c.stepsPerTemplate !== null ? `white box: ${c.stepsPerTemplate} gradient steps per template` : 'none') : `${c.queriesPerTemplate.toFixed(1)} on average, at most ${c.maxQueriesPerTemplate} (budget ${c.budget})`}; ${c.scoringQueries.toLocaleString('en-US')} more faces sent to score</td></tr>
<tr><th>wall time</th><td>${(c.workSeconds / 60).toFixed(1)} min of attack and scoring over every session; this session ${(c.sessionSeconds / 60).toFixed(1)} min</td></tr>
<tr><th>reference set</th><td>${esc(report.reference.description)}; ${report.reference.images.toLocaleString('en-US')} photos embedded (${report.reference.failed} not usable)</td></tr>
${report.calibration.map((k) => `<tr><th>calibration ${esc(k.encoderId)}</th><td>${k.genuinePairs.toLocaleString('en-US')} genuine and ${k.impostorPairs.toLocaleString('en-US')} impostor pairs of ${k.images.toLocaleString('en-US')} photos of ${k.identities.toLocaleString('en-US')} people${k.cached ? ' (cached)' : ''}</td></tr>`).join('')}
<tr><th>chunks</th><td>${report.chunks.done} of ${report.chunks.total} (size ${report.chunks.size})</td></tr>
${report.workers?.length ? `<tr><th>workers</th><td>${report.workers.map((w) => `${esc(w.name)}: ${w.chunks} chunks, ${w.templates.toLocaleString('en-US')} templates, ${(w.seconds / 60).toFixed(1)} min`).join('; ')}</td></tr>` : ''}
${c.http ? `<tr><th>HTTP</th><td><pre>${esc(JSON.stringify(c.http, null, 1))}</pre></td></tr>` : ''}
</table>${report.notes.length ? `<h3>Notes</h3><ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}</section>
<section id="list"><h2>Every template</h2>
<p><label>show <select id="filter"><option value="all">all</option><option value="accepted">accepted</option><option value="rejected">not accepted</option><option value="skipped">skipped rows</option></select></label>
<button id="prev" type="button">‹ previous</button> <button id="next" type="button">next ›</button> <span id="list-info" class="muted"></span></p>
<table><thead><tr><th>row</th><th>id</th><th>status</th><th>queries</th><th>redetect</th><th>direct</th><th>lookalike</th><th>lookalike redetect</th><th>accepted down to FMR</th><th>note</th></tr></thead><tbody id="list-body"></tbody></table>
<p class="muted small">Also in templates.csv beside this file.</p>
<script type="application/json" id="rows">${rowsJson}</script>
</section>
<section id="reproduce"><h2>Reproduce</h2><table>
<tr><th>command</th><td><code>${esc(m.command)}</code></td></tr>
<tr><th>encoder</th><td>${esc(report.encoder.id)} — ${esc(report.encoder.description)} (${esc(report.encoder.source)}); hash <code>${esc(report.encoder.hash)}</code></td></tr>
<tr><th>template store</th><td>${esc(report.templates.file)} (${esc(report.templates.format)}), SHA-256 <code>${esc(report.templates.sha256)}</code></td></tr>
<tr><th>face model</th><td>${esc(m.faceModel)}</td></tr>
<tr><th>seed</th><td>${m.seed}</td></tr>
<tr><th>engine</th><td>${esc(m.engine)}</td></tr>
<tr><th>versions</th><td>${Object.entries(m.versions).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(', ')}</td></tr>
</table><h3>Config</h3><pre>${esc(JSON.stringify(m.config, null, 2))}</pre></section>
<script>${PAGER_JS}</script>
</body></html>
`;
}

/** What the system exposes, in words, for the oracle section. */
function exposesText(t: NonNullable<AuditConfig['threat']>): string {
  const o = t.oracle;
  const what = o.kind === 'decision' ? `accept / reject${o.threshold !== undefined ? ` at ${o.threshold}` : ''}` : `scores${o.decimals !== undefined ? ` rounded to ${o.decimals} decimals` : ''}${o.noise ? ` with noise sd ${o.noise}` : ''}`;
  return `${what}, ${o.service ? `asked of the service at ${o.service.url}` : 'simulated over the store'}; the attacker holds encoder "${t.attacker.encoder}"`;
}

/** report.md: the verdict sentences, the oracle section, the notes. */
export function reportMarkdown(r: AuditReport): string {
  const main = r.verdicts.find((v) => !v.transfer && v.protocol === 'redetect');
  return [`# Template store audit: ${r.name}`, '', `${r.templates.audited} templates audited of ${r.templates.rows}; encoder ${r.encoder.id}; ${r.state}.`, '',
    ...(main?.points.filter((p) => p.attainable).map((p) => `- ${p.sentence}`) ?? []), '', ...(r.oracle ? [oracleMarkdown(r.oracle)] : []),
    '## Notes', '', ...r.notes.map((n) => `- ${n}`), ''].join('\n');
}

/** Builds the report and writes report.json, templates.csv and report.html into the audit folder. */
export async function writeAuditReport(i: ReportInput): Promise<{ report: AuditReport; files: { json: string; html: string; csv: string; md: string } }> {
  const report = buildAuditReport(i);
  const files = { json: path.join(i.auditDir, AUDIT_FILES.report), html: path.join(i.auditDir, AUDIT_FILES.html), csv: path.join(i.auditDir, AUDIT_FILES.csv), md: path.join(i.auditDir, AUDIT_FILES.md) };
  writeJsonAtomic(files.json, report);
  writeFileAtomic(files.csv, templatesCsv(i.results, report));
  writeFileAtomic(files.md, reportMarkdown(report));
  const row = new Map(i.refA.rels.map((r, k) => [r, k]));
  const S = i.pca.frame.size, S3 = S * S * 3;
  const crops = i.refA.crops;
  const html = await renderAuditHtml(report, i.results, {
    dir: path.join(i.auditDir, AUDIT_FILES.images), size: S,
    nearest: (rel) => { const k = row.get(rel); return k === undefined || !crops ? undefined : crops.subarray(k * S3, (k + 1) * S3); },
  });
  writeFileAtomic(files.html, html);
  return { report, files };
}
