/**
 * Surrogate hygiene and the pieces of the decoder's training options that need no training:
 * the identity term's surrogate is never the attacked encoder (same id, or the same model files under another
 * id) and must be differentiable on the engine (errors name it and list the encoders that can be used); the
 * warp from the decoder's ArcFace frame to a surrogate's template lands the eye centres where that template
 * puts them; the linear base's closed-form fit recovers a linear map; the template head (identity.target
 * "template") recovers a linear map from surrogate embeddings to templates and normalises H·F the same way on
 * both engines; the learning-rate schedules.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fitLinearBase } from '../../../daemon/decoder/linearBase';
import { scheduledLearningRate } from '../../../daemon/decoder/schedule';
import { fitTemplateHead, frameWarp, resolveSurrogate, usableSurrogates, warpMatrices, withTemplateHead, type Surrogate } from '../../../daemon/decoder/surrogate';
import { GraphBuilder } from '../../../daemon/ort/graph';
import { tf } from '../../../daemon/tfjs/tf';
import { resolveModelPath, findEncoderConfig } from '../../../daemon/encoders/registry';
import { ARCFACE_112, getTemplate, HUMAN_CROP_EYES_112 } from '../../../daemon/data/templates';
import { useTmpDir, wasmEngine } from '../tfjs/helpers';
import { runGraph, values } from '../ort/helpers';
import { centreRows, fitTemplateMap, MIN_MAP_COSINE } from '../../../daemon/attack/search/surrogatePrior';
import { unitRows } from '../../../daemon/math/kernelRidge';
import { mulberry32 } from '../../../daemon/data/split';

const ATTACKED = 'arcface512-faceplugin';

describe('decoder/surrogate: the identity term\'s surrogate encoder', function () {
  this.timeout(60000);
  const tmp = useTmpDir('faceinv-sur-');
  let ws: string;
  before(() => {
    ws = tmp.dir;
    const arc = findEncoderConfig(ATTACKED).config;
    // The attacked model under another name, and a query-only service: neither may be a surrogate.
    fs.writeFileSync(path.join(ws, 'copy.faceinv-encoder.json'), JSON.stringify({ ...arc, id: 'arcface-copy', model: { path: resolveModelPath(arc) } }));
    fs.writeFileSync(path.join(ws, 'svc.faceinv-encoder.json'), JSON.stringify({
      id: 'remote-api', format: 'command', model: { command: ['node', '-e', '0'] }, inputSize: 112, layout: 'NHWC', channelOrder: 'RGB',
      normalization: { mean: [0, 0, 0], std: [1, 1, 1] }, alignment: { template: 'arcface-5pt', size: 112 }, embeddingDim: 8, l2Normalized: false,
      known: { architecture: false, weights: false, differentiable: false }, description: 'a remote face API', license: 'n/a', source: 'test',
    }));
  });

  it('accepts faceapi-resnet128 on ONNX Runtime and records the warp into its dlib chip', () => {
    const p = resolveSurrogate('faceapi-resnet128', ATTACKED, 'onnxruntime', 112, ws);
    assert.equal(p.config.id, 'faceapi-resnet128');
    assert.equal(p.ortObstacle, null);
    assert.equal(p.warp.to, 150);
  });

  it('refuses the attacked encoder, by id and by its model files under another id, listing the usable ones', () => {
    assert.throws(() => resolveSurrogate(ATTACKED, ATTACKED, 'auto', 112, ws), /"arcface512-faceplugin" is the attacked encoder.*surrogates that can be used: .*faceapi-resnet128/);
    assert.throws(() => resolveSurrogate('arcface-copy', ATTACKED, 'auto', 112, ws), /"arcface-copy" runs the attacked encoder's own model \(arcface512-faceplugin: same model files, sha256 [0-9a-f]{12}…\)/);
    try {
      resolveSurrogate('arcface-copy', ATTACKED, 'auto', 112, ws);
    } catch (e) {
      const list = (e as Error).message.split('surrogates that can be used: ')[1];
      assert.ok(!list.includes('arcface-copy') && !list.includes(ATTACKED), `the attacked model is not offered: ${list}`);
    }
  });

  it('the search\'s surrogate is refused the same way, named by its own config field', () => {
    assert.throws(() => resolveSurrogate('arcface-copy', ATTACKED, 'onnxruntime', 112, ws, 'search.surrogate.encoder'), /^Error: search.surrogate.encoder "arcface-copy" runs the attacked encoder's own model/);
  });

  it('the template map into the surrogate\'s centred space: near 1 held out when the spaces are linearly related, low for noise', () => {
    const rand = mulberry32(5);
    const n = 600, d = 24, fd = 8;
    const ids = Array.from({ length: n }, (_, i) => `id${Math.floor(i / 3)}`);
    const templates = Float32Array.from({ length: n * d }, () => rand() * 2 - 1);
    const A = Float32Array.from({ length: d * fd }, () => rand() * 2 - 1);
    const related = new Float32Array(n * fd);
    for (let r = 0; r < n; r++) for (let j = 0; j < fd; j++) { let v = 3; for (let i = 0; i < d; i++) v += templates[r * d + i] * A[i * fd + j]; related[r * fd + j] = v; }
    const photos = { templates, dim: d, crops: new Uint8Array(0), rels: ids.map((x, i) => `${x}/${i}.jpg`), identities: ids, datasetId: 'toy' };
    const { centred, mean } = centreRows(related, fd);
    assert.ok(Math.abs(mean[0] - related.filter((_, i) => i % fd === 0).reduce((a, b) => a + b, 0) / n) < 1e-4);
    assert.ok(fitTemplateMap(photos, centred, fd).heldOut > 0.99);
    const noise = centreRows(Float32Array.from({ length: n * fd }, () => rand()), fd).centred;
    assert.ok(fitTemplateMap(photos, noise, fd).heldOut < MIN_MAP_COSINE, 'noise cannot be mapped: the prior would be refused');
  });

  it('the kernel template map: beats ridge held out on a nonlinear relation, keeps a linear one, and noise still falls below the floor', () => {
    const rand = mulberry32(6);
    const n = 450, d = 16, fd = 6;
    const ids = Array.from({ length: n }, (_, i) => `id${Math.floor(i / 3)}`);
    const templates = unitRows(Float32Array.from({ length: n * d }, () => rand() * 2 - 1), d);
    // Each output mixes a linear term with a product of two template entries (what no linear map can express).
    const related = new Float32Array(n * fd);
    for (let r = 0; r < n; r++) for (let j = 0; j < fd; j++) related[r * fd + j] = templates[r * d + j] + 6 * templates[r * d + j + 1] * templates[r * d + j + 2];
    const photos = { templates, dim: d, crops: new Uint8Array(0), rels: ids.map((x, i) => `${x}/${i}.jpg`), identities: ids, datasetId: 'toy' };
    const { centred } = centreRows(related, fd);
    const ridge = fitTemplateMap(photos, centred, fd, 'ridge').heldOut, kernel = fitTemplateMap(photos, centred, fd, 'kernel').heldOut;
    assert.ok(kernel > ridge + 0.1, `kernel ${kernel} vs ridge ${ridge}`);
    const linear = new Float32Array(n * fd);
    for (let r = 0; r < n; r++) for (let j = 0; j < fd; j++) linear[r * fd + j] = templates[r * d + j] - 2 * templates[r * d + j + 3];
    assert.ok(fitTemplateMap(photos, centreRows(linear, fd).centred, fd, 'kernel').heldOut > 0.99);
    const noise = centreRows(Float32Array.from({ length: n * fd }, () => rand()), fd).centred;
    assert.ok(fitTemplateMap(photos, noise, fd, 'kernel').heldOut < MIN_MAP_COSINE, 'noise cannot be mapped by the kernel map either: the prior would be refused');
    assert.throws(() => fitTemplateMap(photos, noise, fd, 'spline' as never), /search.surrogate.map: "spline" is not one of ridge, kernel/);
    // Least squares with fewer photos than template entries is refused with the fix, not left to a singular solve.
    const few = { ...photos, templates: templates.slice(0, 15 * d), rels: photos.rels.slice(0, 15), identities: ids.slice(0, 15) };
    assert.throws(() => fitTemplateMap(few, centred.slice(0, 15 * fd), fd, 'ridge', { lambda: 0 }), /mapLambda 0 \(least squares\) needs more than 16 fit photos outside the held-out tenth, got 12; raise fitPhotos or mapLambda/);
    assert.ok(fitTemplateMap(photos, centred, fd, 'ridge', { lambda: 0 }).heldOut > ridge - 0.05, 'least squares on enough photos fits');
  });

  it('refuses encoders the engine cannot differentiate, naming them and the options', () => {
    assert.throws(() => resolveSurrogate('remote-api', ATTACKED, 'auto', 112, ws), /"remote-api" cannot be differentiated by the engine: encoder "remote-api" is a query-only service.*surrogates that can be used: .*faceapi-resnet128/);
    // An encoder that takes detector-box crops does not guide: a warp into its crop places a face only on average.
    assert.throws(() => resolveSurrogate('human-faceres', ATTACKED, 'auto', 112, ws), /"human-faceres" cannot be differentiated by the engine: it takes "human-crop" crops \(a detector-box crop\), where a warp from the face model's arcface-5pt frame could place a face only on average/);
    assert.throws(() => resolveSurrogate('no-such', ATTACKED, 'auto', 112, ws), /no encoder config with id "no-such".*surrogates that can be used/);
  });

  it('warps from the face model\'s own frame: a PCA model in the dlib chip or in a box crop reaches arcface', () => {
    // faceapi-resnet128 attacked: its face model renders dlib chips at 150, so the warp into arcface starts there.
    const p = resolveSurrogate(ATTACKED, 'faceapi-resnet128', 'onnxruntime', 150, ws, 'search.surrogate.encoder', 'dlib-5pt-chip');
    const dlib = getTemplate('dlib-5pt-chip');
    if (dlib.kind !== 'points') throw new Error('dlib template has points');
    const q = dlib.pointsAt(150);
    const eye = [(q[2][0] + q[3][0]) / 2, (q[2][1] + q[3][1]) / 2];
    const got = [p.warp.scale * eye[0] + p.warp.tx, p.warp.scale * eye[1] + p.warp.ty];
    assert.ok(Math.hypot(got[0] - ARCFACE_112[0][0], got[1] - ARCFACE_112[0][1]) < 0.3, `chip's left eye lands at [${got}], arcface's at [${ARCFACE_112[0]}]`);
    assert.ok(usableSurrogates('faceapi-resnet128', 'onnxruntime', 150, ws, 'dlib-5pt-chip').includes(ATTACKED));
    // human-faceres attacked: its face model renders detector-box crops; the warp starts from the eyes' mean place there.
    assert.deepEqual(usableSurrogates('human-faceres', 'onnxruntime', 224, ws, 'human-crop').sort(), ['arcface-copy', ATTACKED, 'faceapi-resnet128'].sort());
    const box = resolveSurrogate(ATTACKED, 'human-faceres', 'onnxruntime', 224, ws, 'search.surrogate.encoder', 'human-crop');
    const mean = HUMAN_CROP_EYES_112.map(([x, y]) => [x * 2, y * 2]);
    for (const e of [0, 1]) {
      const at = [box.warp.scale * mean[e][0] + box.warp.tx, box.warp.scale * mean[e][1] + box.warp.ty];
      assert.ok(Math.hypot(at[0] - ARCFACE_112[e][0], at[1] - ARCFACE_112[e][1]) < 0.3, `box crop's mean eye ${e} lands at [${at}], arcface's at [${ARCFACE_112[e]}]`);
    }
  });

  it('maps the decoder frame\'s eye centres onto the surrogate template\'s', () => {
    const same = frameWarp(128, 'arcface-5pt', 112);
    assert.ok(Math.abs(same.scale - 112 / 128) < 1e-9 && Math.abs(same.tx) < 1e-9 && Math.abs(same.ty) < 1e-9);
    const w = frameWarp(112, 'dlib-5pt-chip', 150);
    const dlib = getTemplate('dlib-5pt-chip');
    if (dlib.kind !== 'points') throw new Error('dlib template has points');
    const p = dlib.pointsAt(150);
    const eyeL = [(p[2][0] + p[3][0]) / 2, (p[2][1] + p[3][1]) / 2];
    const map = ([x, y]: number[]) => [w.scale * x + w.tx, w.scale * y + w.ty];
    const got = map(ARCFACE_112[0]);
    assert.ok(Math.hypot(got[0] - eyeL[0], got[1] - eyeL[1]) < 0.3, `left eye at [${got}], template [${eyeL}]`);
    const toBox = frameWarp(112, 'human-crop', 224);
    const eyeAt = [toBox.scale * ARCFACE_112[1][0] + toBox.tx, toBox.scale * ARCFACE_112[1][1] + toBox.ty];
    // The warp drops the 0.6° between the two eye lines: 0.3 px at 224.
    assert.ok(Math.hypot(eyeAt[0] - 2 * HUMAN_CROP_EYES_112[1][0], eyeAt[1] - 2 * HUMAN_CROP_EYES_112[1][1]) < 0.5, `right eye at [${eyeAt}] in the box crop`);
    // A bright pixel at the arcface left-eye centre shows up at the chip's left-eye centre.
    const { ry, rx } = warpMatrices(w);
    const [ex, ey] = ARCFACE_112[0].map(Math.floor);
    let best = -1, bi = 0, bj = 0;
    for (let i = 0; i < 150; i++) for (let j = 0; j < 150; j++) { const v = ry[i * 112 + ey] * rx[j * 112 + ex]; if (v > best) { best = v; bi = i; bj = j; } }
    assert.ok(Math.abs(bj + 0.5 - eyeL[0]) < 1.5 && Math.abs(bi + 0.5 - eyeL[1]) < 1.5, `dot at (${bj}, ${bi}), eye at [${eyeL}]`);
  });
});

describe('decoder/surrogate: the template head (identity.target "template")', function () {
  this.timeout(60000);
  before(wasmEngine);

  const d = 6, D = 4, n = 120;
  const W = Float32Array.from({ length: d * D }, (_, i) => Math.sin(i + 1) * 0.5);
  const bias = Float32Array.from({ length: D }, (_, i) => 0.1 * (i - 1));
  const feats = values(n * d, 11, -1, 1);
  const temps = new Float32Array(n * D);
  for (let r = 0; r < n; r++) for (let c = 0; c < D; c++) {
    let v = bias[c];
    for (let i = 0; i < d; i++) v += feats[r * d + i] * W[i * D + c];
    temps[r * D + c] = v;
  }

  it('recovers a linear map with a bias from (embedding, template) pairs', () => {
    const h = fitTemplateHead(feats, temps, n, d, D, 1e-6);
    assert.equal(h.inDim, d); assert.equal(h.outDim, D);
    for (let i = 0; i < W.length; i++) assert.ok(Math.abs(h.W[i] - W[i]) < 1e-3, `W[${i}] ${h.W[i]} vs ${W[i]}`);
    for (let c = 0; c < D; c++) assert.ok(Math.abs(h.b[c] - bias[c]) < 1e-3, `b[${c}] ${h.b[c]} vs ${bias[c]}`);
    // The ridge penalty shrinks the map, never the bias.
    const shrunk = fitTemplateHead(feats, temps, n, d, D, 1e4);
    assert.ok(shrunk.W.every((w) => Math.abs(w) < 0.05), 'a large λ shrinks W towards 0');
    for (let c = 0; c < D; c++) {
      let mean = 0;
      for (let r = 0; r < n; r++) mean += temps[r * D + c] / n;
      assert.ok(Math.abs(shrunk.b[c] - mean) < 0.05, 'and leaves the bias at the templates\' mean');
    }
    assert.throws(() => fitTemplateHead(feats, temps, n + 1, d, D), /ridge: 121 pairs do not fit/);
  });

  it('normalises H·F alike as graph ops and on TF.js, and refuses a head of the wrong width', async () => {
    const h = fitTemplateHead(feats, temps, n, d, D, 0.1);
    // A stand-in surrogate whose F is the identity on d-vectors.
    const fake = {
      id: 'fake', dim: d, plan: {} as Surrogate['plan'],
      ort: { id: 'fake', dim: d, emit: (_b: GraphBuilder, img: string) => img },
      tfjs: async () => ({ embed: (img: tf.Tensor4D) => img as unknown as tf.Tensor2D, dispose: () => undefined }),
      embedCrops: async () => new Float32Array(0), dispose: async () => undefined,
    } as unknown as Surrogate;
    const sur = withTemplateHead(fake, h);
    assert.equal(sur.dim, D);
    assert.equal(sur.ort?.dim, D);
    const k = 5;
    const x = feats.subarray(0, k * d);
    const want = new Float32Array(k * D);
    for (let r = 0; r < k; r++) {
      let ss = 0;
      for (let c = 0; c < D; c++) {
        let v = h.b[c];
        for (let i = 0; i < d; i++) v += x[r * d + i] * h.W[i * D + c];
        want[r * D + c] = v; ss += v * v;
      }
      for (let c = 0; c < D; c++) want[r * D + c] /= Math.sqrt(ss);
    }
    const b = new GraphBuilder('head');
    const inp = b.input('x', [k, d]);
    b.rename(sur.ort!.emit(b, inp), 'y');
    b.output('y');
    const got = (await runGraph(b.toBytes(), { x: { data: Float32Array.from(x), shape: [k, d] } }, ['y'])).y;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `ORT y[${i}] ${got[i]} vs ${want[i]}`);
    const before = tf.memory().numTensors;
    const t = await sur.tfjs();
    const xt = tf.tensor2d(Float32Array.from(x), [k, d]);
    // Called inside a tidy or a gradient function, as the trainer does.
    const yt = tf.tidy(() => t.embed(xt as unknown as tf.Tensor4D));
    const tv = yt.dataSync();
    tf.dispose([xt, yt]);
    t.dispose();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(tv[i] - want[i]) < 1e-5, `TF.js y[${i}] ${tv[i]} vs ${want[i]}`);
    assert.equal(tf.memory().numTensors, before, 'no tensors left');
    await assert.rejects(sur.embedCrops(new Uint8Array(0), 0), /the targets are the attacked templates themselves/);
    assert.throws(() => withTemplateHead(fake, fitTemplateHead(temps, temps, n, D, D)), /template head takes 4-d embeddings, surrogate fake gives 6/);
  });
});

describe('decoder/linearBase and schedule', function () {
  this.timeout(60000);
  before(wasmEngine);

  it('fits a linear map from templates to pixels in closed form', async () => {
    const D = 4, P = 6, n = 40;
    const W = Float32Array.from({ length: D * P }, (_, i) => Math.sin(i + 1) * 0.2);
    const bias = Float32Array.from({ length: P }, (_, i) => 0.45 + 0.01 * i);
    const z = values(n * D, 5, -0.5, 0.5);
    const px = Array.from({ length: n }, (_, r) => Uint8Array.from({ length: P }, (_, q) => {
      let v = bias[q];
      for (let i = 0; i < D; i++) v += z[r * D + i] * W[i * P + q];
      return Math.round(v * 255);
    }));
    const fit = await fitLinearBase({ z, dim: D, n, outDim: P, pixels: (r) => px[r] }, 0);
    for (let i = 0; i < W.length; i++) assert.ok(Math.abs(fit.kernel[i] - W[i]) < 0.02, `W[${i}] ${fit.kernel[i]} vs ${W[i]}`);
    for (let q = 0; q < P; q++) assert.ok(Math.abs(fit.bias[q] - bias[q]) < 0.01);
    await assert.rejects(fitLinearBase({ z, dim: D, n: 3, outDim: P, pixels: (r) => px[r] }, 0), /3 training pairs cannot fit 5 coefficients per pixel without a ridge penalty/);
    const few = await fitLinearBase({ z, dim: D, n: 3, outDim: P, pixels: (r) => px[r] });
    assert.ok(few.kernel.every(Number.isFinite), 'with λ > 0 a few pairs still give a (shrunk) fit');
    await assert.rejects(fitLinearBase({ z, dim: D, n, outDim: P, pixels: (r) => px[r] }, -1), /λ must be a finite number ≥ 0/);
  });

  it('schedules the learning rate over the budget', () => {
    assert.equal(scheduledLearningRate('constant', 1e-3, 0.9), 1e-3);
    assert.equal(scheduledLearningRate('cosine', 1e-3, 0), 1e-3);
    assert.ok(Math.abs(scheduledLearningRate('cosine', 1e-3, 0.5) - 1e-3 * (0.01 + 0.99 * 0.5)) < 1e-12);
    assert.ok(Math.abs(scheduledLearningRate('cosine', 1e-3, 1) - 1e-5) < 1e-12);
    assert.equal(scheduledLearningRate('cosine', 1e-3, 7), scheduledLearningRate('cosine', 1e-3, 1), 'past the budget it stays at the floor');
    assert.deepEqual([0.1, 0.6, 0.8].map((f) => scheduledLearningRate('step', 1, f)), [1, 0.1, 0.01]);
  });
});
