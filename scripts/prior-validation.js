#!/usr/bin/env node
// The face prior's ablation on the VALIDATION split (issue 26, item 2), never on the test identities: the
// main job's search (surrogate-guided zeroth-order, its settings) runs once on validation targets, then each
// prior variant turns the same latents into faces, and every face is scored the ways that measure the person
// rather than the attacked encoder: SSIM / PSNR to the target photo, the `independent` detector (face-api SSD on
// a grey canvas: found as a face?), and human-faceres (an encoder the attack uses in no role) through that
// detector's alignment, as cosine to the target photo's own crop through the same path; the attacked encoder's
// cosine beside. Variants: `pca` (the face model alone), `detail:a=A+k=K+p=P+w=W+c=C` (daemon/attack/faceModel/detail.ts:
// strength A, K neighbours, patch P, overlap weight W), `caricature:A[+c=1]` (the answer scaled by A about the
// mean face, optionally with the contrast finish), and the target photo's own PCA projection (the prior's
// ceiling, not an attack), and `whitebox[:STEPS]` (the white box's answer from the ridge start: what a face that
// matches the template almost exactly looks like under this prior — the black box's ceiling).
// `polish:N:LR[+f=1]`: N more gradient steps on the surrogate's cosine to the mapped template after the search (no
// query; measured and not used: docs/search.md "What SSIM is measured against, and a surrogate polish"), optionally
// with the main job's finish (contrast, half the detail of 32 neighbours).
// search=secant: the main job's present search (the same warm-up, then daemon/attack/search/secant.ts) instead
// of the zeroth-order one; map=ridge/0/10000 (the main job's template map; default ridge/0.1/3000).
// Usage: npm run build && node scripts/prior-validation.js [n=64] [q=100] [k=512] [search=secant] [v=pca,detail:a=1]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { openValidationSide, rowsOf } = require('./validationSide');
const { defaultCacheDir } = require(O + 'data/pipeline');
const { detailedFaces, DEFAULT_QUILT, spreadOf, applySpread } = require(O + 'attack/faceModel/detail');
const { fitRidge, applyRidge } = require(O + 'math/ridge');
const { openSurrogatePrior } = require(O + 'attack/search/surrogatePrior');
const { QueryOracle } = require(O + 'attack/search/oracle');
const { querySearch } = require(O + 'attack/search/querySearch');
const { loadEncoder, loadEncoderById } = require(O + 'encoders/load');
const { findEncoderConfig } = require(O + 'encoders/registry');
const { tf } = require(O + 'tfjs/tf');
const { initEngine } = require(O + 'tfjs/backend');
const { ssim, psnr } = require(O + 'evaluation/imageQuality');
const { gradientSearch } = require(O + 'attack/search/gradientSearch');
const { defaultWhitebox } = require(O + 'protocol/runConfig');
const { detectIndependent, redetectedCrops, embedCrops } = require(O + 'evaluation/protocols');
const { FaceApiAnalyzer } = require(O + 'data/faceApiDetector');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')).map(([k, ...v]) => [k, v.join('=')]));
const NT = +(args.n ?? 64), Q = +(args.q ?? 100), K = +(args.k ?? 512), ATTACKED = 'arcface512-faceplugin', TRANSFER = 'human-faceres';
const SEARCH = { surrogate: 'faceapi-resnet128', weight: 0.5, warmup: 10, warmupRate: 0.05, sigma: 0.1, learningRate: 0.05, directions: 2 };
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const cos = (a, b) => { let s = 0, x = 0, y = 0; for (let i = 0; i < a.length; i++) { s += a[i] * b[i]; x += a[i] * a[i]; y += b[i] * b[i]; } return s / Math.sqrt(x * y); };

function parseVariant(v) {
  if (v === 'pca' || v === 'projection' || v === 'ridge' || v === 'spread') return { name: v };
  const pol = /^polish:(\d+):([0-9.]+)(\+f=1)?$/.exec(v);
  if (pol) return { name: v, polish: +pol[1], polishRate: +pol[2], detail: pol[3] ? { finish: { contrast: true, detail: 0.5, neighbours: 32 }, quilt: { ...DEFAULT_QUILT } } : undefined };
  const wb = /^whitebox(?::(\d+))?(\+c=1)?$/.exec(v);
  if (wb) return { name: v, whitebox: +(wb[1] ?? 200), detail: wb[2] ? { finish: { contrast: true, detail: 0, neighbours: 32 }, quilt: { ...DEFAULT_QUILT } } : undefined };
  // `caricature:A[+c=1]`: the search's latents scaled by A about the mean face (optionally with the contrast finish).
  const car = /^caricature:([0-9.]+)(\+c=1)?$/.exec(v);
  if (car) return { name: v, scale: +car[1], detail: car[2] ? { finish: { contrast: true, detail: 0, neighbours: 32 }, quilt: { ...DEFAULT_QUILT } } : undefined };
  const m = /^detail(?::(.*))?$/.exec(v);
  if (!m) throw new Error(`variant "${v}": expected pca, projection or detail[:a=A+k=K+p=P+s=S+w=W+c=0|1]`);
  // A bare `detail` is full-strength detail from 32 neighbours, without contrast.
  const finish = { contrast: false, detail: 1, neighbours: 32 }, quilt = { ...DEFAULT_QUILT };
  const keys = { a: [finish, 'detail'], k: [finish, 'neighbours'], c: [finish, 'contrast'], p: [quilt, 'patch'], s: [quilt, 'stride'], w: [quilt, 'overlapWeight'] };
  for (const kv of (m[1] ?? '').split('+').filter(Boolean)) {
    const [k, x] = kv.split('=');
    if (!keys[k]) throw new Error(`variant "${v}": unknown key ${k}`);
    keys[k][0][keys[k][1]] = k === 'c' ? x === '1' : +x;
  }
  return { name: v, detail: { finish, quilt } };
}

async function main() {
  await initEngine({});
  const { ds, frame, data, val, S3, d, fitRows, valRows, fitCrops, fitT, pca } = await openValidationSide(ATTACKED, K);
  const fitZ = await pca.project(fitCrops, fitRows.length);
  const vr = valRows.filter((_, i) => i % Math.max(1, Math.floor(valRows.length / NT)) === 0).slice(0, NT);
  const vT = rowsOf(vr, data.embeddings, d);
  const targets = vr.map((_, i) => vT.slice(i * d, (i + 1) * d));
  const photos = vr.map((r) => data.crops.slice(r * S3, (r + 1) * S3));
  const encCfg = findEncoderConfig(ATTACKED).config;
  const enc = await loadEncoder(encCfg, {});

  // The main job's search, once; its latents cached so that variants are compared on the same points.
  const SECANT = args.search === 'secant';
  const [mapKind, mapLambda, mapPhotos] = (args.map ?? 'ridge/0.1/3000').split('/');
  const tag = `${SECANT ? '-secant' : ''}${args.map ? `-${mapKind}${mapLambda}-${mapPhotos}` : ''}`;
  const cacheFile = path.join(defaultCacheDir(), 'validation', `prior-search-k${K}-n${NT}-q${Q}${tag}.bin`);
  let z;
  const ridge = fitRidge(fitT, fitZ, fitRows.length, d, K, 0.1);
  const start = applyRidge(ridge, vT, vr.length);
  pca.clampLatents(start);
  const photoSet = { templates: fitT, dim: d, crops: fitCrops, rels: fitRows.map((r) => data.rels[r]), identities: fitRows.map((r) => data.identities[r]), datasetId: `${ds.id}-val0.1` };
  const openPrior = () => openSurrogatePrior(pca, encCfg, targets, photoSet, { surrogate: SEARCH.surrogate, weight: SEARCH.weight, fitPhotos: +mapPhotos, map: mapKind, mapLambda: +mapLambda, seed: 0 }, {});
  if (fs.existsSync(cacheFile)) z = new Float32Array(fs.readFileSync(cacheFile).buffer.slice(0));
  else {
    const t0 = Date.now();
    const prior = await openPrior();
    const s0 = await prior.warmup(start, SEARCH.warmup, SEARCH.warmupRate);
    pca.clampLatents(s0);
    const oracle = new QueryOracle(enc, pca, targets, Q);
    const res = await querySearch(oracle, pca, s0, SECANT
      ? { method: 'secant', secant: { radius: 1, window: 32, draws: 8 * K, metricLambda: 1 }, sigma: SEARCH.sigma, learningRate: SEARCH.learningRate, directions: SEARCH.directions, population: 24, seed: 0 }
      : { method: 'zeroth-order', sigma: SEARCH.sigma, learningRate: SEARCH.learningRate, directions: SEARCH.directions, population: 24, seed: 0, prior });
    await prior.dispose();
    z = res.bestLatents;
    fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
    fs.writeFileSync(cacheFile, Buffer.from(z.buffer, z.byteOffset, z.byteLength));
    console.log(`search: ${vr.length} targets, ${Q} queries each, mean attacked cosine ${mean(Array.from(res.bestCos)).toFixed(3)}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }

  const analyzer = await FaceApiAnalyzer.load({ runtime: 'onnxruntime' });
  const transfer = await loadEncoderById(TRANSFER);
  const tSpec = findEncoderConfig(TRANSFER).config.alignment;
  const names = vr.map((r) => data.rels[r]);
  const throughIndependent = async (crops) => {
    const found = await detectIndependent(analyzer, crops, 112, names);
    const emb = await embedCrops(transfer, redetectedCrops(found, tSpec), tSpec);
    return emb.map((e) => e.embedding);
  };
  const photoEmb = await throughIndependent(photos);
  const attackedOf = async (crops) => (await embedCrops(enc, crops.map((crop) => ({ crop })), frame)).map((e) => e.embedding);
  const bank = { crops: fitCrops, latents: fitZ, n: fitRows.length };

  console.log(`validation: ${vr.length} targets of ${new Set(vr.map((r) => data.identities[r])).size} identities; PCA ${K} (${(100 * pca.description.varianceKept).toFixed(1)} %) fitted on ${fitRows.length} photos; search: ${Q} queries, the main job's settings`);
  console.log(`control: the target photos through the independent path: ${photoEmb.filter(Boolean).length} of ${vr.length} found`);
  console.log('| prior | attacked cosine | SSIM | PSNR dB | found by the independent detector | human-faceres cosine to the photo (independent path; misses count 0) | human-faceres, found only | seconds |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const v of (args.v ?? 'projection,pca,detail').split(',').map(parseVariant)) {
    const t0 = Date.now();
    let faces;
    let zz = v.name === 'projection' ? await pca.project(Uint8Array.from(photos.flatMap((p) => Array.from(p))), vr.length) : v.name === 'ridge' ? start : z;
    if (v.whitebox) zz = (await gradientSearch(pca, encCfg, targets, start, { ...defaultWhitebox(), steps: v.whitebox })).latents;
    if (v.polish) {
      const prior = await openPrior();
      zz = await prior.warmup(zz, v.polish, v.polishRate);
      pca.clampLatents(zz);
      await prior.dispose();
    }
    if (v.scale) { zz = zz.map((x) => x * v.scale); pca.clampLatents(zz); }
    if (v.detail) faces = await detailedFaces(pca, bank, zz, vr.length, v.detail.finish, v.detail.quilt);
    else {
      const t = tf.tidy(() => tf.mul(pca.render(tf.tensor2d(zz, [vr.length, K])), 255));
      const px = await t.data(); t.dispose();
      const spread = v.name === 'spread' ? spreadOf(Array.from({ length: 2000 }, (_, j) => fitCrops.subarray(j * S3, (j + 1) * S3))) : null;
      faces = vr.map((_, i) => {
        const f = Float32Array.from(px.subarray(i * S3, (i + 1) * S3), (x) => x / 255);
        if (spread) applySpread(f, spread);
        return Uint8Array.from(f, (x) => Math.max(0, Math.min(255, Math.round(255 * x))));
      });
    }
    const secs = (Date.now() - t0) / 1000;
    const att = await attackedOf(faces);
    const tr = await throughIndependent(faces);
    const pairs = tr.map((e, i) => (e && photoEmb[i] ? cos(e, photoEmb[i]) : null));
    const found = tr.filter(Boolean).length;
    const both = pairs.filter((c) => c !== null);
    console.log(`| ${v.name} | ${mean(att.map((e, i) => cos(e, targets[i]))).toFixed(3)} | ${mean(faces.map((f, i) => ssim(f, photos[i], 112))).toFixed(3)} | ${mean(faces.map((f, i) => psnr(f, photos[i]))).toFixed(2)} | ${found} / ${vr.length} | ${mean(pairs.map((c) => c ?? 0)).toFixed(3)} | ${both.length ? mean(both).toFixed(3) : '–'} | ${secs.toFixed(1)} |`);
    if (args.save) {
      const dir = path.join(args.save, v.name.replace(/[^a-z0-9=.,-]/gi, '_'));
      fs.mkdirSync(dir, { recursive: true });
      const sharp = require('sharp');
      for (let i = 0; i < Math.min(12, faces.length); i++) await sharp(Buffer.from(faces[i]), { raw: { width: 112, height: 112, channels: 3 } }).png().toFile(path.join(dir, `${i}.png`));
    }
  }
  console.log(`load average ${require('node:os').loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
