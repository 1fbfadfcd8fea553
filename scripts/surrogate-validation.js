#!/usr/bin/env node
// Chooses the surrogate-guided search's settings on a VALIDATION split, never on the test identities:
// the default split's training identities (seed 0, 20 % held out for test) are split again, 10 % of them
// held out for validation; the PCA face model, the ridge start and the surrogate's template map are fitted on
// the rest, and validation photos are the targets. Each variant runs the real search (daemon/attack/search)
// with the same query budget; the table gives the attacked encoder's mean cosine at the start and at the end,
// and the identity seen by the surrogate (face-api's centred cosine between the reconstruction and the
// target photo: biased toward variants that use it, so the attacked encoder's cosine decides).
// Usage: npm run build && node scripts/surrogate-validation.js [n=32] [q=100] [k=512] [v=none,w0.5u0,w0.5u30]
//   k: the PCA face model's components (its size ablation, on the same validation targets)
//   variant wWuU[lL][dD][rR][sS]: surrogate weight W, U warm-up steps at learning rate L (default 0.05), D probe
//   pairs a step (default 2), search learning rate R (default 0.1), probe radius S (default 0.5); "none[dD][rR][sS]": queries only;
//   "sec[wWuU][aA][nN][fF][mM]": the secant search (daemon/attack/search/secant.ts) after the same warm-up, trust radius A (1), window N
//   (32), forward model on F own queries (8 × k), its output metric's λ M (1) as a share of A·Aᵀ's mean eigenvalue.
//   maps=KIND/λ/PHOTOS,…: the surrogate's template map (search.surrogate map / mapLambda / fitPhotos), each variant
//   run once per map (default ridge/0.1/3000, the main job's; scripts/surrogate-map-validation.js compares maps offline).
'use strict';
const path = require('node:path');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { openValidationSide, rowsOf } = require('./validationSide');
const { fitRidge, applyRidge } = require(O + 'math/ridge');
const { openSurrogatePrior, centreRows } = require(O + 'attack/search/surrogatePrior');
const { QueryOracle } = require(O + 'attack/search/oracle');
const { querySearch } = require(O + 'attack/search/querySearch');
const { loadEncoder, loadEncoderById } = require(O + 'encoders/load');
const { findEncoderConfig } = require(O + 'encoders/registry');
const { resolveSurrogate, openSurrogate, surrogateTargets } = require(O + 'decoder/surrogate');
const { tf } = require(O + 'tfjs/tf');
const { encoderThresholds } = require(O + 'evaluation/thresholds');
const { initEngine } = require(O + 'tfjs/backend');
const { detectIndependent, redetectedCrops, embedCrops } = require(O + 'evaluation/protocols');
const { FaceApiAnalyzer } = require(O + 'data/faceApiDetector');
const { ssim } = require(O + 'evaluation/imageQuality');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const NT = +(args.n ?? 32), Q = +(args.q ?? 100), K = +(args.k ?? 512), ATTACKED = 'arcface512-faceplugin', SURROGATE = 'faceapi-resnet128';
const mean = (a) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;

async function main() {
  await initEngine({});
  const { ds, frame, data, val, S3, d, fitRows, valRows, fitCrops, fitT, pca } = await openValidationSide(ATTACKED, K);
  const ridge = fitRidge(fitT, await pca.project(fitCrops, fitRows.length), fitRows.length, d, K, 0.1);
  const vr = valRows.filter((_, i) => i % Math.max(1, Math.floor(valRows.length / NT)) === 0).slice(0, NT);
  const vT = rowsOf(vr, data.embeddings, d);
  const targets = vr.map((_, i) => vT.slice(i * d, (i + 1) * d));
  // Type I on validation: the attacked encoder's thresholds from the validation photos' impostor pairs.
  const valIds = [...val];
  const gallery = { embeddings: rowsOf(valRows, data.embeddings, d), dim: d, identities: valRows.map((r) => data.identities[r]), rels: valRows.map((r) => data.rels[r]) };
  const th = encoderThresholds(ATTACKED, gallery, valIds, [1e-3, 1e-4]).points.map((p) => p.threshold);
  const typeI = (cos) => th.map((t) => (100 * Array.from(cos).filter((c) => c > t).length / cos.length).toFixed(1)).join(' / ');
  const start = applyRidge(ridge, vT, vr.length);
  pca.clampLatents(start);
  const photos = { templates: fitT, dim: d, crops: fitCrops, rels: fitRows.map((r) => data.rels[r]), identities: fitRows.map((r) => data.identities[r]), datasetId: `${ds.id}-val0.1` };
  const encCfg = findEncoderConfig(ATTACKED).config;
  const enc = await loadEncoder(encCfg, {});
  // The identity proxy: the surrogate's centred cosine between a reconstruction and its target photo.
  const sur = await openSurrogate(resolveSurrogate(SURROGATE, ATTACKED, 'onnxruntime', 112));
  const idRows = [...fitRows.slice(0, 3000), ...vr];
  const F = await surrogateTargets(sur, rowsOf(idRows, data.crops, S3), idRows.map((r) => data.rels[r]), 112, `${ds.id}-idproxy`, {});
  const mu = centreRows(F.subarray(0, 3000 * 128), 128).mean;
  const vF = F.subarray(3000 * 128);
  const identity = async (z) => {
    const px = tf.tidy(() => tf.mul(pca.render(tf.tensor2d(z, [vr.length, K])), 255));
    const E = await sur.embedCrops(Uint8Array.from(px.dataSync(), (v) => Math.max(0, Math.min(255, Math.round(v)))), vr.length);
    px.dispose();
    const c = vr.map((_, i) => { let s = 0, x = 0, y = 0; for (let j = 0; j < 128; j++) { const a = E[i * 128 + j] - mu[j], b = vF[i * 128 + j] - mu[j]; s += a * b; x += a * a; y += b * b; } return s / Math.sqrt(x * y); });
    return mean(c);
  };
  const transfer = await transferScorer(vr.map((r) => data.crops.slice(r * S3, (r + 1) * S3)), vr.map((r) => data.rels[r]));
  const facesOf = (z) => {
    const px = tf.tidy(() => tf.mul(pca.render(tf.tensor2d(z, [vr.length, K])), 255));
    const all = Uint8Array.from(px.dataSync(), (v) => Math.max(0, Math.min(255, Math.round(v))));
    px.dispose();
    return vr.map((_, i) => all.slice(i * S3, (i + 1) * S3));
  };
  console.log(`validation: ${vr.length} targets of ${new Set(vr.map((r) => data.identities[r])).size} identities; fitted on ${fitRows.length} photos; PCA ${K} components (${(100 * pca.description.varianceKept).toFixed(1)} % of the variance); ${Q} queries per target`);
  console.log(`validation thresholds (${valRows.length} photos, impostor pairs): FMR 1e-3 ${th[0].toFixed(3)}, 1e-4 ${th[1].toFixed(3)}`);
  console.log('| map | map held-out cosine | variant | surrogate weight | warm-up steps | attacked cosine: start → end | type I % @1e-3 / 1e-4 | identity (face-api, centred) | human-faceres cosine to the photo (independent detector; misses 0) | found | SSIM | surrogate evaluations / target | warm-up s | search s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const maps = (args.maps ?? 'ridge/0.1/3000').split(',').map((m) => { const [kind, lambda, photos] = m.split('/'); return { spec: m, kind, lambda: +lambda, photos: +photos }; });
  for (const map of maps) for (const v of (args.v ?? 'none,w0.5u0,w0.5u30').split(',')) {
    const secant = v.startsWith('sec') ? { radius: +(/a([\d.]+)/.exec(v)?.[1] ?? 1), window: +(/n(\d+)/.exec(v)?.[1] ?? 32), draws: +(/f(\d+)/.exec(v)?.[1] ?? 8 * K), metricLambda: +(/m([\d.]+)/.exec(v)?.[1] ?? 1) } : null;
    const m = /^(?:sec)?w([\d.]+)u(\d+)(?:l([\d.]+))?/.exec(v);
    const dirs = +(/d(\d+)/.exec(v)?.[1] ?? 2), sigma = +(/s([\d.]+)$/.exec(v)?.[1] ?? 0.5), lr = +(/r([\d.]+)/.exec(v)?.[1] ?? 0.1);
    if (!m && !v.startsWith('none') && !secant) throw new Error(`variant "${v}": expected none, wWuU[lL][dD][rR][sS] or sec[wWuU][aA][nN][fF][mM]`);
    const t0 = Date.now();
    let prior = null, s0 = start;
    if (m) {
      prior = await openSurrogatePrior(pca, encCfg, targets, photos, { surrogate: SURROGATE, weight: +m[1], fitPhotos: map.photos, seed: 0, map: map.kind, mapLambda: map.lambda }, {});
      if (+m[2] > 0) { s0 = await prior.warmup(start, +m[2], +(m[3] ?? 0.05)); pca.clampLatents(s0); }
    }
    const t1 = Date.now();
    const oracle = new QueryOracle(enc, pca, targets, Q);
    const res = await querySearch(oracle, pca, s0, secant
      ? { method: 'secant', secant, sigma, learningRate: lr, directions: dirs, population: 24, seed: 0 }
      : { method: 'zeroth-order', sigma, learningRate: lr, directions: dirs, population: 24, seed: 0, ...(prior ? { prior } : {}) });
    if (res.forward) console.log(`forward model: ${res.forward.queries} own queries, held-out explained variance ${res.forward.explained.toFixed(3)}, ${res.forward.seconds.toFixed(0)} s`);
    const t2 = Date.now();
    console.log(`| ${m ? map.spec : '—'} | ${prior ? prior.mapCosine.toFixed(3) : '—'} | ${v} | ${m ? m[1] : '—'} | ${m ? m[2] : 0} | ${mean(res.startCos).toFixed(3)} → ${mean(res.bestCos).toFixed(3)} | ${typeI(res.bestCos)} | ${(await identity(res.bestLatents)).toFixed(3)} | ${await transfer(facesOf(res.bestLatents))} | ${prior ? (prior.stats.evaluations / vr.length).toFixed(0) : 0} | ${((t1 - t0) / 1000).toFixed(0)} | ${((t2 - t1) / 1000).toFixed(0)} |`);
    await prior?.dispose();
  }
  console.log(`ridge start alone: identity ${(await identity(start)).toFixed(3)}, human-faceres | found | SSIM ${await transfer(facesOf(start))}; load average ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
/**
 * Identity as an encoder the attack uses in no role sees it (prior-validation.js's independent path): face-api's
 * SSD detector finds the face on a grey canvas, human-faceres embeds its crop; cosine to the target photo's own
 * embedding through the same path (a miss counts 0), the faces found, and SSIM to the photo.
 */
async function transferScorer(photos, names) {
  const analyzer = await FaceApiAnalyzer.load({ runtime: 'onnxruntime' });
  const enc = await loadEncoderById('human-faceres');
  const spec = findEncoderConfig('human-faceres').config.alignment;
  const through = async (crops) => (await embedCrops(enc, redetectedCrops(await detectIndependent(analyzer, crops, 112, names), spec), spec)).map((e) => e.embedding);
  const own = await through(photos);
  const cos = (a, b) => { let s = 0, x = 0, y = 0; for (let j = 0; j < a.length; j++) { s += a[j] * b[j]; x += a[j] ** 2; y += b[j] ** 2; } return s / Math.sqrt(x * y); };
  return async (faces) => {
    const e = await through(faces);
    const c = e.map((v, i) => (v && own[i] ? cos(v, own[i]) : 0));
    return `${mean(c).toFixed(3)} | ${e.filter(Boolean).length} / ${faces.length} | ${mean(faces.map((f, i) => ssim(f, photos[i], 112))).toFixed(3)}`;
  };
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
