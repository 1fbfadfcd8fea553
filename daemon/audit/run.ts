/**
 * `faceinv audit`: can the templates of a store the user owns be turned back into faces their system
 * accepts, at its operating point, and how much better than a lookalike? (ISO/IEC 30136 irreversibility.)
 *
 *   1. plan the attack (daemon/attack/plan.ts: the encoder, the judge's route, the engine), as a run does;
 *   2. read the store, flagging bad rows (templateStore.ts); a protected store (config `protection`) is read as
 *      the scheme's templates and, once the reference set is embedded, each is inverted with its stolen key
 *      into an embedding (protectedStore.ts), which is audited from then on like any template;
 *   3. calibrate the encoder's thresholds at the operating points on a labelled reference set it embeds
 *      (reference.ts, calibration.ts; cached per encoder and reference set);
 *   4. build the attacker's face model and start from the reference set (the attack's own building blocks:
 *      daemon/attack/faceModel/pca.ts, start.ts);
 *   5. invert every template, a resumable chunk at a time (chunks.ts), with the attack's one inversion
 *      (daemon/attack/invert.ts): black box = query search under the budget, every face 8-bit (quantise.ts);
 *      white box = gradient search through the encoder;
 *   6. score each reconstruction against its own template, `direct` and `redetect`, and the nearest
 *      reference photo the same way, by the audited encoder and any transfer encoder (score.ts);
 *   7. write report.json, a self-contained report.html and templates.csv (summary.ts, reportHtml.ts).
 *
 * A killed audit continues from its last finished chunk. A service that fails as a whole pauses the audit
 * after its last whole chunk (or, with onEncoderError "continue", marks the affected templates and goes
 * on); one bad answer fails only its template.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditConfig } from '../protocol/auditConfig';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { PROBE_WARMUP } from '../attack/oracle/probeSurrogate';
import { OWN_VIEW } from '../attack/oracle/ownView';
import { FaceAnalyzer } from '../data/faceAnalysis';
import type { FaceGeometry } from '../data/align';
import { writePng } from '../data/image';
import { defaultCacheDir, runFacePipeline } from '../data/pipeline';
import type { AlignmentSpec } from '../data/templates';
import { findEncoderConfig, scopeOf, type EncoderConfigEntry } from '../encoders/registry';
import { loadEncoder } from '../encoders/load';
import type { Encoder } from '../encoders/types';
import { getEngineInfo } from '../tfjs/backend';
import { nearestRows } from '../evaluation/baselines';
import { meanFaceGeometry } from '../evaluation/meanGeometry';
import { JobCancelledError, throwIfCancelled, type AttackContext as JobContext } from '../runs/attackContext';
import type { Budget } from '../protocol/budget';
import type { RouteDecision } from '../encoders/judge';
import { buildPcaFaceModel, loadPcaFaceModel, PcaFaceModel } from '../attack/faceModel/pca';
import { renderFaces } from '../attack/inversion';
import { invertTargets, openFaceDetector, type DetectFn, type Inversion } from '../attack/invert';
import { VerifierServiceError } from '../encoders/verifierClient';
import { addSearchAccepts, mitigationRuns, oracleSetup, oracleView, type OracleSetup } from './oracle';
import { HeldLatents, invertHeldTemplates, otherPhotoOf, scoreHeld, type HeldFace } from './heldFaces';
import type { HeldTemplate } from '../attack/oracle/scoreRecovery';
import { curveBudgets } from './oracleCurve';
import { auditAttackSpec, planAttack, searchesByQueries, type AttackPlan } from '../attack/plan';
import { startFrom, type AttackerPairs } from '../attack/start';
import type { EngineDecision } from '../ort/engineChoice';
import { cachedCalibration, type Calibration } from './calibration';
import { AUDIT_FILES, ChunkFile, claimAuditFolder, keptRows, readChunk, updateAuditManifest, writeChunk } from './chunks';
import { eightBit } from './quantise';
import { encoderHash, openReference, referenceEmbeddings, serviceProblem, type ReferenceEmbeddings, type ReferenceSet } from './reference';
import { writeAuditReport } from './reportHtml';
import type { AuditReport, TemplateResult } from './reportSchema';
import { scoreChunk, type Scorer } from './score';
import { openStoreProtection, readProtectedStore, recoverStore } from './protectedStore';
import { readTemplateStore, type TemplateStore } from './templateStore';
import { chooseSample, sampledStore, sampleSentence } from './sample';
import type { QueueTuning } from './queue';
import { queuedChunks, type WorkerTally } from './queueRun';

export interface AuditOptions {
  overwrite?: boolean;
  cacheDir?: string;
  workers?: number;
  /** Secrets handed over for HTTP encoders' auth.secret, by name (never stored). */
  secrets?: Readonly<Record<string, string>>;
  /** Redo finished chunks whose templates failed because of the encoder. */
  retryFailed?: boolean;
  /** Stop after this many chunks in this session (tests, trial runs). */
  maxChunks?: number;
  /** The command line, for the report's "reproduce" section. */
  command?: string;
  /** redis://HOST:PORT: put the chunks on a BullMQ queue for `faceinv worker`s instead of inverting them here (queue.ts). */
  queue?: string;
  queueTuning?: QueueTuning;
}

export interface AuditOutcome {
  auditDir: string;
  state: 'finished' | 'paused' | 'stopped';
  stopReason?: string;
  report: AuditReport;
  files: { json: string; html: string; csv: string; md: string };
}

/** The audit folder of a config: outDir, else audits/<name>, relative to the workspace. */
export function auditDirOf(config: AuditConfig, workspaceDir: string): string {
  return path.resolve(workspaceDir, config.outDir ?? path.join('audits', config.name));
}

interface Transfer {
  entry: EncoderConfigEntry;
  store: TemplateStore;
  /** Row of `store` for each row of the audited store, or -1. */
  rowOf: Int32Array;
  encoder: Encoder;
  ref: ReferenceEmbeddings;
  calibration: Calibration;
  calibrationCached: boolean;
}

/** Row of the transfer store for each row of the audited store: by row when neither store names its rows, else by id. */
function matchRows(a: TemplateStore, b: TemplateStore, where: string): Int32Array {
  const indexIds = (s: TemplateStore) => s.ids.every((id, i) => id === String(i));
  const out = new Int32Array(a.rows).fill(-1);
  if (indexIds(a) && indexIds(b)) {
    if (a.rows !== b.rows) throw new Error(`${where}: ${b.rows} templates, the audited store has ${a.rows}; without ids the stores are matched row for row, so they must have the same length (or give both ids)`);
    for (let i = 0; i < a.rows; i++) out[i] = i;
    return out;
  }
  const byId = new Map<string, number>();
  b.ids.forEach((id, i) => { if (!byId.has(id)) byId.set(id, i); });
  a.ids.forEach((id, i) => { out[i] = byId.get(id) ?? -1; });
  if (!out.some((r) => r >= 0)) throw new Error(`${where}: none of its ids matches an id of the audited store (e.g. "${a.ids[0]}" vs "${b.ids[0]}")`);
  return out;
}

function describeMethod(config: AuditConfig, decision: RouteDecision, model: PcaFaceModel, oracle?: OracleSetup | null): string {
  const hooks = oracle?.run.hooks;
  if (hooks?.order) return `decision search: the reference photos submitted ${config.threat.attacker.encoder === 'copy' ? 'in hub order' : 'in a seeded random order'} until a first accept, at most ${config.threat.attacker.queries} per subject; ${hooks.walk ? `then the boundary walk from the accepted photo in the face model (${model.latentDim} components) with ${hooks.walk.limit !== undefined ? `at most ${hooks.walk.limit} of ` : ''}the queries left; the face scored is the last one accepted (else the first photo submitted)` : 'the face scored is the accepted photo (else the first one submitted)'}`;
  const probes = hooks?.probeMap?.probes.length;
  const a = config.threat.attacker;
  const moved = !hooks?.warmStarts ? ''
    : a.ownEnrolments ? `, searched on the system's answers against ${a.ownEnrolments} identities the attacker enrolled itself (${OWN_VIEW.evaluations} evaluations of the template the answers predict, each ${a.ownEnrolments} queries to its own identities, none to the subject)`
      : `, moved through the attacker's other encoder ${a.otherEncoder} where its map from the answers fits (${PROBE_WARMUP.steps} gradient steps on its cosine to the answers' image in its space, no query)`;
  const start = probes ? `start from the answers to ${probes} probe photos (ridge map fitted on the other reference photos)${moved}` : config.start === 'ridge' ? 'ridge-regression start' : 'top-5 nearest reference faces start';
  const w = config.whitebox;
  if (decision.route === 'whitebox') return `white box: ${model.describe()}; ${start}; ${w.steps} gradient steps per template through ${config.encoder}${w.restarts > 1 ? ` × ${w.restarts} restarts` : ''}${w.select === 'detected' ? ', answers the face detector finds' : ''}`;
  const search = config.search.method === 'none' ? 'no per-template queries (the start is the answer)'
    : probes ? `${config.search.method} search on the system's answered score, ${config.threat.attacker.queries - probes} queries per subject after the probes, every face 8-bit`
      : `${config.search.method} search, a budget of ${config.budget} queries per template, every face 8-bit`;
  return `black box: ${model.describe()}; ${start}; ${search}`;
}

const serviceFailures = (e: Encoder) => (e as { stats?: { serviceFailures?: number } }).stats?.serviceFailures ?? 0;

/** The audited encoder and the transfer systems, loaded, with their reference embeddings and thresholds. */
export interface Calibrated {
  encoderA: Encoder;
  ref: ReferenceSet;
  refA: ReferenceEmbeddings;
  hashA: string;
  calA: { calibration: Calibration; cached: boolean };
  transfers: Transfer[];
}

/** What the chunks share: the face model, the start, the scorers' helpers, the detector. */
export interface ChunkTools {
  pca: PcaFaceModel;
  start: (targets: readonly Float32Array[]) => Float32Array;
  meanGeometry: FaceGeometry | null;
  analyzer: FaceAnalyzer;
  detect?: DetectFn;
  /** The attacker's latents of the reference photos (the start's and the score search's map's training pairs). */
  refLatents: Float32Array;
  /** The threat model's oracle and its mitigations' re-runs (none for a stolen template). */
  oracle?: OracleSetup | null;
}

export async function runAudit(config: AuditConfig, ctx: JobContext, opts: AuditOptions = {}): Promise<AuditOutcome> {
  const t0 = Date.now();
  const ws = ctx.workspaceDir;
  // The registry's scope (the shipped encoder configs and the workspace's own, an HTTP service usually is one) is the plan's.
  const plan = planAttack(auditAttackSpec(config), ws);
  const { entry, enc, decision } = plan;
  ctx.log('info', `route: ${decision.route} — ${decision.reason}`);
  const stores = openStores(config, plan, ws, ctx);
  const { store } = stores;
  const auditDir = auditDirOf(config, ws);
  const { manifest, resumed } = claimAuditFolder(auditDir, config, store, opts.overwrite ?? false);
  ctx.log('info', `${resumed ? 'resuming' : 'starting'} the audit in ${auditDir} (${manifest.chunks} chunks of ${config.chunkSize})`);
  const disposers: (() => unknown)[] = [];
  const at = { stage: 'loading' };
  try {
    const { cal, tools, method } = await prepareChunks(config, plan, ctx, opts, auditDir, stores, disposers, at);
    at.stage = 'inverting';
    const done = await invertChunks({ config, plan, ctx, opts, auditDir, manifest, store, cal, tools });
    const { results, used, limit, budgetKind, stop, scoringQueries, workSeconds } = done;
    const all = results.filter(Boolean).flat();
    const state = stop ? 'partial' : 'finished';
    const stopReason = stop?.reason ?? (budgetKind === 'queries' ? `budget of ${config.budget} queries per template reached for every template` : 'every template inverted');
    ctx.progress(Math.round(used), limit, {}, state === 'finished' ? 'audit done' : stopReason, { budget: { kind: budgetKind, used: Math.round(used), limit }, stopReason });
    at.stage = 'writing the report';
    const { encoderA, ref, refA, hashA, calA, transfers } = cal;
    const written = await writeAuditReport({
      auditDir, config, state, entry, hash: hashA, decision, method, store, results: all, ref, refA, calA, transfers, pca: tools.pca,
      chunks: { size: config.chunkSize, total: manifest.chunks, done: results.filter(Boolean).length },
      scoringQueries, workSeconds, sessionSeconds: (Date.now() - t0) / 1000, command: opts.command ?? `faceinv audit ${path.join(auditDir, AUDIT_FILES.config)}`,
      engine: getEngineInfo()?.summary ?? 'unknown', versions: getEngineInfo()?.versions ?? { node: process.versions.node },
      http: [encoderA, ...transfers.map((t) => t.encoder)].map((e) => [e.id, (e as { stats?: unknown }).stats] as const).filter(([, s]) => s !== undefined),
      ...(stores.sample ? { sample: stores.sample } : {}), workers: done.workers,
    });
    updateAuditManifest(auditDir, { state: stop ? (stop.state === 'paused' ? 'paused' : 'interrupted') : 'finished', stopReason });
    return { auditDir, state: stop?.state ?? 'finished', ...(stop ? { stopReason: stop.reason } : {}), report: written.report, files: written.files };
  } catch (err) {
    const cancelled = err instanceof JobCancelledError;
    updateAuditManifest(auditDir, cancelled ? { state: 'interrupted', stopReason: 'cancelled (finished chunks are kept; run again to continue)' } : { state: 'failed', error: `${at.stage}: ${(err as Error).message}` });
    throw err;
  } finally {
    for (const d of disposers.reverse()) {
      try { await d(); } catch { /* released anyway */ }
    }
  }
}

/** The audited store (or its sample) and the transfer systems' stores, matched row for row (or id for id). */
export function openStores(config: AuditConfig, plan: AttackPlan, ws: string, ctx: JobContext) {
  const storeFile = path.resolve(ws, config.templates);
  const protection = config.protection ? openStoreProtection(config.protection, ws, plan.enc.embeddingDim) : null;
  const read = protection ? readProtectedStore(storeFile, protection) : null;
  if (protection) ctx.log('info', `protected store: ${protection.scheme.label} templates (${protection.scheme.outputDim} ${protection.scheme.output}), keys: ${protection.describe}`);
  const whole = read ? read.store : readTemplateStore(storeFile, plan.enc.embeddingDim, plan.enc.id);
  const protectedStore = read && protection ? { templates: read.templates, protection } : null;
  const bad = whole.rows - whole.usable;
  ctx.log('info', `template store ${storeFile}: ${whole.rows} templates of dimension ${whole.dim}${bad ? `; ${bad} rows cannot be audited (flagged in the report)` : ''}`);
  if (protectedStore && typeof config.sample === 'number') throw new Error('sampling a protected store is not supported: audit it whole (--all)');
  const sample = protectedStore ? null : chooseSample(config, whole.rows);
  if (sample) ctx.log('info', sampleSentence(sample, config));
  const store = sample ? sampledStore(whole, sample) : whole;
  const transferEntries = config.transfer.map((t) => {
    const e = findEncoderConfig(t.encoder, scopeOf(ws));
    const file = path.resolve(ws, t.templates);
    const s = readTemplateStore(file, e.config.embeddingDim, e.config.id);
    return { entry: e, store: s, rowOf: matchRows(store, s, `transfer template store ${file}`) };
  });
  return { store, transferEntries, protectedStore, sample };
}

export type OpenedStores = ReturnType<typeof openStores>;

/** What every chunk needs, made once per process (the audit's, or a queue worker's): encoders and thresholds, the face model, the oracle. */
export interface PreparedChunks { cal: Calibrated; tools: ChunkTools; method: string }

/** Calibrates, recovers a protected store, builds the face model and the oracle; `at.stage` says where a failure happened. */
export async function prepareChunks(config: AuditConfig, plan: AttackPlan, ctx: JobContext, opts: AuditOptions, auditDir: string, stores: OpenedStores,
  disposers: (() => unknown)[], at: { stage: string } = { stage: '' }): Promise<PreparedChunks> {
  const { store, transferEntries, protectedStore } = stores;
  at.stage = 'calibrating';
  const cal = await calibrateEncoders(config, plan, ctx, opts, transferEntries, disposers);
  if (protectedStore) {
    at.stage = 'inverting the protected templates with the stolen keys';
    const t = Date.now();
    recoverStore(store, protectedStore.templates, protectedStore.protection, meanEmbedding(cal.refA.embeddings, cal.refA.dim));
    ctx.log('info', `${store.usable} protected templates inverted with their keys (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  at.stage = 'building the face model';
  const tools = await chunkTools(config, plan, ctx, opts, auditDir, cal, disposers);
  tools.oracle = oracleSetup({
    config, plan, store, refA: cal.refA, refLatents: tools.refLatents, latentDim: tools.pca.latentDim, calibration: cal.calA.calibration, signal: ctx.signal, secrets: opts.secrets,
    model: tools.pca, encoder: cal.encoderA,
    planFor: (threat) => planAttack(auditAttackSpec({ ...config, threat }), ctx.workspaceDir), log: (m) => ctx.log('info', m), workspaceDir: ctx.workspaceDir,
  });
  const method = describeMethod(config, plan.decision, tools.pca, tools.oracle) + (protectedStore ? `; the store's ${protectedStore.protection.scheme.label} templates first inverted with the stolen keys (${protectedStore.protection.describe}; ${protectedStore.protection.steps} steps of the scheme's stolen-key inversion), the faces scored against those recovered embeddings` : '');
  ctx.log('info', method);
  return { cal, tools, method };
}

/** The mean of [n, dim] unit embeddings: the attacker's prior for the stolen-key inversion (as faceinv protect's). */
function meanEmbedding(e: Float32Array, dim: number): Float32Array {
  const m = new Float32Array(dim), n = e.length / dim;
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) m[k] += e[i * dim + k] / n;
  return m;
}

/** Loads the audited encoder and the transfer systems, embeds the reference set with each and calibrates their thresholds. */
async function calibrateEncoders(config: AuditConfig, plan: AttackPlan, ctx: JobContext, opts: AuditOptions,
  transferEntries: Omit<Transfer, 'encoder' | 'ref' | 'calibration' | 'calibrationCached'>[], disposers: (() => unknown)[]): Promise<Calibrated> {
  const ws = ctx.workspaceDir;
  const dataOpts = { cacheDir: opts.cacheDir, workers: opts.workers, workspaceDir: ws };
  const frame: AlignmentSpec = { template: plan.enc.alignment.template, size: plan.enc.alignment.size };
  const encoderA = await loadEncoder(plan.enc, { workspaceDir: ws, secrets: opts.secrets });
  disposers.push(() => encoderA.dispose());
  const ref = openReference(config.reference, ws, config.seed);
  ctx.log('info', `reference set: ${ref.description}`);
  const refA = await referenceEmbeddings(ref, plan.entry, frame, async () => encoderA, { ...dataOpts, log: (m) => ctx.log('info', m), signal: ctx.signal });
  throwIfCancelled(ctx);
  const hashA = encoderHash(plan.entry, ws);
  const calA = await calibrationOf(ctx, opts, plan.enc, hashA, ref, refA, config.operatingPoints);
  const transfers: Transfer[] = [];
  for (const t of transferEntries) {
    const e = await loadEncoder(t.entry.config, { workspaceDir: ws, secrets: opts.secrets });
    disposers.push(() => e.dispose());
    const r = await referenceEmbeddings(ref, t.entry, null, async () => e, { ...dataOpts, log: (m) => ctx.log('info', m), signal: ctx.signal });
    const c = await calibrationOf(ctx, opts, t.entry.config, encoderHash(t.entry, ws), ref, r, config.operatingPoints);
    transfers.push({ ...t, encoder: e, ref: r, calibration: c.calibration, calibrationCached: c.cached });
  }
  throwIfCancelled(ctx);
  return { encoderA, ref, refA, hashA, calA, transfers };
}

/** The attacker's PCA face model of the reference faces (kept in the audit folder), the start, the scorers' helpers, the detector. */
async function chunkTools(config: AuditConfig, plan: AttackPlan, ctx: JobContext, opts: AuditOptions, auditDir: string, cal: Calibrated, disposers: (() => unknown)[]): Promise<ChunkTools> {
  const { refA, ref, transfers } = cal;
  const frame: AlignmentSpec = { template: plan.enc.alignment.template, size: plan.enc.alignment.size };
  const n = refA.rels.length;
  const components = Math.min(config.faceModel.components, n - 1);
  if (components < 2) throw new Error(`the reference set has ${n} usable photos: too few for a face model (at least 3)`);
  if (components < config.faceModel.components) ctx.log('warn', `the reference set has ${n} photos: the face model gets ${components} components instead of ${config.faceModel.components}`);
  let model = loadPcaFaceModel(auditDir);
  const fits = (m: PcaFaceModel) => m.description.components === components && m.description.frame.template === frame.template && m.description.frame.size === frame.size &&
    m.description.clamp === config.faceModel.clamp && m.description.faces === n && m.description.seed === config.seed;
  if (model && !fits(model)) { model.dispose(); model = null; }
  if (!model) {
    ctx.log('info', `building the PCA face model: ${components} components of ${n} reference faces`);
    model = await buildPcaFaceModel(refA.crops as Uint8Array, n, frame, { components, clamp: config.faceModel.clamp, seed: config.seed, log: (m) => ctx.log('info', m), signal: ctx.signal });
    await model.save(auditDir);
  }
  const pca = model;
  disposers.push(() => pca.dispose());
  const refLatents = await pca.project(refA.crops as Uint8Array, n);
  const pairs: AttackerPairs = { templates: refA.embeddings, dim: refA.dim, latents: refLatents, latentDim: pca.latentDim, n };
  if (plan.faceModel.kind === 'pca') pca.useFinish({ crops: refA.crops as Uint8Array, latents: refLatents, n }, plan.faceModel.finish);
  const start = startFrom(plan.start, pairs);
  // Mean face geometry of the reference, for `direct` scoring by an encoder with another template.
  let meanGeometry: FaceGeometry | null = null;
  if (transfers.some((t) => t.entry.config.alignment.template !== frame.template)) {
    const dataOpts = { cacheDir: opts.cacheDir, workers: opts.workers, workspaceDir: ctx.workspaceDir };
    meanGeometry = meanFaceGeometry((await runFacePipeline(ref.dataset, {}, dataOpts)).analyses, frame);
  }
  const analyzer = await FaceAnalyzer.load();
  disposers.push(() => analyzer.dispose());
  // The face detector in the loop, as in the attack (one for every chunk): the black box's search, the white box's choice among restarts.
  const check = await openFaceDetector(plan, pca);
  if (check) disposers.push(() => check.dispose());
  return { pca, start, refLatents, meanGeometry, analyzer, ...(check ? { detect: check.detect } : {}) };
}

interface ChunkLoop {
  config: AuditConfig; plan: AttackPlan; ctx: JobContext; opts: AuditOptions; auditDir: string;
  manifest: { chunks: number; workSeconds: number }; store: TemplateStore; cal: Calibrated; tools: ChunkTools;
}

/** Inverts and scores the chunks not done yet, reporting the budget; pauses when a service fails as a whole. */
async function invertChunks(l: ChunkLoop) {
  const { config, plan, ctx, opts, auditDir, store, cal } = l;
  const chunkCount = l.manifest.chunks;
  const kept = keptRows(store.rows, config.keepImages, config.seed);
  fs.mkdirSync(path.join(auditDir, AUDIT_FILES.images), { recursive: true });
  const results: TemplateResult[][] = new Array(chunkCount);
  const usableRows = (from: number, to: number) => { let c = 0; for (let r = from; r < to; r++) if (!store.flags[r] || store.flags[r]?.usable) c++; return c; };
  const perTemplate = plan.decision.route === 'whitebox' ? config.whitebox.steps : config.search.method === 'none' ? 1 : config.budget;
  const budgetKind: Budget['kind'] = searchesByQueries(plan) ? 'queries' : 'steps';
  const limit = Math.max(1, store.usable * perTemplate);
  let used = 0;
  let scoringQueries = 0;
  let workSeconds = l.manifest.workSeconds;
  const tally = new Map<string, WorkerTally>();
  const count = (c: ChunkFile) => {
    const w = c.worker ?? 'this process';
    const t = tally.get(w) ?? { name: w, chunks: 0, templates: 0, seconds: 0 };
    t.chunks++; t.templates += c.to - c.from; t.seconds += c.seconds;
    tally.set(w, t);
  };
  const todo: number[] = [];
  for (let k = 0; k < chunkCount; k++) {
    const from = k * config.chunkSize, to = Math.min(store.rows, from + config.chunkSize);
    const done = readChunk(auditDir, k, from, to);
    if (done && !(opts.retryFailed && done.encoderFailures > 0)) {
      results[k] = done.results;
      scoringQueries += done.scoringQueries;
      used += budgetKind === 'queries' ? done.searchQueries : usableRows(from, to) * perTemplate;
      count(done);
    } else todo.push(k);
  }
  if (todo.length < chunkCount) ctx.log('info', `${chunkCount - todo.length} of ${chunkCount} chunks already done; ${todo.length} to go`);
  const usedAtStart = used;
  const tLoop = Date.now();
  const budgetOf = (u: number): Budget => ({ kind: budgetKind, used: Math.round(u), limit });
  const report = (u: number, message: string) => {
    const elapsed = (Date.now() - tLoop) / 1000;
    const gained = u - usedAtStart;
    const eta = gained > 0 ? (elapsed / gained) * Math.max(0, limit - u) : undefined;
    ctx.progress(Math.round(u), limit, {}, message, { budget: budgetOf(u), ...(eta !== undefined ? { etaSeconds: eta } : {}) });
  };
  /** A finished chunk, here or by a queue worker: its file (temp + rename, keyed by k), the tallies, the manifest. */
  const record = (file: ChunkFile, engine?: EngineDecision) => {
    writeChunk(auditDir, file);
    results[file.chunk] = file.results;
    scoringQueries += file.scoringQueries;
    used += budgetKind === 'queries' ? file.searchQueries : usableRows(file.from, file.to) * perTemplate;
    workSeconds += file.seconds;
    count(file);
    const doneCount = results.filter(Boolean).length;
    updateAuditManifest(auditDir, { chunksDone: doneCount, workSeconds, progress: { templatesDone: doneCount === chunkCount ? store.rows : Math.min(store.rows, file.to), budget: budgetOf(used) }, ...(engine ? { attackEngine: engine } : {}) });
    return doneCount;
  };
  let stop: { state: 'paused' | 'stopped'; reason: string } | undefined;
  if (opts.queue) {
    await queuedChunks({
      url: opts.queue, config, store, cal, auditDir, ctx, tuning: opts.queueTuning,
      chunks: todo.map((k) => ({ k, from: k * config.chunkSize, to: Math.min(store.rows, (k + 1) * config.chunkSize) })),
      record: (file) => { const n = record(file); report(used, `chunk ${file.chunk + 1} of ${chunkCount} done by ${file.worker} (${n} of ${chunkCount}; ${[...tally.values()].map((t) => `${t.name}: ${t.chunks}`).join(', ')})`); },
      say: (message) => report(used, message),
    });
  } else {
    stop = await localChunks({ l, todo, kept, results, report, record, usedNow: () => used });
  }
  return { results, used, limit, budgetKind, stop, scoringQueries, workSeconds, workers: [...tally.values()] };
}

/** The chunks inverted in this process, one after another; pauses when a service fails as a whole. */
async function localChunks(a: {
  l: ChunkLoop; todo: number[]; kept: Set<number>; results: TemplateResult[][]; report: (u: number, message: string) => void;
  record: (file: ChunkFile, engine?: EngineDecision) => number; usedNow: () => number;
}): Promise<{ state: 'paused' | 'stopped'; reason: string } | undefined> {
  const { l, todo, results, report } = a;
  const { config, plan, ctx, opts, auditDir, store, cal } = l;
  const chunkCount = l.manifest.chunks;
  const budgetKind: Budget['kind'] = searchesByQueries(plan) ? 'queries' : 'steps';
  const encoders = [cal.encoderA, ...cal.transfers.map((t) => t.encoder)];
  let sessionChunks = 0;
  for (const k of todo) {
    throwIfCancelled(ctx);
    if (opts.maxChunks !== undefined && sessionChunks >= opts.maxChunks) return { state: 'stopped', reason: `stopped after ${sessionChunks} chunks (maxChunks)` };
    const from = k * config.chunkSize, to = Math.min(store.rows, from + config.chunkSize);
    const tChunk = Date.now();
    const failuresBefore = encoders.map(serviceFailures);
    const usedBefore = a.usedNow();
    const out = await auditChunk({
      k, from, to, config, plan, store, cal, tools: l.tools, kept: a.kept, auditDir, ctx,
      onSearch: (qpt, m) => report(usedBefore + (budgetKind === 'queries' ? qpt * m : 0), `chunk ${k + 1} of ${chunkCount}: searching`),
    }).catch((err: unknown) => {
      // A verification service that fails as a whole (credentials refused, down after its retries) pauses the audit.
      if (!(err instanceof VerifierServiceError)) throw err;
      return err;
    });
    if (out instanceof VerifierServiceError) {
      const reason = `paused at chunk ${k + 1} of ${chunkCount}: ${out.message}; the ${results.filter(Boolean).length} chunks before it are kept — run the audit again to continue`;
      ctx.log('warn', reason);
      return { state: 'paused', reason };
    }
    const serviceHit = encoders.findIndex((e, i) => serviceFailures(e) > failuresBefore[i]);
    if (serviceHit >= 0 && config.onEncoderError === 'pause') {
      const e = encoders[serviceHit];
      const reason = `paused at chunk ${k + 1} of ${chunkCount}: encoder ${e.id} failed as a service (${serviceProblem(e)?.message ?? 'see the log'}); the ${results.filter(Boolean).length} chunks before it are kept — run the audit again to continue`;
      ctx.log('warn', reason);
      return { state: 'paused', reason };
    }
    const seconds = (Date.now() - tChunk) / 1000;
    const doneCount = a.record({ version: 1, chunk: k, from, to, seconds, ...out.counts, results: out.results }, out.engine);
    sessionChunks++;
    report(a.usedNow(), `chunk ${k + 1} of ${chunkCount} done (${doneCount} of ${chunkCount})`);
  }
  return undefined;
}

/**
 * One chunk inverted and scored as a file, for a queue worker (worker.ts): the same auditChunk as the audit's own
 * loop, so a chunk's results depend on the config, its seed and the chunk's rows only, never on who ran it.
 */
export async function runChunk(a: { k: number; from: number; to: number; config: AuditConfig; plan: AttackPlan; store: TemplateStore; prep: PreparedChunks; scratchDir: string; ctx: JobContext; worker: string; onSearch: (queriesPerTarget: number) => void }): Promise<ChunkFile> {
  const t = Date.now();
  const kept = keptRows(a.store.rows, a.config.keepImages, a.config.seed);
  fs.mkdirSync(path.join(a.scratchDir, AUDIT_FILES.images), { recursive: true });
  const out = await auditChunk({
    k: a.k, from: a.from, to: a.to, config: a.config, plan: a.plan, store: a.store, cal: a.prep.cal, tools: a.prep.tools, kept, auditDir: a.scratchDir, ctx: a.ctx,
    onSearch: (qpt) => a.onSearch(qpt),
  });
  return { version: 1, chunk: a.k, from: a.from, to: a.to, seconds: (Date.now() - t) / 1000, ...out.counts, results: out.results, worker: a.worker };
}

async function calibrationOf(ctx: JobContext, opts: AuditOptions, enc: EncoderConfig, hash: string, ref: ReferenceSet, emb: ReferenceEmbeddings, fmrs: number[]): Promise<{ calibration: Calibration; cached: boolean }> {
  const who = { encoderId: enc.id, encoderHash: hash, reference: { key: ref.key, description: ref.description, images: emb.rels.length, identities: new Set(emb.identities).size } };
  const { calibration, cached, file } = await cachedCalibration(opts.cacheDir ?? defaultCacheDir(), who, emb, fmrs, { signal: ctx.signal, log: (m) => ctx.log('info', m) });
  ctx.log('info', `${enc.id} thresholds${cached ? ` (cached: ${file})` : ''}: ${calibration.points.map((p) => `FMR ${p.fmr} → ${p.threshold.toFixed(3)}${p.attainable ? (p.lowSupport ? ` (only ${p.impostorsAbove} impostor scores above: approximate)` : '') : ' (not attainable)'}`).join('; ')}`);
  for (const p of calibration.points.filter((q) => !q.attainable)) {
    ctx.log('warn', `the reference set is too small for FMR ${p.fmr} with ${enc.id}: ${calibration.impostorPairs.toLocaleString('en-US')} impostor pairs, at least ${Math.ceil(1 / p.fmr).toLocaleString('en-US')} needed (${Math.ceil(20 / p.fmr).toLocaleString('en-US')} for 20 above the threshold); the report gives the attainable points only`);
  }
  return { calibration, cached };
}

interface ChunkJob {
  k: number; from: number; to: number;
  config: AuditConfig; plan: AttackPlan; store: TemplateStore; cal: Calibrated; tools: ChunkTools;
  kept: Set<number>; auditDir: string; ctx: JobContext;
  onSearch: (queriesPerTarget: number, targets: number) => void;
}

/** The attack's one inversion of the chunk's view: the white box's engine and restarts, the black box's search through every face made 8-bit (on the system's answers under a score oracle); none for the decision search. */
async function chunkInversion(j: ChunkJob, view: Awaited<ReturnType<typeof oracleView>>, m: number, held?: { probes: number[] }): Promise<Inversion & { held?: HeldLatents }> {
  const model = j.tools.pca;
  const start = view.starts ? Float32Array.from(view.starts.flatMap((z) => Array.from(z))) : view.photos ? new Float32Array(m * model.latentDim) : j.tools.start(view.targets);
  model.clampLatents(start);
  if (view.photos) return { latents: start, failures: view.photos.map(() => undefined), aborted: false } as Inversion;
  // The score search's best face at each checkpoint of the curve, rated beside the final one (oracleHeld.ts).
  const keeper = held ? new HeldLatents(curveBudgets(j.plan.threat.attacker.queries), held.probes, start, model.latentDim) : undefined;
  const hooks = j.tools.oracle?.run.hooks;
  const inv = await invertTargets(j.plan, model, view.targets, start, {
    ...inversionOptions(j),
    ...(view.starts && hooks?.searchAnswers ? { answers: hooks.searchAnswers(view.rows.map((r) => j.store.ids[r])), acceptAt: hooks.thresholds } : {}),
    onSearchStep: (s, oracle) => { keeper?.step(s.bestLatents, oracle.used); j.onSearch(s.queriesPerTarget, m); },
  });
  if (inv.aborted) throw new JobCancelledError();
  return { ...inv, ...(keeper ? { held: keeper } : {}) };
}

/** What every inversion of a chunk shares (the final templates', the held ones'): its seed, and the black box's 8-bit faces through the attacker's encoder. */
function inversionOptions(j: ChunkJob) {
  return {
    seed: (j.config.seed + j.k) >>> 0, signal: j.ctx.signal, workspaceDir: j.ctx.workspaceDir, log: (level: 'info' | 'warn', msg: string) => { if (level === 'warn') j.ctx.log('warn', msg); },
    ...(j.tools.detect ? { detect: j.tools.detect } : {}), ...(searchesByQueries(j.plan) ? { queryEncoder: eightBit(j.cal.encoderA) } : {}),
  };
}

/** score-least-squares: the templates recovered by each checkpoint, inverted as the final ones are (the same start rule and options; heldFaces.ts). */
async function heldInversions(j: ChunkJob, held: readonly HeldTemplate[][], final: Float32Array): Promise<HeldFace[][]> {
  const model = j.tools.pca;
  return invertHeldTemplates(held, final, model, async (targets) => {
    const start = j.tools.start(targets);
    model.clampLatents(start);
    const inv = await invertTargets(j.plan, model, targets, start, inversionOptions(j));
    if (inv.aborted) throw new JobCancelledError();
    return inv.latents;
  });
}

async function auditChunk(j: ChunkJob): Promise<{ results: TemplateResult[]; counts: Pick<ChunkFile, 'searchQueries' | 'scoringQueries' | 'encoderFailures'>; engine?: EngineDecision }> {
  const { store, config, plan } = j;
  const model = j.tools.pca;
  const frame: AlignmentSpec = { template: plan.enc.alignment.template, size: plan.enc.alignment.size };
  const dim = store.dim;
  const rows = Array.from({ length: j.to - j.from }, (_, i) => j.from + i);
  const results: TemplateResult[] = rows.map((r) => {
    const f = store.flags[r];
    return { row: store.sourceRows?.[r] ?? r, id: store.ids[r], ...(f && !f.usable ? { skipped: `${f.kind}: ${f.detail}` } : f ? { note: f.detail } : {}) };
  });
  const counts = { searchQueries: 0, scoringQueries: 0, encoderFailures: 0 };
  const view = await oracleView(j.tools.oracle?.run ?? null, store, rows.filter((r) => !store.flags[r] || store.flags[r]?.usable), (r) => results[r - j.from], plan);
  const usable = view.rows;
  const m = usable.length;
  if (!m) return { results, counts };
  const targets = usable.map((r) => store.vectors.subarray(r * dim, (r + 1) * dim));
  // Before the search, a score-search subject's oracle queries are its probes'.
  const inv = await chunkInversion(j, view, m, view.starts ? { probes: usable.map((r) => results[r - j.from].oracle?.queries ?? 0) } : undefined);
  const { latents, queries, cosine: optimiser } = inv;
  const queried = searchesByQueries(plan);
  const failure: (string | undefined)[] = queried ? inv.failures.map((f) => (f ? `search stopped early: ${f}` : undefined)) : inv.failures;
  if (queried) {
    counts.encoderFailures = failure.filter(Boolean).length;
    counts.searchQueries = (queries ?? []).reduce((a, b) => a + b, 0);
  }
  if (view.starts) usable.forEach((r, i) => addSearchAccepts(results[r - j.from], results[r - j.from].oracle?.queries ?? 0, inv.firstAccepts?.[i], queries?.[i] ?? 0, inv.failures[i]));
  if (j.tools.oracle?.mitigations.length) {
    await mitigationRuns(j.tools.oracle.mitigations, { store, rows: usable, res: (r) => results[r - j.from], model, queryEncoder: eightBit(j.cal.encoderA), seed: (config.seed + j.k) >>> 0, workspaceDir: j.ctx.workspaceDir });
  }
  const S = frame.size, S3 = S * S * 3;
  const { refA } = j.cal;
  const crops = refA.crops as Uint8Array;
  // The decision search's faces are the last it saw accepted (the walked face, else the accepted photo); the others are rendered.
  const pixels = view.photos ? null : await renderFaces(model, latents, m);
  const recons = usable.map((_, i) => (pixels ? pixels.subarray(i * S3, (i + 1) * S3) : view.faces?.[i] ?? crops.subarray(view.photos![i] * S3, (view.photos![i] + 1) * S3)));
  const near = nearestRows(targets, refA.embeddings, refA.dim);
  const uniq = [...new Set(near.map((x) => x.row))];
  const of = near.map((x) => uniq.indexOf(x.row));
  const lookalikes = uniq.map((r) => crops.subarray(r * S3, (r + 1) * S3));
  const scorers: Scorer[] = [
    { encoder: j.cal.encoderA, spec: frame, targets },
    ...j.cal.transfers.map((t): Scorer => ({
      encoder: t.encoder,
      spec: { template: t.entry.config.alignment.template, size: t.entry.config.alignment.size },
      targets: usable.map((r) => {
        const b = t.rowOf[r];
        if (b < 0 || (t.store.flags[b] && !t.store.flags[b]?.usable)) return null;
        return t.store.vectors.subarray(b * t.store.dim, (b + 1) * t.store.dim);
      }),
    })),
  ];
  const scores = await scoreChunk(recons, lookalikes, of, frame, scorers, j.tools.analyzer, j.tools.meanGeometry);
  counts.scoringQueries = scores.queries;
  const held = view.held ?? (await inv.held?.faces(model, latents)) ?? (view.heldTargets ? await heldInversions(j, view.heldTargets, latents) : undefined);
  if (held) {
    const other = usable.map((r) => otherPhotoOf(store, refA, r));
    const h = await scoreHeld(held, scorers, other, frame, j.tools.analyzer, j.tools.meanGeometry);
    counts.scoringQueries += h.queries;
    usable.forEach((r, i) => { const o = results[r - j.from].oracle; if (o) { o.held = h.held[i]; if (other[i]) o.otherPhoto = true; } });
  }
  for (const [i, r] of usable.entries()) {
    const res = results[r - j.from];
    if (failure[i]) res.failure = failure[i];
    if (queries) res.queries = queries[i];
    if (optimiser && Number.isFinite(optimiser[i])) res.optimiserCosine = optimiser[i];
    const a = scores.attack[0][i];
    if (a) res.attack = a;
    const b = scores.nearest[0][i];
    if (b) res.nearest = { rel: refA.rels[near[i].row], cosine: near[i].cosine, direct: b.direct, redetect: b.redetect };
    if (j.cal.transfers.length) {
      res.transfer = j.cal.transfers.map((_, t) => {
        const ta = scores.attack[t + 1][i], tb = scores.nearest[t + 1][i];
        return ta && tb ? { attack: ta, nearest: tb } : null;
      });
    }
    if (j.kept.has(r)) {
      const name = `r${String(r).padStart(7, '0')}.png`;
      await writePng(path.join(j.auditDir, AUDIT_FILES.images, name), recons[i], S, S);
      res.image = name;
    }
  }
  return { results, counts, ...(inv.engine ? { engine: inv.engine } : {}) };
}
