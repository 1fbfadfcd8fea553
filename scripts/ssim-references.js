#!/usr/bin/env node
// What SSIM to the target photo means on the VALIDATION side (issue 26), never on the test identities: the SSIM of
// images that reconstruct nothing, or that predict pixels from the template alone, against the same aligned
// originals the reconstructions are scored on — the mean of the attacker's photos, another validation photo of the
// same person, the ridge start (the PCA posterior mean given the template) at three penalties, and template-weighted
// averages of the attacker's 256 photos nearest in the attacked encoder's space (weights exp(κ·cos)).
// The same `ssim` as every evaluation (daemon/evaluation/imageQuality.ts). Tables: docs/search.md, "What SSIM is
// measured against". Usage: npm run build && node scripts/ssim-references.js [n=300]
'use strict';
const path = require('node:path');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { openValidationSide, rowsOf } = require('./validationSide');
const { ssim } = require(O + 'evaluation/imageQuality');
const { meanImage } = require(O + 'evaluation/baselines');
const { exactRowDots } = require(O + 'math/blockDots');
const { fitRidge, applyRidge } = require(O + 'math/ridge');
const { tf } = require(O + 'tfjs/tf');
const { initEngine } = require(O + 'tfjs/backend');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const NT = +(args.n ?? 300), K = 512, NEIGHBOURS = 256;
const toByte = (x) => Math.max(0, Math.min(255, Math.round(x)));

async function main() {
  await initEngine({});
  const { data, S3, d, fitRows, valRows, fitCrops, fitT, pca } = await openValidationSide('arcface512-faceplugin', K);
  // The targets prior-validation.js takes: every k-th validation photo.
  const vr = valRows.filter((_, i) => i % Math.max(1, Math.floor(valRows.length / NT)) === 0).slice(0, NT);
  const vT = rowsOf(vr, data.embeddings, d);
  const photos = vr.map((r) => data.crops.slice(r * S3, (r + 1) * S3));
  const nF = fitRows.length;
  const meanOver = (faces) => faces.reduce((s, f, i) => s + ssim(f, photos[i], 112), 0) / faces.length;
  const row = (what, value, n = vr.length) => console.log(`| ${what} | ${value.toFixed(3)} | ${n} |`);
  console.log(`validation: ${vr.length} targets of ${new Set(vr.map((r) => data.identities[r])).size} identities; the attacker's ${nF} photos`);
  console.log('| image beside each target photo | SSIM | targets |');
  console.log('|---|---|---|');

  const meanFace = meanImage(fitCrops, nF);
  row('the mean of the attacker\'s photos', meanOver(vr.map(() => meanFace)));

  let same = 0, withOther = 0;
  vr.forEach((r, i) => {
    const o = valRows.find((q) => q !== r && data.identities[q] === data.identities[r]);
    if (o === undefined) return;
    same += ssim(data.crops.slice(o * S3, (o + 1) * S3), photos[i], 112);
    withOther++;
  });
  row('another validation photo of the same person', same / withOther, withOther);

  const fitZ = await pca.project(fitCrops, nF);
  for (const lambda of [0.1, 1, 10]) {
    const z = applyRidge(fitRidge(fitT, fitZ, nF, d, K, lambda), vT, vr.length);
    pca.clampLatents(z);
    const t = tf.tidy(() => tf.mul(pca.render(tf.tensor2d(z, [vr.length, K])), 255));
    const px = await t.data();
    t.dispose();
    row(`the ridge start, λ ${lambda}${lambda === 0.1 ? ' (the attack\'s)' : ''}`, meanOver(vr.map((_, i) => Uint8Array.from(px.subarray(i * S3, (i + 1) * S3), toByte))));
  }

  const cosines = vr.map((_, i) => {
    const s = new Float32Array(nF);
    exactRowDots(vT, i * d, fitT, nF, d, (r, x) => { s[r] = x; });
    return s;
  });
  for (const kappa of [10, 20, 40]) {
    const faces = cosines.map((s) => {
      const cut = Float32Array.from(s).sort()[nF - NEIGHBOURS];
      const w = Float64Array.from(s, (x) => (x >= cut ? Math.exp(kappa * x) : 0));
      const total = w.reduce((a, b) => a + b, 0);
      const o = new Float64Array(S3);
      for (let r = 0; r < nF; r++) if (w[r]) { const f = w[r] / total; for (let j = 0; j < S3; j++) o[j] += f * fitCrops[r * S3 + j]; }
      return Uint8Array.from(o, toByte);
    });
    row(`the ${NEIGHBOURS} nearest photos weighted by exp(${kappa}·cos)`, meanOver(faces));
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
