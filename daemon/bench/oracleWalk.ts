/**
 * Measures the boundary walk after the first accept (../attack/oracle/boundaryWalk.ts) on held-out LFW, in the
 * setting of ./oracleSearch.ts `--decision` (seed-0 identity split; enrolled template = the first photo of each
 * held-out person under arcface512-faceplugin; the attacker's photos = the training side; thresholds from its
 * impostor pairs; the system accepts at FMR 1e-4 unless `--fmr 0.001`).
 *
 * First phase: the attacker's photos in hub order (greedy coverage of its own identities at the system's
 * threshold) until the first accept, answered from the cached templates. Second phase, for each subject whose
 * first accept was found: the walk in the PCA face model's latent space with the accepted photo's pixel residual
 * kept (so walk budget 0 is the photo itself); each walk query is the system's encoder on the rendered face
 * rounded to 8 bits, at the system's threshold. At each walk budget the face is scored (outside the count):
 * the system's score, type I at 1e-3 / 1e-4, type II (the subject's second photo's template against the face's
 * template, at the same thresholds; subjects with a second photo) and transfer (human-faceres on the face, put
 * in its frame as the evaluation's `direct` protocol does, against human-faceres's template of the enrolled
 * photo, at its own impostor thresholds). The lookalike row (the attacker photo nearest the enrolled template)
 * is scored the same way.
 *
 *   node out/daemon/bench/oracleWalk.js [--subjects 100] [--with-second] [--first 10000] [--budgets 0,100,300,1000] [--totals 1000,3000,10000] [--fmr 0.0001]
 *     [--directions 20] [--subspace 512] [--radius 4] [--max-radius 16] [--step 0.5] [--halvings 2]
 *   --validate [--grid 20:64:4:0.5,20:512:4:0.5]: the settings' check on the attacker's side only — its own
 *   identities split 80 / 20 (seeded, as oracleSearch's --validate), hub order of the 80 %'s photos, the 20 %
 *   (first photo enrolled, second for type II) as stand-in subjects; each grid entry is
 *   directions:subspace:radius:step[:maxRadius]. No held-out subject is read.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset } from '../data/dataset';
import { runFacePipeline } from '../data/pipeline';
import { seededShuffle } from '../data/split';
import type { FaceGeometry } from '../data/align';
import { loadEncoderById } from '../encoders/load';
import { findEncoderConfig } from '../encoders/registry';
import type { Encoder } from '../encoders/types';
import { meanFaceGeometry } from '../evaluation/meanGeometry';
import { directCrop } from '../evaluation/protocols';
import { loadPcaFaceModel, type PcaFaceModel } from '../attack/faceModel/pca';
import { firstAccepts, hubOrders } from '../attack/oracle/decisionSearch';
import { DEFAULT_WALK, type WalkOptions } from '../attack/oracle/boundaryWalk';
import { walkFromPhoto, type WalkedFaces } from '../attack/oracle/walkFaces';
import { cosine } from '../attack/oracle/scoreRecovery';
import { initEngine } from '../tfjs/backend';
import { tf } from '../tfjs/tf';
import { rows } from './scoreOracle';
import { firstRows, median, openLfw, otherView, ownValidationSplit, pct, type Lfw } from './oracleSearch';
import { TRANSFER_SCORER } from './transferScorer';

type Walk = Omit<WalkOptions, 'budgets' | 'seed' | 'clamp' | 'onStep'>;
interface Options { withSecond: boolean; subjects: number; first: number; budgets: number[]; totals: number[]; fmr: number; walk: Walk; validate: boolean; grid: Walk[]; encoder: string; faceModel: string }

function parse(argv: string[]): Options {
  const o: Options = { withSecond: false, subjects: 100, first: 10000, budgets: [0, 100, 300, 1000], totals: [1000, 3000, 10000], fmr: 1e-4, walk: { ...DEFAULT_WALK }, validate: false, grid: [], encoder: 'arcface512-faceplugin', faceModel: '.cache/embeddings/facemodels/pca-1d003e55085f1e36' };
  const num = (v: string, name: string) => { const x = Number(v); if (!Number.isFinite(x)) throw new Error(`${name}: not a number (${v})`); return x; };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--validate') { o.validate = true; i--; } else if (k === '--with-second') { o.withSecond = true; i--; } else if (k === '--subjects') o.subjects = num(v, k);
    else if (k === '--first') o.first = num(v, k);
    else if (k === '--budgets') o.budgets = v.split(',').map((x) => num(x, k));
    else if (k === '--totals') o.totals = v.split(',').map((x) => num(x, k));
    else if (k === '--fmr') o.fmr = num(v, k);
    else if (k === '--directions') o.walk.directions = num(v, k);
    else if (k === '--subspace') o.walk.subspace = num(v, k);
    else if (k === '--radius') o.walk.radius = num(v, k);
    else if (k === '--max-radius') o.walk.maxRadius = num(v, k);
    else if (k === '--step') o.walk.stepScale = num(v, k);
    else if (k === '--halvings') o.walk.halvings = num(v, k);
    else if (k === '--grid') o.grid = v.split(',').map((g) => { const [d, s, r, st, mr] = g.split(':').map((x) => num(x, k)); return { ...o.walk, directions: d, subspace: s, radius: r, stepScale: st, ...(mr !== undefined ? { maxRadius: mr } : {}) }; });
    else if (k === '--facemodel') o.faceModel = v;
    else throw new Error(`unknown option ${k}`);
  }
  if (o.fmr !== 1e-3 && o.fmr !== 1e-4) throw new Error(`--fmr: 0.001 or 0.0001, not ${o.fmr}`);
  return o;
}

/** The system's encoder and the attacker's face model, and the walk of one subject through them. */
interface Walker { model: PcaFaceModel; encoder: Encoder; S: number }

async function openWalker(o: Options): Promise<Walker> {
  const model = loadPcaFaceModel(o.faceModel);
  if (!model) throw new Error(`no PCA face model in ${o.faceModel}`);
  const encoder = await loadEncoderById(o.encoder);
  if (model.frame.size !== encoder.inputSize) throw new Error(`the walk bench renders in the encoder's crop: face model ${model.frame.size} px, ${o.encoder} ${encoder.inputSize} px`);
  return { model, encoder, S: encoder.inputSize };
}

type Walked = WalkedFaces;

/** One subject's walk from the accepted photo's crop: accepted when the system's template is at `thr` or above to `enrolled`. */
function walkSubject(w: Walker, crop: Uint8Array, enrolled: Float32Array, thr: number, walk: Walk, budgets: number[], seed: number): Promise<Walked> {
  const accepts = async (x: tf.Tensor4D) => (await w.encoder.embed(x)).map((e) => cosine(e, enrolled) >= thr);
  return walkFromPhoto(w.model, crop, accepts, { ...walk, budgets, seed });
}

/** Templates of uint8 crops in `spec`'s frame by `encoder`. */
async function embedCropsOf(encoder: Encoder, crops: Uint8Array[], size: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let s = 0; s < crops.length; s += 32) {
    const part = crops.slice(s, s + 32);
    const buf = new Uint8Array(part.length * size * size * 3);
    part.forEach((c, k) => buf.set(c, k * size * size * 3));
    const x = tf.tidy(() => {
      const t = tf.div(tf.tensor4d(buf, [part.length, size, size, 3], 'float32'), 255) as tf.Tensor4D;
      return size === encoder.inputSize ? t : tf.image.resizeBilinear(t, [encoder.inputSize, encoder.inputSize], false, true);
    });
    try { out.push(...(await encoder.embed(x))); } finally { x.dispose(); }
  }
  return out;
}


/** Hub order of `pool` rows at the system threshold, and the first accepts of `enrolledRows` (cached templates). */
async function firstPhase(L: Lfw, poolRows: number[], popRows: number[], enrolled: Map<string, number>, subjects: string[], thr: number, budget: number) {
  const id = (r: number) => L.set.identities[r];
  // The order takes minutes on two shared cores and depends only on the attacker's side: kept between runs.
  const key = createHash('sha256').update(JSON.stringify([poolRows, popRows, thr, L.thr[0], L.set.rels.length])).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `faceinv-walk-hub-${key}.bin`);
  let order: Int32Array;
  if (fs.existsSync(file)) order = new Int32Array(new Uint8Array(fs.readFileSync(file)).buffer);
  else {
    order = hubOrders(rows(L.set.embeddings, L.dim, poolRows), poolRows.map(id), rows(L.set.embeddings, L.dim, popRows), popRows.map(id), L.dim, { thresholds: [thr], looser: L.thr[0] - 0.05 })[0];
    fs.writeFileSync(file, Buffer.from(order.buffer, order.byteOffset, order.byteLength));
  }
  if (order.length !== poolRows.length) throw new Error(`${file}: a hub order of ${order.length} photos, the pool has ${poolRows.length}`);
  const res = await firstAccepts(subjects, order, async (s, p) => cosine(L.emb(poolRows[p]), L.emb(enrolled.get(s)!)) >= thr, budget);
  return res.map((r) => ({ ...r, row: r.photo >= 0 ? poolRows[r.photo] : -1 }));
}

const cropOf = (L: Lfw, r: number, S: number) => L.set.crops.slice(r * S * S * 3, (r + 1) * S * S * 3);

/** The transfer scorer, the frame change into its crop, its templates of the LFW rows and its thresholds. */
interface Transfer { encoder: Encoder; size: number; toFrame: (crop: Uint8Array) => Uint8Array; emb: Float32Array; dim: number; thr: number[] }

async function openTransfer(L: Lfw, o: Options, S: number): Promise<Transfer> {
  const view = await otherView(TRANSFER_SCORER, L);
  const spec = findEncoderConfig(TRANSFER_SCORER).config.alignment;
  const frame = findEncoderConfig(o.encoder).config.alignment;
  // The mean face geometry of the attacker's photos (as the evaluation's `direct` protocol): no held-out face in it.
  const out = await runFacePipeline(openImageDataset(resolveDatasetPath('lfw', process.cwd())), {}, {});
  const own = new Set(L.trainIdx.map((r) => L.set.rels[r]));
  const geometry: FaceGeometry = meanFaceGeometry(out.analyses.filter((_, i) => own.has(out.images[i].rel)), { ...frame, size: S });
  const encoder = await loadEncoderById(TRANSFER_SCORER);
  return { encoder, size: spec.size, toFrame: (crop) => directCrop(crop, { ...frame, size: S }, spec, geometry), emb: view.emb, dim: view.dim, thr: view.thr };
}

interface Scored { sys: number; second?: number; transfer?: number }

/** A face's (uint8 crop in the system's frame) scores against a subject's enrolled and second photos, and by the transfer scorer. */
async function scoreFaces(L: Lfw, w: Walker, tr: Transfer, faces: Uint8Array[], subjects: string[]): Promise<Scored[]> {
  const sys = await embedCropsOf(w.encoder, faces, w.S);
  const other = await embedCropsOf(tr.encoder, faces.map(tr.toFrame), tr.size);
  return subjects.map((s, i) => {
    const second = L.secondOf.get(s);
    const te = tr.emb.subarray(L.firstOf.get(s)! * tr.dim, (L.firstOf.get(s)! + 1) * tr.dim);
    const hasT = te.some((v) => v !== 0);
    return { sys: cosine(sys[i], L.emb(L.firstOf.get(s)!)), ...(second !== undefined ? { second: cosine(sys[i], L.emb(second)) } : {}), ...(hasT ? { transfer: cosine(other[i], te) } : {}) };
  });
}

function printRow(name: string, sc: Scored[], L: Lfw, tr: Transfer): void {
  const sec = sc.filter((s) => s.second !== undefined).map((s) => s.second!);
  const trs = sc.filter((s) => s.transfer !== undefined).map((s) => s.transfer!);
  console.log(`${name} | ${median(sc.map((s) => s.sys)).toFixed(4)} | ${L.thr.map((t) => pct(sc.map((s) => s.sys >= t))).join(' | ')} | ${L.thr.map((t) => pct(sec.map((c) => c >= t))).join(' | ')} (${sec.length}) | ${median(trs).toFixed(4)} | ${tr.thr.map((t) => pct(trs.map((c) => c >= t))).join(' | ')} (${trs.length})`);
}

/**
 * Type I of the face each subject holds within a total of T queries (first phase + walk), over all subjects: the
 * walk's face at the largest walk budget that fits after the subject's first accept; none held before it.
 */
function printTotals(o: Options, L: Lfw, subjects: number, firstQueries: number[], scored: Scored[][]): void {
  console.log(`total queries (first phase + walk) | type I @1e-3 | type I @1e-4 (all ${subjects} subjects; the face held: walk budget ${o.budgets.join(' / ')} that fits)`);
  for (const T of o.totals) {
    const held = firstQueries.map((q, i) => {
      const b = o.budgets.reduce((best, budget, j) => (q + budget <= T && (best < 0 || budget > o.budgets[best]) ? j : best), -1);
      return b < 0 ? null : scored[b][i].sys;
    });
    // Subjects with no first accept hold nothing: failures in every row.
    console.log(`≤${T} | ${L.thr.map((t) => pct([...held.map((s) => s !== null && s >= t), ...Array<boolean>(subjects - held.length).fill(false)])).join(' | ')}`);
  }
}

async function heldOut(o: Options, L: Lfw): Promise<void> {
  const t0 = Date.now();
  const k = o.fmr === 1e-3 ? 0 : 1, thr = L.thr[k];
  // --with-second: only held-out people with a second photo (the type II measure needs one), in the same seeded order.
  const pick = o.withSecond ? seededShuffle([...L.secondOf.keys()].sort(), 0).slice(0, o.subjects) : L.subjects;
  const first = await firstPhase(L, L.trainIdx, firstRows(L, L.trainIdx), L.firstOf, pick, thr, o.first);
  const acc = first.filter((r) => r.row >= 0);
  console.log(`first phase: hub order at the system threshold ${thr.toFixed(4)} (FMR ${o.fmr}), ${pick.length} held-out subjects${o.withSecond ? ' with a second photo' : ''}: ${acc.length} accepted within ${o.first} queries (median ${median(acc.map((r) => r.queries))}); ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  // Subjects the walk cannot start for, by reason (no accepted face to walk from, or the oracle's error).
  const why = new Map<string, string[]>();
  for (const r of first) if (r.row < 0) { const k = r.error ?? `no accept within ${o.first} queries`; why.set(k, [...(why.get(k) ?? []), r.subject]); }
  for (const [k, ss] of why) console.log(`  not walked, ${k}: ${ss.length} subjects (${ss.slice(0, 3).join(', ')}${ss.length > 3 ? ', …' : ''})`);
  const w = await openWalker(o);
  const tr = await openTransfer(L, o, w.S);
  const t1 = Date.now();
  const walked: Walked[] = [];
  for (const [i, r] of acc.entries()) walked.push(await walkSubject(w, cropOf(L, r.row, w.S), L.emb(L.firstOf.get(r.subject)!), thr, o.walk, o.budgets, i));
  const subjects = acc.map((r) => r.subject);
  console.log(`walk: ${JSON.stringify(o.walk)}; ${acc.length} subjects, ${((Date.now() - t1) / 1000).toFixed(0)} s; steps moved (median) ${median(walked.map((x) => x.moved))}, final radius (median) ${median(walked.map((x) => x.radius)).toFixed(2)}; transfer (${TRANSFER_SCORER}) thresholds ${tr.thr.map((t) => t.toFixed(4)).join(', ')}`);
  console.log('walk queries after the first accept | median system score | type I @1e-3 | type I @1e-4 | type II @1e-3 | type II @1e-4 (n) | median transfer cos | transfer @1e-3 | transfer @1e-4 (n)');
  const scored: Scored[][] = [];
  for (const [b, budget] of o.budgets.entries()) {
    scored.push(await scoreFaces(L, w, tr, walked.map((x) => x.faces[b]), subjects));
    printRow(`+${budget}`, scored[b], L, tr);
  }
  printTotals(o, L, first.length, acc.map((r) => r.queries), scored);
  // The lookalike: the attacker photo nearest each of these subjects' enrolled template (it needs the template).
  const near = subjects.map((s) => { const t = L.emb(L.firstOf.get(s)!); let best = -1, bc = -2; for (const r of L.trainIdx) { const c = cosine(L.emb(r), t); if (c > bc) { bc = c; best = r; } } return best; });
  printRow('lookalike', await scoreFaces(L, w, tr, near.map((r) => cropOf(L, r, w.S)), subjects), L, tr);
  w.encoder.dispose(); w.model.dispose(); tr.encoder.dispose();
}

/** `--validate`: walk settings judged on a validation part of the attacker's own identities. */
async function validate(o: Options, L: Lfw): Promise<void> {
  const idOf = (r: number) => L.set.identities[r];
  const { fit: fitRows, val: valRows } = ownValidationSplit(L);
  const firstOf = new Map<string, number>(), secondOf = new Map<string, number>();
  for (const r of valRows) { const id = idOf(r); if (!firstOf.has(id)) firstOf.set(id, r); else if (!secondOf.has(id)) secondOf.set(id, r); }
  // Stand-in subjects with a second photo (type II is what the walk should raise).
  const subjects = seededShuffle([...secondOf.keys()].sort(), 0).slice(0, o.subjects);
  const k = o.fmr === 1e-3 ? 0 : 1, thr = L.thr[k];
  const first = await firstPhase(L, fitRows, firstRows(L, fitRows), firstOf, subjects, thr, o.first);
  const acc = first.filter((r) => r.row >= 0);
  console.log(`validation (own identities: ${new Set(fitRows.map(idOf)).size} fit, ${new Set(valRows.map(idOf)).size} validation; ${subjects.length} stand-in subjects with a second photo): ${acc.length} accepted within ${o.first} queries at ${thr.toFixed(4)}`);
  const w = await openWalker(o);
  console.log('setting | walk queries | median system score | type II @1e-3 | type II @1e-4');
  for (const walk of o.grid.length ? o.grid : [o.walk]) {
    const t0 = Date.now();
    const walked: Walked[] = [];
    for (const [i, r] of acc.entries()) walked.push(await walkSubject(w, cropOf(L, r.row, w.S), L.emb(firstOf.get(r.subject)!), thr, walk, o.budgets, i));
    const name = `${walk.directions}:${walk.subspace}:${walk.radius}:${walk.stepScale}:${walk.maxRadius}`;
    for (const [b, budget] of o.budgets.entries()) {
      const t = await embedCropsOf(w.encoder, walked.map((x) => x.faces[b]), w.S);
      const sys = acc.map((r, i) => cosine(t[i], L.emb(firstOf.get(r.subject)!)));
      const sec = acc.map((r, i) => cosine(t[i], L.emb(secondOf.get(r.subject)!)));
      console.log(`${name} | +${budget} | ${median(sys).toFixed(4)} | ${L.thr.map((th) => pct(sec.map((c) => c >= th))).join(' | ')}`);
    }
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  w.encoder.dispose(); w.model.dispose();
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const t0 = Date.now();
  await initEngine({});
  const L = await openLfw({ decision: false, encoder: o.encoder, subjects: o.subjects });
  console.log(`LFW, crops and thresholds: ${((Date.now() - t0) / 1000).toFixed(0)} s; thresholds ${L.thr.map((t, k) => `${t.toFixed(4)} @FMR ${L.fmrs[k]}`).join(', ')}`);
  if (o.validate) await validate(o, L); else await heldOut(o, L);
}

if (require.main === module) main().catch((e) => { console.error((e as Error).stack); process.exit(1); });
