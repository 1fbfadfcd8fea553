/**
 * `evaluation/report.md`: the report as a reader meets it — the headline (type II per identity, transfer at
 * 1e-3 and 1e-4, with identity-bootstrap intervals whose thresholds are recomputed per resample), the roles
 * each encoder played, thresholds with their support, then one table per protocol in which each attack row
 * sits above the baseline and control rows of the same encoder, then realism. Failures are named ("no face"),
 * never printed as NaN.
 */
import type { EvaluationReport, ProtocolInfo, Rate, ScoreRow } from '../protocol/report';
import { pointIndex, PROTOCOLS, SUBJECTS } from '../protocol/report';

const SUBJECT_LABEL: Record<string, string> = {
  attack: 'attack', 'nearest-face': 'baseline: nearest training face', 'mean-face': 'baseline: mean face',
  'real-crop': 'control: the target\'s real aligned crop',
};

const PROTOCOL_TITLE: Record<string, string> = {
  direct: 'the reconstruction goes straight to each encoder, warped by the mean face geometry',
  redetect: 'detection + landmarks + alignment by the project\'s pipeline, as a real photo',
  independent: 'detection + landmarks + alignment by face-api\'s SSD MobileNet v1, a detector the attack never used',
};

/** "[12.3–45.6]" of a fraction interval, or "" without one. */
function ci(x: [number, number] | null | undefined): string {
  return x ? ` [${pct1(x[0])}–${pct1(x[1])}]` : '';
}

function roleText(row: ScoreRow): string {
  const role = row.role ?? (row.transfer ? 'transfer' : 'attacked');
  return role === 'attacked' ? '' : ` (${role})`;
}

function protocolLine(p: ProtocolInfo | undefined): string {
  if (!p || !p.detector) return '';
  const missed = Object.entries(p.notFound).map(([k, v]) => `${v} ${k}`).join(', ');
  return `Detector ${p.detector}${p.canvas ? ` on a canvas ${p.canvas.factor}× the crop, filled with ${p.canvas.fill}` : ''}; ` +
    `${p.usedByAttack ? '**the attack used this detector** (its acceptance test)' : 'the attack never used this detector'}. Not found as a face: ${missed || 'none'}.`;
}

export function fmtFmr(fmr: number): string {
  const e = Math.round(Math.log10(fmr));
  return Math.abs(fmr - 10 ** e) <= fmr * 1e-9 ? `1e${e}` : String(fmr);
}

function pct1(x: number): string {
  return `${(100 * x).toFixed(1)}`;
}

/** "97.7 % [96.1–98.6]" (or "n/a" without trials). */
export function fmtRate(r: Rate, withCi = true): string {
  if (r.rate === null) return 'n/a';
  return `${pct1(r.rate)} %${withCi && r.ci ? ` [${pct1(r.ci[0])}–${pct1(r.ci[1])}]` : ''}`;
}

function failuresText(row: ScoreRow): string {
  if (!row.failed) return '0';
  return `${row.failed} (${Object.entries(row.failures).map(([k, v]) => `${v} ${k}`).join(', ')})`;
}

export function reportMarkdown(r: EvaluationReport): string {
  const pts = r.operatingPoints;
  const lowSupport = (enc: string, k: number) => r.thresholds.find((t) => t.encoderId === enc)?.points[k]?.lowSupport ?? false;
  const mark = (enc: string, k: number) => (lowSupport(enc, k) ? '†' : '');
  const lines = [
    `# Attack evaluation: ${r.run}`,
    '',
    `${r.method}. Attacked encoder **${r.attackedEncoderId}** (${r.route} route). ${r.probes} held-out targets of ${r.identities} identities ` +
      `(${r.singleImageIdentities} of them have a single image: no type II pairs, left out of rank-1). Reconstructions in the ${r.frame.template} frame at ${r.frame.size} px.`,
    [
      r.attackSeconds !== undefined ? `Attack wall time ${(r.attackSeconds / 60).toFixed(1)} min` : '',
      r.queriesPerTarget !== undefined ? `${r.queriesPerTarget.toFixed(0)} encoder queries per target` : '',
      r.optimiserMeanCosine !== undefined ? `the optimiser's own mean cosine ${r.optimiserMeanCosine.toFixed(3)} (before the evaluation pipeline; not a score)` : '',
    ].filter(Boolean).join('; ') + (r.attackSeconds !== undefined || r.queriesPerTarget !== undefined || r.optimiserMeanCosine !== undefined ? '.' : ''),
    pixelSimilarityLine(r.imageQuality),
    '',
    ...headline(r),
    ...rolesSection(r),
    '## Thresholds',
    '',
    `| scored by | ${pts.map((p) => `FMR ${fmtFmr(p)}`).join(' | ')} |`,
    `|---|${pts.map(() => '---').join('|')}|`,
    ...r.thresholds.map((t) => `| ${t.encoderId} (${t.images} photos, ${t.points[0]?.impostorPairs ?? 0} impostor pairs) | ` +
      `${t.points.map((p) => `${p.threshold.toFixed(3)}${p.bootstrapCi ? ` [${p.bootstrapCi[0].toFixed(3)}–${p.bootstrapCi[1].toFixed(3)}]` : ''} (${p.impostorsAbove} above${p.lowSupport ? ' †' : ''})`).join(' | ')} |`),
    '',
    '† fewer than 20 impostor scores lie above this threshold: the operating point is not reliably measured on this test set.',
    '',
  ];
  for (const protocol of PROTOCOLS) {
    const notScored = r.protocols?.find((p) => p.protocol === protocol)?.notScored;
    if (notScored) lines.push(`## Protocol \`${protocol}\` (${PROTOCOL_TITLE[protocol]}): not scored`, '', `Not scored in this evaluation: ${notScored}.`, '');
    if (!r.rows.some((x) => x.protocol === protocol)) continue;
    lines.push(`## Protocol \`${protocol}\` (${PROTOCOL_TITLE[protocol]})`, '');
    const info = protocolLine(r.protocols?.find((p) => p.protocol === protocol));
    if (info) lines.push(info, '');
    lines.push(`| subject | scored by | ${pts.map((p) => `type I @${fmtFmr(p)}`).join(' | ')} | ${pts.map((p) => `type II per identity @${fmtFmr(p)}`).join(' | ')} | ${pts.map((p) => `type II per pair @${fmtFmr(p)}`).join(' | ')} | rank-1 | failed |`);
    lines.push(`|---|---|${pts.map(() => '---').join('|')}|${pts.map(() => '---').join('|')}|${pts.map(() => '---').join('|')}|---|---|`);
    for (const t of r.thresholds) {
      for (const subject of SUBJECTS) {
        const row = r.rows.find((x) => x.subject === subject && x.protocol === protocol && x.encoderId === t.encoderId);
        if (!row) continue;
        const b = row.bootstrap;
        lines.push(`| ${subject === 'attack' ? '**attack**' : SUBJECT_LABEL[subject]} | ${row.encoderId}${roleText(row)} | ` +
          `${row.typeI.map((x, k) => fmtRate(x, !b) + (b ? ci(b.typeI[k]) : '') + mark(row.encoderId, k)).join(' | ')} | ` +
          `${row.typeII.perIdentity.map((x, k) => (x === null ? 'n/a' : `${pct1(x)} %${b ? ci(b.typeIIPerIdentity[k]) : ''}`) + mark(row.encoderId, k)).join(' | ')} | ` +
          `${row.typeII.perPair.map((x, k) => fmtRate(x, false) + (b ? ci(b.typeIIPerPair[k]) : '') + mark(row.encoderId, k)).join(' | ')} | ` +
          `${fmtRate(row.rank1, false)} | ${failuresText(row)} |`);
      }
    }
    lines.push('');
  }
  lines.push(...realismSection(r));
  const a = r.rows.find((x) => x.subject === 'attack' && x.protocol === 'redetect' && !x.transfer);
  if (a) {
    const k3 = pts.findIndex((p) => Math.abs(p - 1e-3) < 1e-12);
    lines.push(`Type II counts: ${a.typeII.pairs} pairs from ${a.typeII.probesWithPairs} targets of ${a.typeII.identitiesWithPairs} identities` +
      (k3 >= 0 && a.typeII.perProbe[k3] !== null ? `; at FMR 1e-3 the attack's type II is ${pct1(a.typeII.perProbe[k3] as number)} % averaged per target and ${pct1(a.typeII.perIdentity[k3] as number)} % per identity` +
        (a.typeII.perPairClusterCi[k3] ? ` (per pair ${fmtRate(a.typeII.perPair[k3], false)}, identity-bootstrap 95 % interval ${pct1((a.typeII.perPairClusterCi[k3] as [number, number])[0])}–${pct1((a.typeII.perPairClusterCi[k3] as [number, number])[1])} %)` : '') : '') +
      `. Rank-1 is over the ${a.rank1.trials} targets whose identity has another test photo (${a.rank1Excluded} cannot be identified and are left out).`, '');
  }
  lines.push(
    'Type I: the reconstruction against the template of its own source photo. Type II: against every other photo of the same person ' +
      '(a failed reconstruction fails all its pairs), averaged per identity (the headline: a few people with many photos dominate the pairs) and per pair. ' +
      (r.bootstrap
        ? `Intervals in brackets: identity bootstrap, 95 % percentile, ${r.bootstrap.resamples} resamples of the ${r.bootstrap.identities} test identities (seed ${r.bootstrap.seed}); ` +
          'every resample recomputes the thresholds from its identities\' impostor pairs, so they carry the threshold\'s own uncertainty and the clustering of targets by person. '
        : 'Intervals: Wilson 95 % (type II per pair: pairs are not independent, see the identity bootstrap above). ') +
      'A comparison succeeds when its cosine is above the threshold set at the FMR on all cross-identity pairs of the test identities\' photos.',
    '',
  );
  return lines.join('\n');
}

/** The headline: attack type I @1e-4, type II per identity @1e-3 (per pair beside), transfer @1e-3 and @1e-4, per detector protocol. */
function headline(r: EvaluationReport): string[] {
  const k3 = pointIndex(r, 1e-3), k4 = pointIndex(r, 1e-4);
  if (k3 < 0 || k4 < 0) return [];
  const out = ['## Headline', '', '| protocol | type I @1e-4 | type II per identity @1e-3 | type II per pair @1e-3 | ' +
    'transfer type I @1e-3 | transfer type I @1e-4 | nearest-face type I @1e-4 |', '|---|---|---|---|---|---|---|'];
  for (const protocol of ['redetect', 'independent'] as const) {
    const a = r.rows.find((x) => x.subject === 'attack' && x.protocol === protocol && x.encoderId === r.attackedEncoderId);
    if (!a) continue;
    const n = r.rows.find((x) => x.subject === 'nearest-face' && x.protocol === protocol && x.encoderId === r.attackedEncoderId);
    const transfer = r.rows.filter((x) => x.subject === 'attack' && x.protocol === protocol && x.transfer);
    const b = a.bootstrap;
    const tr = (k: number) => transfer.map((t) => `${t.encoderId} ${fmtRate(t.typeI[k], !t.bootstrap)}${ci(t.bootstrap?.typeI[k])}`).join('; ') || 'none (no encoder the attack never used)';
    const pi = a.typeII.perIdentity[k3];
    out.push(`| \`${protocol}\` | ${fmtRate(a.typeI[k4], !b)}${ci(b?.typeI[k4])} | **${pi === null ? 'n/a' : `${pct1(pi)} %`}**${ci(b?.typeIIPerIdentity[k3])} | ` +
      `${fmtRate(a.typeII.perPair[k3], false)}${ci(b?.typeIIPerPair[k3])} | ${tr(k3)} | ${tr(k4)} | ${n ? fmtRate(n.typeI[k4], false) : '—'} |`);
  }
  return [...out, ''];
}

/** Which encoder played which part in the attack; only the transfer ones are transfer columns. */
function rolesSection(r: EvaluationReport): string[] {
  const e = r.encoderRoles;
  if (!e) return [];
  return [
    `Roles in the attack: attacked **${e.attacked}**; surrogates ${e.surrogates.length ? e.surrogates.join(', ') : 'none'}; ` +
      `acceptance test ${e.acceptanceDetector ?? 'none'}; transfer (used in no role) ${e.transfer.length ? e.transfer.join(', ') : 'none'}.` +
      (e.notes.length ? ` ${e.notes.map((n) => `${n.charAt(0).toUpperCase()}${n.slice(1)}.`).join(' ')}` : ''),
    '',
  ];
}

function realismSection(r: EvaluationReport): string[] {
  const x = r.realism;
  if (!x) return [];
  return [
    `## Realism: Fréchet distance to the targets' real crops in ${x.encoderId}'s ${x.dim}-d space`, '',
    `Embeddings through \`${x.protocol}\`; ${x.why}. Covariances shrunk toward a scaled identity (Ledoit–Wolf; intensities: ${x.shrinkage}); ` +
      `intervals: ±1.96 identity-bootstrap standard errors (${x.resamples} resamples). Lower is more like the real photos; real faces of other people set the scale.`, '',
    '| images | samples | Fréchet distance |', '|---|---|---|',
    ...x.rows.map((row) => `| ${row.subject === 'attack' ? '**attack**' : SUBJECT_LABEL[row.subject]} | ${row.samples} | ${row.frechet.toFixed(4)}${row.ci ? ` [${row.ci[0].toFixed(4)}–${row.ci[1].toFixed(4)}]` : ''} |`),
    '',
  ];
}

/** A compact summary of a report for job results and logs: per row, type I and type II (per pair) rates by operating point. */
export function reportSummary(r: EvaluationReport): { probes: number; operatingPoints: number[]; rows: { subject: string; protocol: string; encoderId: string; typeI: (number | null)[]; typeII: (number | null)[] }[] } {
  return {
    probes: r.probes,
    operatingPoints: r.operatingPoints,
    rows: r.rows.map((x) => ({ subject: x.subject, protocol: x.protocol, encoderId: x.encoderId, typeI: x.typeI.map((t) => t.rate), typeII: x.typeII.perPair.map((t) => t.rate) })),
  };
}

const REFERENCE_NAMES = { 'mean-face': 'the mean training face', 'nearest-face': 'the nearest training face', 'same-person': 'another held-out photo of the same person' } as const;

/** SSIM / PSNR of the reconstructions, then of the images that reconstruct nothing, so that a reader can place the figure. */
function pixelSimilarityLine(q: EvaluationReport['imageQuality']): string {
  if (q.ssim === null) return '';
  const fig = (x: { ssim: number | null; psnr: number | null; compared: number }) => `SSIM ${(x.ssim as number).toFixed(3)}, PSNR ${(x.psnr as number).toFixed(2)} dB (${x.compared} pairs)`;
  const refs = (q.references ?? []).filter((x) => x.ssim !== null).map((x) => `${REFERENCE_NAMES[x.subject]} ${fig(x)}`);
  const ssimOf = (subject: string) => q.references?.find((x) => x.subject === subject)?.ssim ?? null;
  const mean = ssimOf('mean-face'), same = ssimOf('same-person');
  // Said only where the figures show it: then SSIM ranks a blur above the person.
  const caveat = mean !== null && same !== null && mean > same
    ? ' The mean face scores above another photo of the same person: SSIM here measures pose, light and background more than identity.' : '';
  return `Pixel similarity to the aligned source: ${fig(q)}.` + (refs.length ? ` The same for images that reconstruct nothing: ${refs.join('; ')}.${caveat}` : '');
}
