#!/usr/bin/env node
// The LFW check of `faceinv audit`, second half: puts an audit's type I rates next to the evaluation
// of the same attack on the same 300 held-out targets, per encoder, protocol and operating point, for the
// attack and the nearest-face baseline, and says whether each audit rate lies inside the evaluation's Wilson
// 95 % interval (and the evaluation's inside the audit's). Exit 1 when an attack rate of the audited encoder
// falls outside the evaluation's interval.
//
//   node scripts/lfw-audit-compare.js AUDIT_DIR/report.json RUN_DIR/evaluation/report.json [--markdown]
'use strict';
const fs = require('node:fs');

const [auditFile, evalFile] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const markdown = process.argv.includes('--markdown');
if (!auditFile || !evalFile) {
  console.error('usage: node scripts/lfw-audit-compare.js AUDIT/report.json RUN/evaluation/report.json [--markdown]');
  process.exit(2);
}
const audit = JSON.parse(fs.readFileSync(auditFile, 'utf8'));
const evaluation = JSON.parse(fs.readFileSync(evalFile, 'utf8'));

const pct = (r) => `${(100 * r.rate).toFixed(1)} %`;
const ci = (r) => (r.ci ? `${(100 * r.ci[0]).toFixed(1)}–${(100 * r.ci[1]).toFixed(1)}` : '–');
const inside = (r, other) => !!other.ci && r.rate >= other.ci[0] - 1e-12 && r.rate <= other.ci[1] + 1e-12;
const fmrText = (f) => `1e${Math.round(Math.log10(f))}`;

const lines = [];
let outside = 0;
if (markdown) {
  lines.push('| scored by | protocol | FMR | subject | audit | audit 95 % CI | evaluation | evaluation 95 % CI | audit in eval. CI | eval. in audit CI |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
}
for (const v of audit.verdicts) {
  for (const p of v.points) {
    if (!p.attainable) continue;
    const k = evaluation.operatingPoints.findIndex((f) => Math.abs(f - p.fmr) <= p.fmr * 1e-9);
    if (k < 0) continue;
    for (const [subject, mine] of [['attack', p.attack], ['nearest-face', p.baseline]]) {
      const row = evaluation.rows.find((r) => r.subject === subject && r.protocol === v.protocol && r.encoderId === v.encoderId);
      if (!row) continue;
      const theirs = row.typeI[k];
      const a = inside(mine, theirs), b = inside(theirs, mine);
      if (subject === 'attack' && !v.transfer && !a) outside++;
      const cells = [`${v.encoderId}${v.transfer ? ' (transfer)' : ''}`, v.protocol, fmrText(p.fmr), subject === 'attack' ? 'attack' : 'lookalike / nearest training face',
        `${pct(mine)} (${mine.successes}/${mine.trials})`, ci(mine), `${pct(theirs)} (${theirs.successes}/${theirs.trials})`, ci(theirs), a ? 'yes' : 'no', b ? 'yes' : 'no'];
      lines.push(markdown ? `| ${cells.join(' | ')} |` : cells.join('  '));
    }
  }
}
const thr = (id) => {
  const a = audit.verdicts.find((v) => v.encoderId === id)?.points ?? [];
  const e = evaluation.thresholds.find((t) => t.encoderId === id)?.points ?? [];
  return a.filter((p) => p.attainable).map((p) => {
    const q = e.find((x) => Math.abs(x.fmr - p.fmr) <= p.fmr * 1e-9);
    return `${id} @${fmrText(p.fmr)}: audit ${p.threshold.toFixed(3)} (reference set), evaluation ${q ? q.threshold.toFixed(3) : '–'} (held-out photos)`;
  });
};
const ids = [...new Set(audit.verdicts.map((v) => v.encoderId))];
lines.push('', 'thresholds:', ...ids.flatMap(thr).map((s) => `  ${s}`));
console.log(lines.join('\n'));
console.log(outside ? `\n${outside} attack rate(s) of the audited encoder outside the evaluation's interval` : '\nevery attack rate of the audited encoder lies inside the evaluation\'s 95 % interval');
process.exit(outside ? 1 : 0);
