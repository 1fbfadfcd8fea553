/**
 * Measures the attacks on a score oracle without an encoder (../attack/oracle/probeMap.ts + the zeroth-order
 * query search) and on a decision oracle (../attack/oracle/decisionSearch.ts) on held-out LFW, in the setting
 * of ./scoreOracle.ts (seed-0 identity split; enrolled template = the first photo of each held-out person under
 * arcface512-faceplugin; the attacker's photos = the training side; thresholds from its impostor pairs).
 *
 * --decision: the first-accept curve of the hub order beside the random order (the naive baseline), from the
 *   cached embeddings (a real photo's answer is its cached template's cosine: no rendering involved).
 *   --master N: also N synthesised faces (../attack/oracle/masterFaces.ts, built from the attacker's own photos
 *   and identities only) merged into the hub order; a synthesised face's answer is the cosine of the template
 *   the encoder computes on the rendered 8-bit image (checked against a PNG round trip) to the enrolled one.
 * default (score, no encoder): P probe photos answered once → ridge start (fitted on `--train` of the
 *   attacker's own photos, scored against each other as its own enrolled identities) → zeroth-order search on
 *   the answered score (rounded to `--decimals`), the system's real encoder in the loop for every rendered
 *   query. Prints type I at FMR 1e-3 / 1e-4 (the system's score of the best face, exact) at each query count,
 *   and the lookalike baseline (the attacker photo nearest the enrolled template: favours the baseline).
 *   --service: the subjects' queries (probes and search) go as PNG crops over HTTP on loopback to the
 *   verification service of `faceinv serve-verifier` (daemon/server/verifierService.ts, the same code), which
 *   rounds to `--decimals`, locks a subject out after `--attempts`, and logs every query; the bench prints the
 *   service's own count beside the attack's.
 *
 *   The first row is the ranked pool's pick (../attack/oracle/probeRetrieval.ts: the own photo with the highest
 *   predicted answer, its map fitted on `--enrolled` own enrolments), printed beside the ridge start it lost to.
 *   --validate (without --decision): the start's choice on the attacker's side only — its own identities split
 *   80 / 20 (seeded), face model, probes, map and pool from the 80 %, the 20 %'s first photos as subjects; prints
 *   the first face's type I for the ranked pool and for the ridge start at several caricature scales.
 *   node out/daemon/bench/oracleSearch.js [--decision] [--service] [--attempts N] [--subjects 30] [--probes 100] [--train 3000] [--enrolled 1000] [--decimals 2] [--queries 100,300,1000]
 *   node out/daemon/bench/oracleSearch.js --validate [--kernel] [--subjects 300] [--train 8000] [--design random|dopt] [--candidates 1000] [--design-rows 2000] [--jitter 1e-4] [--map-lambda 0.1]
 *   (--design, --candidates, --design-rows, --jitter and --map-lambda apply to the score search too.)
 *   (--kernel adds kernel-ridge start maps, which lost.)
 *   --surrogate ID [--warmup 10] [--warmup-lr 0.05]: the attacker also owns encoder ID (attacker.encoder "other"): the
 *   start is warmed up through it (../attack/oracle/probeSurrogate.ts), no query spent; with --validate, a row per
 *   comma-separated --warmup length; in the score search one length, and the probe map's start printed beside it.
 *   --own-view K [--own-evals 25,50,100] [--gram-lambda 0.1]: no encoder at all, but the attacker reads the system's
 *   answers for any face against K identities it enrolled itself (../attack/oracle/ownView.ts): the subject's
 *   predicted template t̂ from its probe answers, then a zeroth-order search of the face model on the score against
 *   t̂ — each evaluation K queries to the attacker's own identities, none to the subject (rows per evaluation count).
 *   --validate (with --master): the settings' check on the attacker's side only — its own identities split 80 / 20
 *   (seeded), faces built from the 80 %'s photos and identities, and the 20 % (first photo each) no 80 % photo
 *   matches at 1e-4 counted as newly matched by the faces. No held-out subject is read.
 *   node out/daemon/bench/oracleSearch.js --decision [--master 1000] [--group 5] [--steps 0] [--validate] [--subjects 300] [--queries 1000,10000]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset } from '../data/dataset';
import { getEmbeddings, getEmbeddingsWithCrops } from '../data/embeddingCache';
import { seededShuffle } from '../data/split';
import { loadEncoderById } from '../encoders/load';
import { findEncoderConfig } from '../encoders/registry';
import { buildPcaFaceModel, loadPcaFaceModel, type PcaFaceModel } from '../attack/faceModel/pca';
import { firstAccepts, hubOrders, type ExtraCandidates } from '../attack/oracle/decisionSearch';
import { synthesiseMasterFaces, uncoveredRows, type MasterFaces } from '../attack/oracle/masterFaces';
import { fitProbeMap, probeStart, PROBE_START_CARICATURE } from '../attack/oracle/probeMap';
import { PROBE_WARMUP, warmProbeStarts, type ProbeAnswerPhotos } from '../attack/oracle/probeSurrogate';
import { designedProbeRows, PROBE_DESIGN } from '../attack/oracle/probeDesign';
import { fitOwnViewOnPhotos, OWN_VIEW, predictedTemplates, searchOwnView, type OwnViewFit } from '../attack/oracle/ownView';
import { applyKernelRidge, fitKernelRidge } from '../math/kernelRidge';
import { fitProbeRetrieval, retrievedPhotos } from '../attack/oracle/probeRetrieval';
import { cosine } from '../attack/oracle/scoreRecovery';
import { QueryOracle } from '../attack/search/oracle';
import { querySearch } from '../attack/search/querySearch';
import { initEngine } from '../tfjs/backend';
import { tf } from '../tfjs/tf';
import { enrolledSubjects, rows, thresholds } from './scoreOracle';
import { startVerifierService, type VerifierService } from '../server/verifierService';
import { VerifierClient } from '../encoders/verifierClient';
import { SubjectOracleError } from '../protocol/verifierApi';
import type { Encoder } from '../encoders/types';
import { roundScore } from '../math/roundScore';

interface Options { ownView: number; ownEvals: number[]; gramLambda: number; surrogate?: string; warmup: number[]; warmupLr: number; mapLambda: number; design: 'random' | 'dopt'; candidates: number; designRows: number; jitter: number; kernel: boolean; enrolled: number; validate: boolean; master: number; group: number; steps: number; attackerEncoder?: string; service: boolean; attempts?: number; decision: boolean; subjects: number; probes: number; train: number; decimals?: number; queries: number[]; encoder: string; faceModel: string; sigma: number; learningRate: number }

function parse(argv: string[]): Options {
  const o: Options = { ownView: 0, ownEvals: [25, 50, OWN_VIEW.evaluations], gramLambda: OWN_VIEW.gramLambda, warmup: [PROBE_WARMUP.steps], warmupLr: PROBE_WARMUP.learningRate, mapLambda: 0.1, design: 'dopt', candidates: PROBE_DESIGN.candidates, designRows: PROBE_DESIGN.designRows, jitter: PROBE_DESIGN.jitter, kernel: false, enrolled: 1000, validate: false, master: 0, group: 5, steps: 0, service: false, decision: false, subjects: 30, probes: 100, train: 3000, queries: [100, 300, 1000], encoder: 'arcface512-faceplugin', faceModel: path.join('.cache', 'embeddings', 'facemodels', 'pca-1d003e55085f1e36'), sigma: 0.5, learningRate: 0.1 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--decision') { o.decision = true; i--; } else if (argv[i] === '--subjects') o.subjects = Number(v);
    else if (argv[i] === '--probes') o.probes = Number(v);
    else if (argv[i] === '--master') o.master = Number(v);
    else if (argv[i] === '--validate') { o.validate = true; i--; }
    else if (argv[i] === '--group') o.group = Number(v);
    else if (argv[i] === '--steps') o.steps = Number(v);
    else if (argv[i] === '--train') o.train = Number(v);
    else if (argv[i] === '--enrolled') o.enrolled = Number(v);
    else if (argv[i] === '--kernel') { o.kernel = true; i--; }
    else if (argv[i] === '--design') { if (v !== 'random' && v !== 'dopt') throw new Error(`--design must be random or dopt, got ${v}`); o.design = v; }
    else if (argv[i] === '--candidates') o.candidates = Number(v);
    else if (argv[i] === '--design-rows') o.designRows = Number(v);
    else if (argv[i] === '--jitter') o.jitter = Number(v);
    else if (argv[i] === '--map-lambda') o.mapLambda = Number(v);
    else if (argv[i] === '--decimals') o.decimals = Number(v);
    else if (argv[i] === '--attempts') o.attempts = Number(v);
    else if (argv[i] === '--attacker-encoder') o.attackerEncoder = v;
    else if (argv[i] === '--surrogate') o.surrogate = v;
    else if (argv[i] === '--warmup') o.warmup = v.split(',').map(Number);
    else if (argv[i] === '--warmup-lr') o.warmupLr = Number(v);
    else if (argv[i] === '--own-view') o.ownView = Number(v);
    else if (argv[i] === '--own-evals') o.ownEvals = v.split(',').map(Number);
    else if (argv[i] === '--gram-lambda') o.gramLambda = Number(v);
    else if (argv[i] === '--service') { o.service = true; i--; }
    else if (argv[i] === '--queries') o.queries = v.split(',').map(Number);
    else if (argv[i] === '--encoder') o.encoder = v;
    else if (argv[i] === '--facemodel') o.faceModel = v;
    else if (argv[i] === '--sigma') o.sigma = Number(v);
    else if (argv[i] === '--lr') o.learningRate = Number(v);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

export type Lfw = Awaited<ReturnType<typeof openLfw>>;

export async function openLfw(o: Pick<Options, 'decision' | 'encoder' | 'subjects'>) {
  const ds = openImageDataset(resolveDatasetPath('lfw', process.cwd()));
  // The decision bench answers from cached templates only; the score search renders and needs the crops too.
  const set = o.decision ? { ...(await getEmbeddings(ds, o.encoder, {})), crops: new Uint8Array(0) } : await getEmbeddingsWithCrops(ds, o.encoder, findEncoderConfig(o.encoder).config.alignment, {});
  const dim = set.dim;
  const { trainIdx, firstOf, secondOf, subjects } = enrolledSubjects(ds.identities, set.identities, o.subjects);
  const fmrs = [1e-3, 1e-4];
  const thr = thresholds(set.embeddings, dim, set.identities, trainIdx, fmrs);
  const emb = (r: number) => set.embeddings.subarray(r * dim, (r + 1) * dim);
  return { set, dim, trainIdx, firstOf, secondOf, subjects, fmrs, thr, emb };
}

/** The share of `true`, as the benches print it ('–' for none). */
export const pct = (a: boolean[]) => (a.length ? `${((100 * a.filter(Boolean).length) / a.length).toFixed(1)} %` : '–');
export const median = (a: number[]) => { if (!a.length) return NaN; const s = a.slice().sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
/** The first of `rs` for each identity (an identity's enrolled or representative photo), in order. */
export const firstRows = (L: Lfw, rs: readonly number[]) => { const seen = new Set<string>(); return rs.filter((r) => !seen.has(L.set.identities[r]) && seen.add(L.set.identities[r])); };
/**
 * The attacker's own photos split by identity 80 / 20 (seeded): the decision benches' validation on the attacker's
 * side — `fit` rows stand for its photos, `val` rows for the subjects; no held-out subject is read.
 */
export function ownValidationSplit(L: Lfw): { fit: number[]; val: number[] } {
  const idOf = (r: number) => L.set.identities[r];
  const own = [...new Set(L.trainIdx.map(idOf))].sort();
  const val = new Set(seededShuffle(own.slice(), 11).slice(0, Math.round(own.length * 0.2)));
  return { fit: L.trainIdx.filter((r) => !val.has(idOf(r))), val: L.trainIdx.filter((r) => val.has(idOf(r))) };
}

/** The attacker photo nearest each enrolled template, accepted or not at each threshold. */
function lookalike(L: Lfw): boolean[][] {
  const best = L.subjects.map((id) => Math.max(...L.trainIdx.map((r) => cosine(L.emb(r), L.emb(L.firstOf.get(id)!)))));
  return L.thr.map((t) => best.map((b) => b >= t));
}

/** Another encoder's templates in the rows of L (zero rows where it found no face), and its thresholds at the same FMRs. */
export async function otherView(id: string, L: Lfw): Promise<{ emb: Float32Array; dim: number; thr: number[] }> {
  const set = await getEmbeddings(openImageDataset(resolveDatasetPath('lfw', process.cwd())), id, {});
  const rowOf = new Map(set.rels.map((r, i) => [r, i]));
  const emb = new Float32Array(L.set.rels.length * set.dim);
  L.set.rels.forEach((rel, i) => { const j = rowOf.get(rel); if (j !== undefined) emb.set(set.embeddings.subarray(j * set.dim, (j + 1) * set.dim), i * set.dim); });
  const own = L.trainIdx.filter((r) => rowOf.has(L.set.rels[r]));
  return { emb, dim: set.dim, thr: thresholds(emb, set.dim, L.set.identities, own, L.fmrs) };
}

async function decision(o: Options, L: Lfw): Promise<void> {
  const t0 = Date.now();
  // The population the attacker ranks hubs on: one photo per own identity (its first).
  const popRows = firstRows(L, L.trainIdx);
  const pool = rows(L.set.embeddings, L.dim, L.trainIdx), poolIds = L.trainIdx.map((r) => L.set.identities[r]);
  const popIds = popRows.map((r) => L.set.identities[r]);
  const maxQ = Math.max(...o.queries);
  if (o.master && o.attackerEncoder) throw new Error('--master builds the faces with the copy (the system\'s encoder); it does not combine with --attacker-encoder');
  // The attacker ranks with its own encoder (attacker.encoder "other") at its own thresholds, or with the copy.
  const view = o.attackerEncoder ? await otherView(o.attackerEncoder, L) : { emb: L.set.embeddings, dim: L.dim, thr: L.thr };
  const hubs = hubOrders(rows(view.emb, view.dim, L.trainIdx), poolIds, rows(view.emb, view.dim, popRows), popIds, view.dim, { thresholds: view.thr, looser: view.thr[0] - 0.05 });
  if (o.attackerEncoder) console.log(`hub order ranked with ${o.attackerEncoder} (the attacker's other encoder) at its own thresholds ${view.thr.map((t) => t.toFixed(4)).join(', ')}`);
  const orders: Record<string, Int32Array> = { random: Int32Array.from(seededShuffle(L.trainIdx.map((_, k) => k), 2)), ...Object.fromEntries(L.fmrs.map((f, k) => [`hub@${f}`, hubs[k]])) };
  console.log(`decision oracle: ${L.trainIdx.length} attacker photos (population ${popRows.length} own identities), ${L.subjects.length} held-out subjects; thresholds ${L.thr.map((t, k) => `${t.toFixed(4)} @FMR ${L.fmrs[k]}`).join(', ')}; orders ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Candidates: the photos, then (with --master) the synthesised faces at index poolN + j.
  let candidates = pool;
  if (o.master) {
    const t1 = Date.now();
    const mf = await masterFaces(o, L, pool, poolIds, rows(L.set.embeddings, L.dim, popRows), popIds);
    const t2 = Date.now();
    const extra: ExtraCandidates = { templates: mf.templates, ids: mf.ids };
    const withMaster = hubOrders(pool, poolIds, rows(L.set.embeddings, L.dim, popRows), popIds, L.dim, { thresholds: L.thr, looser: L.thr[0] - 0.05, extra });
    L.fmrs.forEach((f, k) => { orders[`hub+master@${f}`] = withMaster[k]; });
    candidates = new Float32Array(pool.length + mf.templates.length);
    candidates.set(pool);
    candidates.set(mf.templates, pool.length);
    const firstMaster = withMaster.map((ord) => ord.findIndex((p) => p >= L.trainIdx.length));
    console.log(`master faces: ${mf.ids.length} synthesised (group ${o.group}, ${o.steps} refinement steps; ${mf.copyQueries} free copy queries), own identities no photo covers @${L.fmrs[1]} ${mf.uncoveredBefore} → ${mf.uncoveredAfter}; ${((t2 - t1) / 1000).toFixed(0)} s; order with them ${((Date.now() - t2) / 1000).toFixed(0)} s; first synthesised face at query ${firstMaster.map((x, k) => `${x + 1} @${L.fmrs[k]}`).join(', ')}`);
  }
  const ans = (k: number, subject: string, p: number) => cosine(candidates.subarray(p * L.dim, (p + 1) * L.dim), L.emb(L.firstOf.get(subject)!)) >= L.thr[k];
  const lk = lookalike(L);
  console.log(`lookalike (nearest attacker photo to the enrolled template): ${L.fmrs.map((f, k) => `${pct(lk[k])} @${f}`).join(', ')}`);
  if (o.master) {
    const nPool = L.trainIdx.length, nAll = candidates.length / L.dim;
    const any = (k: number, from: number, to: number) => L.subjects.map((s) => { for (let p = from; p < to; p++) if (ans(k, s, p)) return true; return false; });
    console.log(`ceiling (subjects any candidate matches): photos ${L.fmrs.map((f, k) => `${pct(any(k, 0, nPool))} @${f}`).join(', ')}; synthesised faces alone ${L.fmrs.map((f, k) => `${pct(any(k, nPool, nAll))} @${f}`).join(', ')}; photos + synthesised ${L.fmrs.map((f, k) => `${pct(any(k, 0, nAll))} @${f}`).join(', ')}`);
  }
  console.log(`order (system threshold) | ${o.queries.map((q) => `≤${q}`).join(' | ')}`);
  for (const [name, order] of Object.entries(orders)) {
    for (let k = 0; k < L.fmrs.length; k++) {
      if (name.includes('@') && !name.endsWith(`@${L.fmrs[k]}`)) continue;
      const res = await firstAccepts(L.subjects, order, async (subject, p) => ans(k, subject, p), maxQ);
      const bySynth = res.filter((r) => r.photo >= L.trainIdx.length).length;
      console.log(`${name} @FMR ${L.fmrs[k]} | ${o.queries.map((q) => pct(res.map((r) => r.photo >= 0 && r.queries <= q))).join(' | ')}${name.startsWith('hub+master') ? ` | first accept by a synthesised face: ${bySynth}` : ''}`);
    }
  }
}

/** `--validate`: the master faces' settings judged on a validation part of the attacker's own identities. */
async function validateMaster(o: Options, L: Lfw): Promise<void> {
  const t0 = Date.now();
  const idOf = (r: number) => L.set.identities[r];
  const { fit: fitRows, val } = ownValidationSplit(L);
  const popRows = firstRows(L, fitRows), valRows = firstRows(L, val);
  const pool = rows(L.set.embeddings, L.dim, fitRows), poolIds = fitRows.map(idOf);
  const valT = rows(L.set.embeddings, L.dim, valRows);
  const open = uncoveredRows(pool, poolIds, valT, valRows.map(idOf), L.dim, L.thr[1]);
  const mf = await masterFaces(o, L, pool, poolIds, rows(L.set.embeddings, L.dim, popRows), popRows.map(idOf));
  const newly = open.filter((q) => mf.ids.some((_, k) => cosine(mf.templates.subarray(k * L.dim, (k + 1) * L.dim), valT.subarray(q * L.dim, (q + 1) * L.dim)) >= L.thr[1])).length;
  console.log(`validation (own identities: ${popRows.length} fit, ${valRows.length} validation): ${mf.ids.length} faces (group ${o.group}, ${o.steps} steps), fit identities no photo covers ${mf.uncoveredBefore} → ${mf.uncoveredAfter}; validation identities no fit photo matches @${L.fmrs[1]}: ${open.length}, newly matched by a face: ${newly} (+${((100 * newly) / valRows.length).toFixed(1)} % of the validation identities); ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * The synthesised faces of the decision bench, from the attacker's photos and own identities only: rendered by
 * its PCA face model, rounded to 8 bits as a submitted PNG would be, and encoded by the copy (once each).
 */
async function masterFaces(o: Options, L: Lfw, pool: Float32Array, poolIds: string[], population: Float32Array, popIds: string[]): Promise<MasterFaces> {
  const model = loadPcaFaceModel(o.faceModel);
  if (!model) throw new Error(`no PCA face model in ${o.faceModel}`);
  const encoder = await loadEncoderById(o.encoder);
  const K = model.latentDim, S = encoder.inputSize;
  const images = (z: Float32Array, n: number) => tf.tidy(() => {
    const x = model.render(tf.tensor2d(z, [n, K]));
    return tf.div(tf.round(tf.mul(x.shape[1] === S ? x : tf.image.resizeBilinear(x, [S, S], false, true), 255)), 255) as tf.Tensor4D;
  });
  const embed = async (z: Float32Array, n: number) => {
    const out = new Float32Array(n * L.dim);
    for (let s = 0; s < n; s += 128) {
      const m = Math.min(128, n - s);
      const x = images(z.subarray(s * K, (s + m) * K), m);
      try { (await encoder.embed(x)).forEach((e, i) => out.set(e, (s + i) * L.dim)); } finally { x.dispose(); }
    }
    return out;
  };
  try {
    const mf = await synthesiseMasterFaces(embed, K, pool, poolIds, population, popIds, L.dim, { count: o.master, threshold: L.thr[1], groupSize: o.group, steps: o.steps, seed: 0, clamp: (z) => model.clampLatents(z) });
    // The check: the kept templates are the encoder's on the rendered image — re-render 16, send them through a PNG and back, encode again.
    const n = Math.min(16, mf.ids.length);
    const x = images(mf.latents.subarray(0, n * K), n);
    const px = Uint8Array.from(await tf.tidy(() => tf.round(tf.mul(x, 255))).data());
    x.dispose();
    let worst = 1;
    for (let i = 0; i < n; i++) {
      const { data } = await sharp(Buffer.from(await sharp(Buffer.from(px.subarray(i * S * S * 3, (i + 1) * S * S * 3)), { raw: { width: S, height: S, channels: 3 } }).png().toBuffer())).raw().toBuffer({ resolveWithObject: true });
      const t = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(new Uint8Array(data), [1, S, S, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
      const e = (await encoder.embed(t))[0];
      t.dispose();
      worst = Math.min(worst, cosine(e, mf.templates.subarray(i * L.dim, (i + 1) * L.dim)));
    }
    console.log(`check: ${n} synthesised faces re-rendered, through PNG and back, encoded again: lowest cosine to the kept template ${worst.toFixed(6)}`);
    return mf;
  } finally {
    encoder.dispose();
    model.dispose();
  }
}

interface Remote { service: VerifierService; client: VerifierClient; log: string }

/** `faceinv serve-verifier`'s service (the same code) on loopback over the enrolled subjects, with its query log. */
async function openService(o: Options, encoder: Encoder, subjects: readonly string[], targets: readonly Float32Array[]): Promise<Remote> {
  const size = encoder.inputSize;
  const embed = async (pixels: Uint8Array) => {
    const x = tf.tidy(() => tf.div(tf.cast(tf.tensor4d(pixels, [1, size, size, 3], 'int32'), 'float32'), 255) as tf.Tensor4D);
    try { return (await encoder.embed(x))[0]; } finally { x.dispose(); }
  };
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-oracle-bench-')), 'queries.jsonl');
  const service = await startVerifierService({ embed, size, enrolled: new Map(subjects.map((id, i) => [id, targets[i]])), answer: 'score', decimals: o.decimals, attemptLimit: o.attempts, logFile: log });
  return { service, client: new VerifierClient({ url: service.url, retries: 3, backoffMs: 100 }), log };
}

const pngOf = async (pixels: Uint8Array, size: number) => (await sharp(Buffer.from(pixels), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer()).toString('base64');

/** One subject's answers through the service, or the error that ended it. */
async function ask(r: Remote, subject: string, png: string): Promise<number | Error> {
  try { return await r.client.score(subject, png); } catch (e) { if (e instanceof SubjectOracleError) return e; throw e; }
}

/**
 * The retrieved photo per subject (../attack/oracle/probeRetrieval.ts): the map from probe answers is fitted on
 * `--enrolled` of the attacker's own photos (after the probes); every own photo but the probes is a candidate.
 */
function retrieve(o: Options, L: Lfw, probes: number[], ownRows: number[], subjScores: Float32Array, n: number): number[] {
  const enrolled = ownRows.slice(0, o.enrolled);
  const scores = new Float32Array(enrolled.length * probes.length);
  enrolled.forEach((r, i) => probes.forEach((p, k) => { scores[i * probes.length + k] = round(o, cosine(L.emb(p), L.emb(r))); }));
  const r = fitProbeRetrieval(scores, rows(L.set.embeddings, L.dim, enrolled), enrolled.length, probes.length, L.dim, rows(L.set.embeddings, L.dim, ownRows), ownRows);
  return retrievedPhotos(r, subjScores, n);
}

/** The subject's (rounded) answers to the probe photos, for a template `t`. */
function answersTo(o: Options, L: Lfw, probes: readonly number[]): (t: Float32Array) => Float32Array {
  return (t) => Float32Array.from(probes, (p) => round(o, cosine(L.emb(p), t)));
}

/** The own enrolled photos' answers to the probes [m, P] and their latents [m, K]: what a start map is fitted on. */
async function startPairs(o: Options, L: Lfw, model: PcaFaceModel, probes: readonly number[], own: readonly number[]): Promise<{ scores: Float32Array; latents: Float32Array; m: number }> {
  const S = model.frame.size, answers = answersTo(o, L, probes);
  const scores = new Float32Array(own.length * probes.length);
  own.forEach((r, i) => scores.set(answers(L.emb(r)), i * probes.length));
  const crops = new Uint8Array(own.length * S * S * 3);
  own.forEach((r, i) => crops.set(L.set.crops.subarray(r * S * S * 3, (r + 1) * S * S * 3), i * S * S * 3));
  return { scores, latents: await model.project(crops, own.length), m: own.length };
}

/**
 * A nonlinear start map, for the record (it lost, docs/oracles.md): kernel ridge (../math/kernelRidge.ts, RBF on
 * the centred score vector, 1,000 Nyström landmarks) on the ridge's residuals, at the chosen caricature.
 */
function printKernelStarts(fit: { scores: Float32Array; latents: Float32Array; m: number }, P: number, K: number, subjScores: Float32Array, n: number, render: (z: Float32Array, label: string) => Promise<void>): Promise<void> {
  const mean = new Float32Array(P);
  for (let i = 0; i < fit.m; i++) for (let k = 0; k < P; k++) mean[k] += fit.scores[i * P + k] / fit.m;
  const centre = (a: Float32Array) => a.map((v, i) => v - mean[i % P]);
  return [[1, 0.01], [4, 0.01], [16, 0.01], [4, 0.1]].reduce(async (prev, [gamma, lambda]) => {
    await prev;
    const map = fitKernelRidge(centre(fit.scores), fit.latents, fit.m, P, K, { landmarks: 1000, gamma, lambda, linear: 0.1, seed: 0 });
    const z = applyKernelRidge(map, centre(subjScores), n).map((v) => v * PROBE_START_CARICATURE);
    await render(z, `kernel ridge γ ${gamma}, λ ${lambda}, caricature ${PROBE_START_CARICATURE} (rendered)`);
  }, Promise.resolve());
}

/** The own enrolled photos `own` with their answers [m, P] to the probes, as ../attack/oracle/probeSurrogate.ts fits its map. */
function ownAnswerPhotos(L: Lfw, size: number, own: readonly number[], answers: Float32Array, probes: number): ProbeAnswerPhotos {
  const D = size * size * 3;
  const crops = new Uint8Array(own.length * D);
  own.forEach((r, i) => crops.set(L.set.crops.subarray(r * D, (r + 1) * D), i * D));
  return { answers, probes, crops, rels: own.map((r) => L.set.rels[r]), identities: own.map((r) => L.set.identities[r]) };
}

/**
 * With another encoder the attacker owns (`--surrogate`, never the system's): the start warmed up through it
 * (../attack/oracle/probeSurrogate.ts, as the audit does for attacker.encoder "other"), no query spent.
 */
async function warmedStart(o: Options, L: Lfw, model: PcaFaceModel, own: ProbeAnswerPhotos, subjScores: Float32Array, start: Float32Array, n: number, steps: number): Promise<Float32Array> {
  const t0 = Date.now();
  const w = await warmProbeStarts(model, findEncoderConfig(o.encoder).config, o.surrogate!, own, subjScores, start, n, { steps, learningRate: o.warmupLr });
  console.log(`${o.surrogate}: map from ${own.probes} answers, held-out cosine ${w.mapCosine.toFixed(3)}; ${steps} warm-up steps (lr ${o.warmupLr}), ${w.evaluations} evaluations, ${((Date.now() - t0) / 1000).toFixed(0)} s (map and surrogate set-up included)`);
  return w.latents;
}

/**
 * No encoder, but the system's answers against `--own-view` K identities the attacker enrolled (../attack/oracle/ownView.ts):
 * the K own enrolments are the first photos of K identities among `own`; the K answers of a face are folded into
 * the predicted template t̂ (exact: a live run reads them one by one), so the search below scores against t̂.
 */
function ownViewFit(o: Options, L: Lfw, own: readonly number[], probeAnswers: Float32Array, P: number, subjScores: Float32Array, truth: readonly Float32Array[]): OwnViewFit {
  const t0 = Date.now(), K = o.ownView;
  const fit = fitOwnViewOnPhotos(L.set.embeddings, L.dim, L.set.identities, own, probeAnswers, P, K, o.decimals, { mapLambda: o.mapLambda, gramLambda: o.gramLambda });
  const cos = predictedTemplates(fit, subjScores, truth.length).map((t, i) => cosine(t, truth[i]));
  console.log(`own view: ${K} own enrolments, map fitted on ${own.length} own photos (${own.length * K + K * K} answers, none to a subject), λ ${o.mapLambda} / ${o.gramLambda}; predicted template's cosine to the enrolled one: median ${median(cos).toFixed(3)}, template-level type I ${L.thr.map((t, k) => `${pct(cos.map((c) => c >= t))} @${L.fmrs[k]}`).join(', ')}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return fit;
}

/** The zeroth-order search of the face model on the own view's score, from `start`; the faces held after each of `--own-evals`. */
async function ownViewSearch(o: Options, encoder: Encoder, model: PcaFaceModel, fit: OwnViewFit, subjScores: Float32Array, start: Float32Array): Promise<[number, Float32Array][]> {
  const evals = [...o.ownEvals].sort((a, b) => a - b);
  const r = await searchOwnView(encoder, model, fit, subjScores, start, evals, { sigma: o.sigma, learningRate: o.learningRate });
  console.log(`own-view search: ${evals[evals.length - 1]} evaluations per subject${o.decimals !== undefined ? `, each answer rounded to ${o.decimals} decimals` : ''}, ${r.seconds.toFixed(0)} s`);
  return r.held.map((h) => [h.evaluations, h.latents]);
}

/**
 * The start's choice, on the attacker's side only (`--validate` without `--decision`): its own identities split
 * 80 / 20 (seeded); probes, map and candidates from the 80 %'s photos; the 20 %'s first photos are the subjects.
 * Prints the first face's type I both ways: the ridge start (rendered) and the retrieved photo.
 */
async function validateStart(o: Options, L: Lfw): Promise<void> {
  const ids = seededShuffle([...new Set(L.trainIdx.map((r) => L.set.identities[r]))].sort(), 7);
  const held = new Set(ids.slice(0, Math.round(ids.length / 5)));
  const side = L.trainIdx.filter((r) => !held.has(L.set.identities[r]));
  const subjects = firstRows(L, L.trainIdx.filter((r) => held.has(L.set.identities[r]))).slice(0, o.subjects);
  const given = loadPcaFaceModel(o.faceModel);
  if (!given) throw new Error(`no PCA face model in ${o.faceModel}`);
  // The face model of the attacker's side only (the given one has seen the held-out identities' photos).
  const S = given.frame.size, D = S * S * 3;
  const faces = new Uint8Array(side.length * D);
  side.forEach((r, i) => faces.set(L.set.crops.subarray(r * D, (r + 1) * D), i * D));
  const model = await buildPcaFaceModel(faces, side.length, given.frame, { components: given.latentDim, clamp: given.description.clamp, seed: 0 });
  given.dispose();
  const encoder = await loadEncoderById(o.encoder);
  try {
    const shuffled = seededShuffle(side.slice(), 3);
    // The map fits on every own photo but the probes.
    const probes = chooseProbes(o, L, shuffled);
    const chosen = new Set(probes), own = shuffled.filter((r) => !chosen.has(r)).slice(0, o.train);
    const fit = await startPairs(o, L, model, probes, own);
    const map = fitProbeMap(fit.scores, fit.latents, fit.m, probes.length, model.latentDim, o.mapLambda);
    const targets = subjects.map((r) => Float32Array.from(L.emb(r)));
    const answers = answersTo(o, L, probes), subjScores = new Float32Array(targets.length * o.probes);
    targets.forEach((t, i) => subjScores.set(answers(t), i * o.probes));
    const plain = probeStart({ ...map, caricature: 1 }, subjScores, targets.length);
    const truth = new QueryOracle(encoder, model, targets, 9);
    console.log(`validation (own identities: ${ids.length - held.size} attacker side, ${subjects.length} of ${held.size} held out as subjects), ${o.probes} probes, decimals ${o.decimals ?? 'none'}`);
    console.log('first face | median system score | type I @1e-3 | type I @1e-4');

    const picked = retrieve(o, L, probes, shuffled.filter((r) => !chosen.has(r)), subjScores, targets.length);
    printRow('retrieved photo', picked.map((r, i) => cosine(L.emb(r), targets[i])), L.thr);
    const render = async (z: Float32Array, label: string) => { model.clampLatents(z); printRow(label, Array.from(await truth.score(z, targets.map((_, i) => i))), L.thr); };
    for (const a of [1, 1.25, 1.5, 2]) await render(plain.map((v) => v * a), `ridge start, caricature ${a} (rendered)`);
    if (o.surrogate) {
      const ownPhotos = ownAnswerPhotos(L, model.frame.size, own, fit.scores, probes.length);
      const start = plain.map((v) => v * PROBE_START_CARICATURE);
      for (const steps of o.warmup) await render(await warmedStart(o, L, model, ownPhotos, subjScores, start, targets.length, steps), `ridge start + ${steps} warm-up steps on ${o.surrogate}`);
    }
    if (o.kernel) await printKernelStarts(fit, probes.length, model.latentDim, subjScores, targets.length, render);
    if (o.ownView > 0) {
      const view = ownViewFit(o, L, own, fit.scores, probes.length, subjScores, targets);
      for (const [evals, z] of await ownViewSearch(o, encoder, model, view, subjScores, plain.map((v) => v * PROBE_START_CARICATURE))) await render(z, `ridge start + ${evals} own-view evaluations (${evals * o.ownView} queries to own identities)`);
    }
  } finally {
    encoder.dispose();
    model.dispose();
  }
}

/**
 * The probe set among the attacker's photos in `order`: the product's design (../attack/oracle/probeDesign.ts,
 * as the audit chooses it) with `--candidates`, `--design-rows` and `--jitter`, or (`--design random`, the
 * choice before it) the first `--probes` in order.
 */
function chooseProbes(o: Options, L: Lfw, order: number[]): number[] {
  if (o.design === 'random') return order.slice(0, o.probes);
  const t0 = Date.now();
  const probes = designedProbeRows(order, o.probes, (p, r) => round(o, cosine(L.emb(p), L.emb(r))), { candidates: o.candidates, designRows: o.designRows, jitter: o.jitter });
  console.log(`probe design: ${o.probes} of the first ${o.candidates} photos by their answers against the next ${o.designRows} (jitter ${o.jitter}; ${o.candidates * o.designRows} attacker-side answers), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return probes;
}

const round = (o: Pick<Options, 'decimals'>, s: number) => roundScore(s, o.decimals);

/** A table row: the median system score, type I at each threshold, and type II there when `second` is given. */
function printRow(label: string, s: number[], thr: readonly number[], second?: number[]): void {
  const typeII = second ? thr.map((t) => ` | ${pct(second.map((c) => c >= t))}`).join('') : '';
  console.log(`${label} | ${median(s).toFixed(4)} | ${thr.map((t) => pct(s.map((c) => c >= t))).join(' | ')}${typeII}`);
}

/**
 * The face the attacker holds after the probes alone, per threshold: a probe photo whose (rounded) answer proves it
 * passed — above the threshold by half a rounding step, as the audit's curve counts it — else the start face.
 */
function printProbeOrStart(o: Options, L: Lfw, probes: readonly number[], subjScores: Float32Array, start: number[], withSecond: { i: number; r: number }[], startSecond: number[]): void {
  const P = probes.length, half = o.decimals === undefined ? 0 : 0.5 * 10 ** -o.decimals;
  const best = start.map((_, i) => { let k = 0; for (let j = 1; j < P; j++) if (subjScores[i * P + j] > subjScores[i * P + k]) k = j; return k; });
  const proved = (i: number, t: number) => subjScores[i * P + best[i]] > t + half;
  const typeI = L.thr.map((t) => pct(start.map((s, i) => proved(i, t) || s >= t)));
  const typeII = L.thr.map((t) => pct(withSecond.map(({ i, r }, j) => (proved(i, t) ? cosine(L.emb(probes[best[i]]), L.emb(r)) : startSecond[j]) >= t)));
  console.log(`${P} (a probe whose answer proves it passed, else the start) | – | ${typeI.join(' | ')} | ${typeII.join(' | ')}`);
}

async function scoreSearch(o: Options, L: Lfw): Promise<void> {
  const t0 = Date.now();
  const model = loadPcaFaceModel(o.faceModel);
  if (!model) throw new Error(`no PCA face model in ${o.faceModel}`);
  const encoder = await loadEncoderById(o.encoder);
  const S = model.frame.size;
  const shuffled = seededShuffle(L.trainIdx.slice(), 3);
  const probes = chooseProbes(o, L, shuffled);
  const chosen = new Set(probes), others = shuffled.filter((r) => !chosen.has(r)), own = others.slice(0, o.train);
  const answers = answersTo(o, L, probes);
  const pairs = await startPairs(o, L, model, probes, own);
  const map = fitProbeMap(pairs.scores, pairs.latents, own.length, probes.length, model.latentDim, o.mapLambda);
  const targets = L.subjects.map((id) => Float32Array.from(L.emb(L.firstOf.get(id)!)));
  const subjScores = new Float32Array(targets.length * o.probes);
  const remote = o.service ? await openService(o, encoder, L.subjects, targets) : null;
  const lost = new Map<number, string>();
  let probeQueries = 0;
  if (remote) {
    const pngs = await Promise.all(probes.map((p) => pngOf(L.set.crops.subarray(p * S * S * 3, (p + 1) * S * S * 3), S)));
    for (const [i, id] of L.subjects.entries()) {
      for (const [k, png] of pngs.entries()) {
        const a = await ask(remote, id, png);
        probeQueries++;
        if (a instanceof Error) { lost.set(i, a.message); break; }
        subjScores[i * o.probes + k] = a;
      }
    }
  } else targets.forEach((t, i) => subjScores.set(answers(t), i * o.probes));
  const picked = retrieve(o, L, probes, others, subjScores, targets.length);
  const mapStart = probeStart(map, subjScores, targets.length);
  model.clampLatents(mapStart);
  if (o.surrogate && o.warmup.length !== 1) throw new Error(`--warmup takes one step count in the score search, got ${o.warmup.join(',')}`);
  if (o.surrogate && o.ownView) throw new Error('--surrogate and --own-view are two attackers: give one');
  const viewed = o.ownView ? await ownViewSearch(o, encoder, model, ownViewFit(o, L, own, pairs.scores, probes.length, subjScores, targets), subjScores, Float32Array.from(mapStart)) : [];
  const start = o.surrogate ? await warmedStart(o, L, model, ownAnswerPhotos(L, S, own, pairs.scores, probes.length), subjScores, mapStart, targets.length, o.warmup[0]) : viewed.length ? viewed[viewed.length - 1][1] : mapStart;
  console.log(`score oracle, ${o.surrogate ? `no copy of the encoder, another encoder (${o.surrogate})` : o.ownView ? `no encoder, the system's answers against ${o.ownView} own enrolments` : 'no encoder'}: ${o.probes} probes, map fitted on ${own.length} own photos, ${targets.length} held-out subjects, decimals ${o.decimals ?? 'none'}; thresholds ${L.thr.map((t, k) => `${t.toFixed(4)} @FMR ${L.fmrs[k]}`).join(', ')}; setup ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const budgets = o.queries.filter((q) => q > o.probes);
  const snaps = new Map<number, Float32Array>([[o.probes, start]]);
  const oracle = new QueryOracle(encoder, model, targets, Math.max(o.probes + 1, ...budgets) - o.probes);
  if (remote) {
    oracle.answerBy(async (images, owners) => {
      const t = tf.tidy(() => tf.round(tf.mul(images, 255)));
      const px = Uint8Array.from(await t.data());
      t.dispose();
      return Promise.all(owners.map(async (t, i) => ask(remote, L.subjects[t], await pngOf(px.subarray(i * S * S * 3, (i + 1) * S * S * 3), S))));
    });
  } else oracle.roundAnswers(o.decimals);
  const t1 = Date.now();
  const res = await querySearch(oracle, model, start, {
    method: 'zeroth-order', sigma: o.sigma, learningRate: o.learningRate, directions: 2, population: 16, seed: 0,
    onStep: (s) => { for (const b of budgets) if (!snaps.has(b) && o.probes + s.queriesPerTarget + 5 > b) snaps.set(b, Float32Array.from(s.bestLatents)); },
  });
  const searchS = (Date.now() - t1) / 1000;
  // Budgets the search never reached (every subject stopped: locked out, or out of steps): what it ended with.
  for (const b of budgets) if (!snaps.has(b)) snaps.set(b, res.bestLatents);
  // The system's exact score of each snapshot's faces (outside the attacker's count).
  // One scoring per printed row: the budgets', the probe map's start, and the own view's earlier faces.
  const rowsPrinted = snaps.size + 1 + Math.max(0, viewed.length - 1);
  const truth = new QueryOracle(encoder, model, targets, rowsPrinted);
  const lk = lookalike(L);
  console.log(`lookalike (nearest attacker photo to the enrolled template): ${L.fmrs.map((f, k) => `${pct(lk[k])} @${f}`).join(', ')}; search ${searchS.toFixed(0)} s`);
  // Type II: the face against the subject's second photo (the subjects that have one), not the enrolled one.
  const withSecond = L.subjects.flatMap((id, i) => { const r = L.secondOf.get(id); return r === undefined ? [] : [{ i, r }]; });
  const second = new QueryOracle(encoder, model, withSecond.map(({ r }) => Float32Array.from(L.emb(r))), rowsPrinted);
  const K = model.latentDim;
  // The system's exact scores of faces z (one per subject) against the enrolled and the second photos: a table row.
  const printFaces = async (label: string, z: Float32Array) => {
    const zs = new Float32Array(withSecond.length * K);
    withSecond.forEach(({ i }, j) => zs.set(z.subarray(i * K, (i + 1) * K), j * K));
    const sys = Array.from(await truth.score(z, targets.map((_, i) => i))), sec = Array.from(await second.score(zs, withSecond.map((_, j) => j)));
    printRow(label, sys, L.thr, sec);
    return { sys, sec };
  };
  console.log(`queries (probes + search) | median system score | type I @1e-3 | type I @1e-4 | type II @1e-3 | type II @1e-4 (${withSecond.length} subjects with a second photo)`);
  printRow(`${o.probes} (retrieved photo, not yet asked)`, picked.map((r, i) => cosine(L.emb(r), targets[i])), L.thr, withSecond.map(({ i, r }) => cosine(L.emb(picked[i]), L.emb(r))));
  if (o.surrogate || o.ownView) await printFaces(`${o.probes} (the probe map's start${o.surrogate ? `, before the warm-up on ${o.surrogate}` : ''})`, mapStart);
  for (const [evals, z] of viewed.slice(0, -1)) await printFaces(`${o.probes} (+ ${evals} own-view evaluations, ${evals * o.ownView} queries to own identities)`, z);
  if (viewed.length) console.log(`(the ${o.probes}-query row below: + ${viewed[viewed.length - 1][0]} own-view evaluations, the search's start)`);
  for (const q of [o.probes, ...budgets]) {
    const { sys, sec } = await printFaces(String(q), snaps.get(q)!);
    if (q === o.probes) printProbeOrStart(o, L, probes, subjScores, sys, withSecond, sec);
  }
  if (remote) {
    const logged = fs.readFileSync(remote.log, 'utf8').trim().split('\n').filter(Boolean).length;
    const spent = probeQueries + Array.from(oracle.used).reduce((a, b) => a + b, 0);
    console.log(`service (decimals ${o.decimals ?? 'none'}, attempt limit ${o.attempts ?? 'none'}): its log ${logged} queries, GET /v1/stats ${remote.service.stats().total}, locked out ${remote.service.stats().lockedOut.length}; the attack's own count ${spent}`);
    for (const [i, m] of lost) console.log(`  subject ${L.subjects[i]}: ${m}`);
    await remote.service.close();
  }
  encoder.dispose();
  model.dispose();
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  if (o.validate && o.decision && !(o.master > 0)) throw new Error('--validate with --decision judges --master N faces');
  const t0 = Date.now();
  if (!o.decision || o.master) await initEngine({});
  const L = await openLfw(o);
  console.log(`LFW and thresholds: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  if (o.decision && o.validate) await validateMaster(o, L);
  else if (o.decision) await decision(o, L); else if (o.validate) await validateStart(o, L); else await scoreSearch(o, L);
}

if (require.main === module) main().catch((e) => { console.error((e as Error).stack); process.exit(1); });
