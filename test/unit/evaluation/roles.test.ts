/**
 * Transfer stays transfer (daemon/evaluation/roles.ts, issue 26 item 3): an encoder the attack used in any
 * role (attacked, surrogate, acceptance test, or the same model files under another id) is never a transfer
 * column, the report says which role it played, and `faceinv compare` refuses it as transfer.
 */
import * as assert from 'node:assert/strict';
import { compareTable } from '../../../daemon/evaluation/compare';
import { attackRoles, notTransferReason, roleOf, withAliases } from '../../../daemon/evaluation/roles';
import { reportMarkdown } from '../../../daemon/evaluation/reportMarkdown';
import { runHeadline } from '../../../daemon/protocol/report';
import { syntheticReport } from '../webview/fixture';

const ids = ['a', 'b', 'c', 'd', 'e', 'f'].map((x) => ({ id: x, identity: x.toUpperCase() }));

/** The synthetic report with faceapi-resnet128 as the attack's surrogate and a third, untouched encoder. */
function reportWithSurrogate() {
  const r = syntheticReport('s', ids);
  for (const row of r.rows) if (row.encoderId === 'faceapi-resnet128') { row.transfer = false; row.role = 'surrogate'; }
  const human = r.rows.filter((x) => x.encoderId === 'faceapi-resnet128').map((x) => ({ ...x, encoderId: 'human-faceres', transfer: true, role: 'transfer' as const }));
  r.rows.push(...human);
  r.thresholds.push({ ...r.thresholds[1], encoderId: 'human-faceres' });
  r.encoderRoles = { attacked: 'arcface512-faceplugin', surrogates: ['faceapi-resnet128'], transfer: ['human-faceres'], notes: ['faceapi-resnet128 guided the attack as a surrogate'] };
  return r;
}

describe('evaluation: encoder roles', () => {
  it('reads run.json roles, the older decoder surrogate field included, and refuses a contradiction', () => {
    const roles = attackRoles({ encoderRoles: { attacked: 'arc', surrogates: ['fa'], acceptanceDetector: 'det' }, surrogate: { encoderId: 'old', modelHash: 'h', weight: 1, engine: 'tfjs' } }, 'arc');
    assert.deepEqual(roles.surrogates.sort(), ['fa', 'old']);
    assert.equal(roleOf('arc', roles), 'attacked');
    assert.equal(roleOf('fa', roles), 'surrogate');
    assert.equal(roleOf('old', roles), 'surrogate', 'an older decoder run\'s identity-term encoder is a surrogate');
    assert.equal(roleOf('det', roles), 'acceptance');
    assert.equal(roleOf('human-faceres', roles), 'transfer');
    assert.match(notTransferReason('fa', roles) as string, /surrogate.*never counted as transfer/);
    assert.equal(notTransferReason('human-faceres', roles), null);
    assert.throws(() => attackRoles({ encoderRoles: { attacked: 'other', surrogates: [] } }, 'arc', 'x/run.json'), /x\/run\.json: encoderRoles\.attacked is "other" but the run attacks "arc"/);
    assert.throws(() => attackRoles({ encoderRoles: { attacked: 'arc', surrogates: ['arc'] } }, 'arc'), /both the attacked encoder and a surrogate/);
  });

  it('a copy of a role-played encoder under another id (same model files) is not transfer', () => {
    const hash: Record<string, string> = { arc: 'H1', fa: 'H2', 'fa-copy': 'H2', human: 'H3' };
    const roles = withAliases(attackRoles({ encoderRoles: { attacked: 'arc', surrogates: ['fa'] } }, 'arc'), ['arc', 'fa-copy', 'human'], (id) => hash[id]);
    assert.equal(roleOf('fa-copy', roles), 'surrogate');
    assert.match(notTransferReason('fa-copy', roles) as string, /same model files as fa/);
    assert.equal(roleOf('human', roles), 'transfer');
  });

  it('compare shows only untouched encoders as transfer, at 1e-3 and 1e-4, and refuses a surrogate asked for as transfer', () => {
    const r = reportWithSurrogate();
    const t = compareTable([{ name: 's', report: r }], { protocol: 'redetect' });
    const head = t.split('\n').find((l) => l.startsWith('| method')) as string;
    assert.match(head, /transfer human-faceres type I @1e-3 \| transfer human-faceres type I @1e-4/);
    assert.doesNotMatch(head, /transfer faceapi-resnet128/);
    assert.throws(() => compareTable([{ name: 's', report: r }], { protocol: 'redetect', transfer: ['faceapi-resnet128'] }), /faceapi-resnet128 is not transfer in s: the attack used it as its surrogate encoder/);
  });

  it('the report names the roles and the headline carries transfer at 1e-4 from an untouched encoder', () => {
    const r = reportWithSurrogate();
    const md = reportMarkdown(r);
    assert.match(md, /Roles in the attack: attacked \*\*arcface512-faceplugin\*\*; surrogates faceapi-resnet128;.*transfer \(used in no role\) human-faceres/);
    assert.match(md, /\| faceapi-resnet128 \(surrogate\) \|/);
    assert.match(md, /transfer type I @1e-4/);
    const h = runHeadline(r);
    assert.equal(h.transfer?.encoderId, 'human-faceres');
    assert.equal(typeof h.transfer?.typeI1e4, 'number');
  });
  it('places SSIM among images that reconstruct nothing, and says SSIM favours a blur only where the figures show it', () => {
    const r = reportWithSurrogate();
    const refs = (mean: number, same: number) => [
      { subject: 'mean-face' as const, ssim: mean, psnr: 14, compared: 3 },
      { subject: 'nearest-face' as const, ssim: 0.3, psnr: 12, compared: 3 },
      { subject: 'same-person' as const, ssim: same, psnr: 13, compared: 2 },
    ];
    const blurWins = reportMarkdown({ ...r, imageQuality: { ssim: 0.46, psnr: 14.1, compared: 3, references: refs(0.48, 0.38) } });
    assert.match(blurWins, /SSIM 0\.460, PSNR 14\.10 dB \(3 pairs\)\. The same for images that reconstruct nothing: the mean training face SSIM 0\.480.*another held-out photo of the same person SSIM 0\.380, PSNR 13\.00 dB \(2 pairs\)\. The mean face scores above/);
    const personWins = reportMarkdown({ ...r, imageQuality: { ssim: 0.46, psnr: 14.1, compared: 3, references: refs(0.3, 0.5) } });
    assert.match(personWins, /another held-out photo of the same person SSIM 0\.500/);
    assert.doesNotMatch(personWins, /The mean face scores above/);
    // Reports written before the references still read.
    assert.match(reportMarkdown({ ...r, imageQuality: { ssim: 0.46, psnr: 14.1, compared: 3 } }), /SSIM 0\.460, PSNR 14\.10 dB \(3 pairs\)\.\n/);
  });
});
