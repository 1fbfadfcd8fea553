/**
 * Plain sentences per scheme and operating point: did it resist? A scheme "resists the stolen-key
 * inversion" at an FMR when the inverted faces are accepted (type II, at the protected system's threshold) no
 * more often than the nearest-face baseline's lookalikes, and those lookalikes pass for fewer than 5 % (else the
 * stolen key alone breaks it, inversion or not); "resists without the key" when fewer than 5 % of
 * the key-unknown faces are accepted; "renews" when fewer than 5 % of old templates match the new enrolment.
 */
import type { RowResult } from './evaluate';

export const RESIST_LIMIT = 0.05;
const pct = (x: number) => `${(100 * x).toFixed(x > 0 && x < 0.01 ? 1 : 0)} %`;

export function verdicts(r: RowResult): string[] {
  const out: string[] = [];
  r.attack.stolenKey.protectedOp.forEach((p, k) => {
    const b = r.attack.baseline.protectedOp[k];
    const u = r.attack.stolenKey.unprotectedOp[k];
    if (r.id === 'none') {
      out.push(`FMR ${p.fmr}: no protection — the inverted faces are accepted for ${pct(p.typeII)} of the victims (type II; type I ${pct(p.typeI)}), the nearest-face lookalike for ${pct(b.typeII)}.`);
      return;
    }
    const stolen = b.typeII >= RESIST_LIMIT && p.typeII <= b.typeII
      ? `falls to the stolen key alone: the nearest-face lookalike enrolled under it is accepted for ${pct(b.typeII)} of the victims (the inverted face for ${pct(p.typeII)})`
      : p.typeII > b.typeII
      ? `did NOT resist the stolen-key inversion: ${pct(p.typeII)} of the inverted faces accepted (type II) vs ${pct(b.typeII)} for the nearest-face baseline`
      : `resisted the stolen-key inversion: ${pct(p.typeII)} accepted (type II), no better than the nearest-face baseline's ${pct(b.typeII)}`;
    const unk = r.attack.keyUnknown?.protectedOp[k];
    const unknown = unk ? (unk.typeII < RESIST_LIMIT ? `resisted the key-unknown attack (${pct(unk.typeII)})` : `did NOT resist the key-unknown attack (${pct(unk.typeII)} accepted)`) : '';
    const ren = r.renewability;
    const renew = ren ? (ren.oldMatchesNew[k].rate < RESIST_LIMIT ? `renewal works for the template (${pct(ren.oldMatchesNew[k].rate)} of old templates match the new enrolment)` : `renewal fails: ${pct(ren.oldMatchesNew[k].rate)} of old templates still match the new enrolment`) +
      `, but ${pct(ren.reconstructionMatchesNew[k].rate)} of the faces reconstructed from the old template match it` : '';
    out.push(`FMR ${p.fmr}: ${r.label} ${stolen}; at the unprotected system's threshold the same faces pass for ${pct(u.typeII)}; ${unknown}; ${renew}.`);
  });
  return out;
}
