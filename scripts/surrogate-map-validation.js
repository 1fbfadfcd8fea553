#!/usr/bin/env node
// Which map takes the attacked encoder's templates (arcface512-faceplugin) into the surrogate's space
// (faceapi-resnet128, centred) best — measured on the VALIDATION side only (scripts/validationSide.js: the
// default split's training identities, seed 0, 10 % of them held out for validation; test identities are never
// read). The surrogate-guided search climbs cos(F(G(z)) − μ, M·t), and the warm-up saturates at what the map
// allows (docs/search.md), so the map's held-out cosine is what this script ranks.
//  1. Identity-disjoint folds of the 9,658 fit photos: each map is fitted on the other folds and scored on the
//     held-out fold (centred on the fitted folds' mean, as the search centres on the attacker's photos' mean).
//  2. Fitted on all fit photos, scored on the 1,020 validation photos and on the 32 (n) validation targets
//     surrogate-validation.js attacks.
// Maps: ridge (the linear adapter of Shahreza, George & Marcel 2024), kernel ridge with an RBF kernel kept small
// by Nyström landmarks (Williams & Seeger 2001), kNN averages, either alone or on top of ridge (its residuals),
// and a small MLP (TF.js) trained on the cosine.
// Usage: npx tsc -b && node scripts/surrogate-map-validation.js [folds=5] [n=32] v=ridge:l=0.1:n=3000,krr:m=1000:g=1:l=0.1:lin=0.1,...
//   ridge:l=λ[:n=photos][:unit]   knn:k=K:t=τ[:lin=λ]   krr:m=landmarks:g=γ:l=λ[:lin=λ]   mlp:h=hidden:e=epochs[:lin=λ][:f=folds]
'use strict';
const path = require('node:path');
const os = require('node:os');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { openValidationSide, rowsOf } = require('./validationSide');
const { fitRidge, applyRidge } = require(O + 'math/ridge');
const { fitKernelRidge, applyKernelRidge, unitRows } = require(O + 'math/kernelRidge');
const { fitKnnMap, applyKnnMap } = require(O + 'math/knnMap');
const { centreRows } = require(O + 'attack/search/surrogatePrior');
const { resolveSurrogate, openSurrogate, surrogateTargets } = require(O + 'decoder/surrogate');
const { initEngine } = require(O + 'tfjs/backend');
const { tf } = require(O + 'tfjs/tf');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=').length > 1 ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, '']));
const FOLDS = +(args.folds ?? 5), NT = +(args.n ?? 32), ATTACKED = 'arcface512-faceplugin', SURROGATE = 'faceapi-resnet128', FD = 128;
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a) => { const m = mean(a); return Math.sqrt(a.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, a.length - 1)); };

/** Per-row cosines between [n, d] predictions and truths. */
function cosines(a, b, d) {
  return Array.from({ length: a.length / d }, (_, r) => {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < d; j++) { ab += a[r * d + j] * b[r * d + j]; aa += a[r * d + j] ** 2; bb += b[r * d + j] ** 2; }
    return ab / Math.sqrt(aa * bb + 1e-24);
  });
}

/** "name:k=v:flag" → { name, k: v, flag: true }. */
function parseVariant(v) {
  const [name, ...kv] = v.split(':');
  return Object.assign({ name, spec: v }, ...kv.map((p) => { const [k, x] = p.split('='); return { [k]: x === undefined ? true : +x }; }));
}

/** Evenly spaced rows, at most `count` (the surrogate's own subset rule: whole identities are not kept together here, the fit is all that uses them). */
const evenly = (n, count) => (n <= count ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: count }, (_, i) => Math.floor(i * n / count)));

/** Fits variant `v` on (T, Y) rows and returns a predictor. */
async function fitVariant(v, T, Y, n, d) {
  const lin = v.lin;
  if (v.name === 'ridge') {
    const rows = evenly(n, v.n ?? n);
    const Yf = v.unit ? unitRows(rowsOf(rows, Y, FD), FD) : rowsOf(rows, Y, FD);
    const m = fitRidge(rowsOf(rows, T, d), Yf, rows.length, d, FD, v.l);
    return (X, k) => applyRidge(m, X, k);
  }
  if (v.name === 'knn') { const m = fitKnnMap(T, Y, n, d, FD, { k: v.k, temperature: v.t, ...(lin !== undefined ? { linear: lin } : {}) }); return (X, k) => applyKnnMap(m, X, k); }
  if (v.name === 'krr') {
    const m = fitKernelRidge(T, Y, n, d, FD, { landmarks: v.m, gamma: v.g, lambda: v.l, seed: 0, ...(lin !== undefined ? { linear: lin } : {}) });
    return (X, k) => applyKernelRidge(m, X, k);
  }
  if (v.name === 'mlp') return fitMlp(v, T, Y, n, d);
  throw new Error(`variant "${v.spec}": expected ridge, knn, krr or mlp`);
}

/** A one-hidden-layer MLP (ReLU) trained with Adam on 1 − cos(prediction, truth); on top of ridge with lin. */
async function fitMlp(v, T, Y, n, d) {
  const base = v.lin !== undefined ? fitRidge(T, Y, n, d, FD, v.lin) : null;
  const H = v.h ?? 512, E = v.e ?? 30, B = 256;
  // tf.variable keeps its initial tensor alive beside it: dispose that one.
  const own = (t) => { const x = tf.variable(t); t.dispose(); return x; };
  const w1 = own(tf.randomNormal([d, H], 0, Math.sqrt(2 / d), 'float32', 1)), b1 = own(tf.zeros([H]));
  const w2 = own(tf.randomNormal([H, FD], 0, base ? 1e-3 : Math.sqrt(1 / H), 'float32', 2)), b2 = own(tf.zeros([FD]));
  const Xall = tf.tensor2d(unitRows(T, d), [n, d]), Yall = tf.tensor2d(Y, [n, FD]);
  const Ball = base ? tf.tensor2d(applyRidge(base, T, n), [n, FD]) : tf.zeros([n, FD]);
  const fwd = (x, b0) => tf.add(b0, tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2));
  const opt = tf.train.adam(v.r ?? 1e-3);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let e = 0; e < E; e++) {
    for (let i = n - 1; i > 0; i--) { const j = (i * 7919 + e * 104729) % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
    for (let at = 0; at < n; at += B) {
      const idx = tf.tensor1d(order.slice(at, at + B), 'int32');
      opt.minimize(() => {
        const p = fwd(tf.gather(Xall, idx), tf.gather(Ball, idx)), y = tf.gather(Yall, idx);
        const cos = tf.div(tf.sum(tf.mul(p, y), 1), tf.add(tf.mul(tf.norm(p, 2, 1), tf.norm(y, 2, 1)), 1e-9));
        return tf.add(tf.sub(1, tf.mean(cos)), tf.mul(v.wd ?? 1e-4, tf.add(tf.sum(tf.square(w1)), tf.sum(tf.square(w2)))));
      });
      idx.dispose();
    }
  }
  [Xall, Yall, Ball].forEach((t) => t.dispose());
  opt.dispose();
  const predict = (X, k) => tf.tidy(() => fwd(tf.tensor2d(unitRows(X, d), [k, d]), base ? tf.tensor2d(applyRidge(base, X, k), [k, FD]) : tf.zeros([k, FD])).dataSync().slice());
  predict.dispose = () => [w1, b1, w2, b2].forEach((t) => t.dispose());
  return predict;
}

/** Identity-disjoint folds of the fit rows (seeded, LCG shuffle of the identities). */
function foldsOf(identities, k) {
  const ids = [...new Set(identities)].sort();
  let s = 12345;
  for (let i = ids.length - 1; i > 0; i--) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; const j = s % (i + 1); [ids[i], ids[j]] = [ids[j], ids[i]]; }
  const foldOf = new Map(ids.map((id, i) => [id, i % k]));
  return identities.map((id) => foldOf.get(id));
}

async function crossValidate(v, T, F, folds, d) {
  const per = [], photo = [];
  const nf = Math.min(FOLDS, v.f ?? FOLDS);
  for (let f = 0; f < nf; f++) {
    const fit = [], held = [];
    folds.forEach((g, i) => (g === f ? held : fit).push(i));
    const { centred, mean: mu } = centreRows(rowsOf(fit, F, FD), FD);
    const predict = await fitVariant(v, rowsOf(fit, T, d), centred, fit.length, d);
    const truth = rowsOf(held, F, FD).map((x, i) => x - mu[i % FD]);
    const c = cosines(predict(rowsOf(held, T, d), held.length), truth, FD);
    predict.dispose?.();
    per.push(mean(c));
    photo.push(...c);
  }
  return { per, photo };
}

async function main() {
  await initEngine({});
  const { ds, data, S3, d, fitRows, valRows, fitCrops } = await openValidationSide(ATTACKED, 512);
  const sur = await openSurrogate(resolveSurrogate(SURROGATE, ATTACKED, 'onnxruntime', 112));
  // The same cache keys the search's prior uses (fitPhotos ≥ 9,658: all fit photos) and a validation-side file.
  const Ffit = await surrogateTargets(sur, fitCrops, fitRows.map((r) => data.rels[r]), 112, `${ds.id}-val0.1`, { log: console.log });
  const Fval = await surrogateTargets(sur, rowsOf(valRows, data.crops, S3), valRows.map((r) => data.rels[r]), 112, `${ds.id}-val0.1-valside`, { log: console.log });
  await sur.dispose();
  const Tfit = rowsOf(fitRows, data.embeddings, d), Tval = rowsOf(valRows, data.embeddings, d);
  const fitIds = fitRows.map((r) => data.identities[r]);
  const folds = foldsOf(fitIds, FOLDS);
  // surrogate-validation.js's targets: every ⌊1020 / n⌋-th validation photo.
  const vt = valRows.map((_, i) => i).filter((i) => i % Math.max(1, Math.floor(valRows.length / NT)) === 0).slice(0, NT);
  const { centred: Yall, mean: mu } = centreRows(Ffit, FD);
  const valTruth = Fval.map((x, i) => x - mu[i % FD]);
  console.log(`fit side: ${fitRows.length} photos of ${new Set(fitIds).size} identities in ${FOLDS} identity-disjoint folds; validation: ${valRows.length} photos of ${new Set(valRows.map((r) => data.identities[r])).size} identities, ${vt.length} search targets`);
  console.log('| map | held-out cosine, mean over folds (± sd of the folds) | per fold | photos below 0.6 | fit s | validation photos: cosine | the search\'s validation targets: cosine |');
  console.log('|---|---|---|---|---|---|---|');
  for (const spec of (args.v ?? 'ridge:l=0.1:n=3000,ridge:l=0.1').split(',')) {
    const v = parseVariant(spec);
    const tensors = tf.memory().numTensors;
    const t0 = Date.now();
    const cv = await crossValidate(v, Tfit, Ffit, folds, d);
    const t1 = Date.now();
    const predict = await fitVariant(v, Tfit, Yall, fitRows.length, d);
    const cVal = cosines(predict(Tval, valRows.length), valTruth, FD);
    predict.dispose?.();
    // The MLP's weights, optimiser state and batches are TF.js tensors: a variant must leave none behind.
    if (tf.memory().numTensors !== tensors) throw new Error(`variant "${spec}" leaked ${tf.memory().numTensors - tensors} tensors`);
    const below = (100 * cv.photo.filter((c) => c < 0.6).length / cv.photo.length).toFixed(1);
    console.log(`| ${spec} | ${mean(cv.per).toFixed(4)} ± ${sd(cv.per).toFixed(4)} | ${cv.per.map((c) => c.toFixed(3)).join(' ')} | ${below} % | ${((t1 - t0) / 1000 / cv.per.length).toFixed(1)} | ${mean(cVal).toFixed(4)} | ${mean(vt.map((i) => cVal[i])).toFixed(4)} |`);
  }
  console.log(`${new Date().toISOString()}; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
