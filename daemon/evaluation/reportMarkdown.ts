/**
 * `evaluation/report.md`: the report as a reader meets it — thresholds with their support, then one table
 * per protocol in which each attack row sits above the baseline rows of the same encoder, every rate with
 * its count and Wilson 95 % interval. Failures are named ("no face"), never printed as NaN.
 */
import type { EvaluationReport, Rate, ScoreRow } from '../protocol/report';
import { PROTOCOLS, SUBJECTS } from '../protocol/report';

const SUBJECT_LABEL: Record<string, string> = { attack: 'attack', 'nearest-face': 'baseline: nearest training face', 'mean-face': 'baseline: mean face' };

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
    r.imageQuality.ssim !== null ? `Pixel similarity to the aligned source: SSIM ${r.imageQuality.ssim.toFixed(3)}, PSNR ${(r.imageQuality.psnr as number).toFixed(2)} dB (${r.imageQuality.compared} pairs).` : '',
    '',
    '## Thresholds',
    '',
    `| scored by | ${pts.map((p) => `FMR ${fmtFmr(p)}`).join(' | ')} |`,
    `|---|${pts.map(() => '---').join('|')}|`,
    ...r.thresholds.map((t) => `| ${t.encoderId} (${t.images} photos, ${t.points[0]?.impostorPairs ?? 0} impostor pairs) | ` +
      `${t.points.map((p) => `${p.threshold.toFixed(3)} (${p.impostorsAbove} above${p.lowSupport ? ' †' : ''})`).join(' | ')} |`),
    '',
    '† fewer than 20 impostor scores lie above this threshold: the operating point is not reliably measured on this test set.',
    '',
  ];
  for (const protocol of PROTOCOLS) {
    lines.push(`## Protocol \`${protocol}\`${protocol === 'direct' ? ' (the reconstruction goes straight to each encoder, warped by the mean face geometry)' : ' (detection + landmarks + alignment, as a real photo)'}`, '');
    lines.push(`| subject | scored by | ${pts.map((p) => `type I @${fmtFmr(p)}`).join(' | ')} | ${pts.map((p) => `type II @${fmtFmr(p)}`).join(' | ')} | rank-1 | failed |`);
    lines.push(`|---|---|${pts.map(() => '---').join('|')}|${pts.map(() => '---').join('|')}|---|---|`);
    for (const t of r.thresholds) {
      for (const subject of SUBJECTS) {
        const row = r.rows.find((x) => x.subject === subject && x.protocol === protocol && x.encoderId === t.encoderId);
        if (!row) continue;
        const enc = `${row.encoderId}${row.transfer ? ' (transfer)' : ''}`;
        lines.push(`| ${subject === 'attack' ? '**attack**' : SUBJECT_LABEL[subject]} | ${enc} | ` +
          `${row.typeI.map((x, k) => fmtRate(x) + mark(row.encoderId, k)).join(' | ')} | ` +
          `${row.typeII.perPair.map((x, k) => fmtRate(x, false) + mark(row.encoderId, k)).join(' | ')} | ` +
          `${fmtRate(row.rank1, false)} | ${failuresText(row)} |`);
      }
    }
    lines.push('');
  }
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
      '(a failed reconstruction fails all its pairs). Intervals: Wilson 95 % (type II per pair: pairs are not independent, see the identity bootstrap above). ' +
      'A comparison succeeds when its cosine is above the threshold set at the FMR on all cross-identity pairs of the test identities\' photos.',
    '',
  );
  return lines.join('\n');
}

/** A compact summary of a report for job results and logs: per row, type I and type II (per pair) rates by operating point. */
export function reportSummary(r: EvaluationReport): { probes: number; operatingPoints: number[]; rows: { subject: string; protocol: string; encoderId: string; typeI: (number | null)[]; typeII: (number | null)[] }[] } {
  return {
    probes: r.probes,
    operatingPoints: r.operatingPoints,
    rows: r.rows.map((x) => ({ subject: x.subject, protocol: x.protocol, encoderId: x.encoderId, typeI: x.typeI.map((t) => t.rate), typeII: x.typeII.perPair.map((t) => t.rate) })),
  };
}
