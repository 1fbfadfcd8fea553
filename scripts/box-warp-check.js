#!/usr/bin/env node
// How far a detector-box crop (`human-crop`) is from a point template, and what that costs a surrogate that
// sees it through the warp from the eyes' mean place (daemon/data/templates.ts HUMAN_CROP_EYES_112,
// daemon/decoder/surrogate.ts frameWarp). On every k-th LFW person's first photo: the pipeline's face analysis,
// the eye centres in the box crop at 112 px (mean and spread: the constant's check), then arcface512-faceplugin's
// cosine between the photo's own aligned crop and its box crop warped into arcface's frame (what the surrogate
// sees of a real face). Usage: npm run build && node scripts/box-warp-check.js [n=200]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { FaceAnalyzer, geometryOf } = require(O + 'data/faceAnalysis');
const { decodeImage } = require(O + 'data/image');
const { alignFace, alignmentTransform, applySimilarity, cropsToFloat } = require(O + 'data/align');
const { arcfacePointsFrom68 } = require(O + 'data/landmarks');
const { HUMAN_CROP_EYES_112 } = require(O + 'data/templates');
const { frameWarp, warpImages, warpMatrices } = require(O + 'decoder/surrogate');
const { loadEncoderById } = require(O + 'encoders/load');
const { tf } = require(O + 'tfjs/tf');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const n = Number(args.n ?? 200);
const LFW = path.join(__dirname, '..', '..', 'shared', 'data', 'lfw', 'lfw-deepfunneled');
const S = 112;
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a) => Math.sqrt(mean(a.map((v) => (v - mean(a)) ** 2)));

(async () => {
  await tf.ready();
  const people = fs.readdirSync(LFW).sort();
  const step = Math.max(1, Math.floor(people.length / n));
  const chosen = people.filter((_, i) => i % step === 0).slice(0, n);
  const an = await FaceAnalyzer.load();
  const enc = await loadEncoderById('arcface512-faceplugin');
  const eyes = [[], []];
  const aligned = [], boxed = [];
  for (const p of chosen) {
    const img = await decodeImage(path.join(LFW, p, `${p}_0001.jpg`));
    const g = geometryOf(await an.analyse(img, p));
    const t = alignmentTransform(g, { template: 'human-crop', size: S });
    arcfacePointsFrom68(g.landmarks).slice(0, 2).forEach((q, e) => eyes[e].push(applySimilarity(t, q)));
    aligned.push(alignFace(img, g, { template: 'arcface-5pt', size: S }));
    boxed.push(alignFace(img, g, { template: 'human-crop', size: S }));
  }
  await an.dispose();
  eyes.forEach((pts, e) => console.log(`eye ${e} in the box crop at ${S}: mean (${mean(pts.map((q) => q[0])).toFixed(2)}, ${mean(pts.map((q) => q[1])).toFixed(2)}), sd (${sd(pts.map((q) => q[0])).toFixed(2)}, ${sd(pts.map((q) => q[1])).toFixed(2)}) px; constant (${HUMAN_CROP_EYES_112[e].join(', ')})`));
  const { ry, rx } = warpMatrices(frameWarp(S, 'arcface-5pt', S, 'human-crop'));
  const stack = (cs) => { const f = new Uint8Array(cs.length * S * S * 3); cs.forEach((c, i) => f.set(c, i * S * S * 3)); return tf.tensor4d(cropsToFloat(f), [cs.length, S, S, 3]); };
  const a = stack(aligned), b0 = stack(boxed);
  const b = tf.tidy(() => warpImages(b0, tf.tensor2d(ry, [S, S]), tf.tensor2d(rx, [S, S])));
  const ea = await enc.embed(a), eb = await enc.embed(b);
  tf.dispose([a, b0, b]);
  enc.dispose();
  const cos = ea.map((x, i) => x.reduce((s, v, j) => s + v * eb[i][j], 0)).sort((x, y) => x - y);
  console.log(`arcface512-faceplugin, own aligned crop vs box crop through the mean-eye warp, ${cos.length} photos: mean cosine ${mean(cos).toFixed(3)}, median ${cos[cos.length >> 1].toFixed(3)}, 10th percentile ${cos[Math.floor(cos.length / 10)].toFixed(3)}`);
})().catch((e) => { console.error(e); process.exit(1); });
