/**
 * Encoders stored as ONNX files, run with onnxruntime-node on the CPU execution provider for `embed`. When the
 * config declares the model differentiable, the same file is also imported into TF.js ops (daemon/onnx) and
 * `forward` runs there, so gradients flow through it (white-box route). Preprocessing is done with TF.js ops
 * (daemon/encoders/preprocess.ts) and the resulting float32 buffer is handed to onnxruntime.
 *
 * The session is built for throughput (docs/engine.md, "The attacked encoder"), from the model file in up to
 * two rewrites, each kept only when the result answers as the original file does:
 * - a fixed batch dimension of 1 (faceplugin's fr_feature.onnx) is lifted (daemon/onnx/batchLift.ts) so one
 *   `session.run` answers several faces; when it cannot be lifted the model runs one face per call and the
 *   reason is logged;
 * - PRelu nodes with constant slopes become s·x + (1 − s)·relu(x) (daemon/onnx/preluRewrite.ts, 'blocked'), ops
 *   that ONNX Runtime's NCHWc layout keeps blocked — the stock PRelu made it reorder the tensor out of and back
 *   into that layout around each of fr_feature's 33 PRelus.
 * The chosen graph is checked against a session of the unmodified file on random faces: largest output
 * difference ≤ GRAPH_TOLERANCE of the output scale (cosine error far below 1e-4), else the next simpler graph is
 * tried. Runs are `runBatch` faces (default DEFAULT_RUN_BATCH), intra-op threads at most the cores, and the
 * pool threads do not spin between ops by default (see `spinning`).
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { tf } from '../tfjs/tf';
import { liftFixedBatch } from '../onnx/batchLift';
import { rewritePrelu } from '../onnx/preluRewrite';
import type { TfOnnxModel } from '../onnx/model';
import { clampThreads, machineCores } from '../tfjs/threads';
import type { AlignedBatch, Encoder } from './types';
import { checkAlignedBatch, l2NormalizeInPlace, l2NormalizeRows, toModelInput } from './preprocess';
import { envSwitch } from '../protocol/env';

export interface OnnxEncoderOptions {
  /** onnxruntime intra-op threads. Default: the machine's core count (capped at 8); above the cores: clamped with a warning. */
  threads?: number;
  /** Faces per `session.run` for dynamic or lifted batches (default DEFAULT_RUN_BATCH). */
  maxBatch?: number;
  /** Keep a fixed batch of 1 as it is (no batch lifting); for comparisons. */
  keepFixedBatch?: boolean;
  /** Keep PRelu nodes as they are (no rewrite); for comparisons. */
  keepPrelu?: boolean;
  /**
   * Whether idle intra-op threads spin between ops. Default off (FACEINV_ORT_SPIN=1 turns it on): the query oracle
   * alternates TF.js wasm renders (their own thread pool) with encoder runs, and on a machine shared with other
   * work spinning threads steal the cores the rest needs — fr_feature, batch 4, 2 threads at load 6.3 on 2 cores:
   * 16.6 ms per face spinning, 9.2 ms not; render 128 faces in TF.js then embed them, at load 9.2: 49 queries/s
   * spinning, 110 not.
   */
  spinning?: boolean;
  /**
   * Import the model into TF.js for `forward` (only a config that declares it differentiable): what the TF.js
   * white box and a TF.js surrogate need. Off by default, so embedding workers and the query oracle never load
   * the importer, and a model it cannot import still embeds.
   */
  differentiable?: boolean;
  /** Warnings (threads clamped, batch not lifted and why, a rewrite refused); default console.warn. */
  log?: (msg: string) => void;
}

/**
 * Faces per session.run. fr_feature, one thread, CPU ms per face (load 5–6 on 2 cores, two runs): batch 1
 * 5.8–6.0, 2 6.3, 4 5.9–6.2, 8 6.2–7.3, 16 7.9–10.1, 32 8.3–10.1. Larger batches push each activation out of
 * cache (a [32,128,56,56] float32 tensor is 51 MB) and the memory-bound depthwise and activation passes slow;
 * 4 keeps the per-call overhead negligible.
 */
export const DEFAULT_RUN_BATCH = 4;

/** Largest output difference, relative to the output scale, that a rewritten graph may show against the original. */
export const GRAPH_TOLERANCE = 1e-5;
/** Former name of GRAPH_TOLERANCE (the lifted graph's check). */
export const BATCH_LIFT_TOLERANCE = GRAPH_TOLERANCE;

interface SessionSettings { threads: number; spinning: boolean }

/** The CPU session every encoder embeds on: intra-op `threads`, one inter-op thread, optimisation 'all'. */
export function sessionOptions(s: SessionSettings): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'], intraOpNumThreads: s.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    ...(s.spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}

function describeShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

export class OnnxEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  readonly inputSize: number;
  /** Differentiable forward through the TF.js import; present only for configs declared differentiable. */
  forward?: (images: AlignedBatch) => tf.Tensor2D;
  private tfModel: TfOnnxModel | undefined;
  private released = false;
  /** The graph (rewritten bytes, or the file) and options the session was created from; see `sessionRecipe`. */
  private recipe: { model: Uint8Array | string; options: ort.InferenceSession.SessionOptions } | null = null;

  private constructor(
    private readonly config: EncoderConfig,
    /** Model file, for error messages. */
    readonly file: string,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly outputName: string,
    /** Faces per session.run (the model's own batch size when it is fixed). */
    private readonly batch: number,
    /** Whether the model's batch dimension is a fixed number rather than dynamic. */
    private readonly fixedBatch: boolean,
    /** How the session was built: graph rewrites kept, faces per run, threads (bench and logs print it). */
    readonly graphNote: string,
  ) {
    this.id = config.id;
    this.dim = config.embeddingDim;
    this.inputSize = config.inputSize;
  }

  /** Opens `file`, checks its declared input/output against `config`, runs one dummy face to check the output size. */
  static async load(config: EncoderConfig, file: string, opts: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    const who = `encoder "${config.id}" (${file})`;
    if (!fs.existsSync(file)) throw new Error(`${who}: model file not found`);
    const log = opts.log ?? ((m: string) => console.warn(m));
    const threads = opts.threads === undefined ? Math.min(8, machineCores()) : clampThreads(opts.threads, `${who}: threads`, log);
    const settings: SessionSettings = { threads, spinning: opts.spinning ?? envSwitch('FACEINV_ORT_SPIN') === true };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, sessionOptions(settings));
    } catch (err) {
      throw new Error(`${who}: not a loadable ONNX model: ${(err as Error).message.split('\n')[0]}`);
    }
    let chosen: GraphChoice | null = null;
    try {
      if (session.inputNames.length !== 1) {
        throw new Error(`${who}: expected one input, the model has ${session.inputNames.length} (${session.inputNames.join(', ')})`);
      }
      const inputName = session.inputNames[0];
      const outputName = config.outputName ?? (session.outputNames.length === 1 ? session.outputNames[0] : undefined);
      if (outputName === undefined) {
        throw new Error(`${who}: the model has outputs ${session.outputNames.join(', ')}; set "outputName" in the config`);
      }
      if (!session.outputNames.includes(outputName)) {
        throw new Error(`${who}: no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`);
      }
      const meta = session.inputMetadata[0];
      const shape = meta && meta.isTensor ? meta.shape : undefined;
      let fixed: number | null = null;
      if (shape) {
        const s = config.inputSize;
        const want = config.layout === 'NCHW' ? [3, s, s] : [s, s, 3];
        const dims = shape.slice(1).map((d, i) => (typeof d === 'number' && d > 0 ? d : want[i]));
        if (shape.length !== 4 || dims.some((d, i) => d !== want[i])) {
          throw new Error(`${who}: model input is ${describeShape(shape)}, config says ${config.layout} [N, ${want.join(', ')}] (inputSize ${s})`);
        }
        if (typeof shape[0] === 'number' && shape[0] > 0) fixed = shape[0];
      }
      const io: GraphIo = { config, file, inputName, outputName, originalBatch: fixed };
      chosen = await chooseGraph(io, session, settings, { lift: fixed === 1 && !opts.keepFixedBatch, prelu: !opts.keepPrelu });
      for (const w of chosen.warnings) log(`${who}: ${w}`);
      const runBatch = chosen.batch ?? opts.maxBatch ?? DEFAULT_RUN_BATCH;
      const enc = new OnnxEncoder(config, file, chosen.session, inputName, outputName, runBatch, chosen.batch !== null,
        `${chosen.note}; ${runBatch} face${runBatch === 1 ? '' : 's'} per run, ${threads} thread${threads === 1 ? '' : 's'}${settings.spinning ? '' : ', no spinning'}`);
      enc.recipe = { model: chosen.bytes ?? file, options: sessionOptions(settings) };
      if (chosen.session !== session) {
        const original = session;
        session = chosen.session; // from here on the only session to release on failure
        await original.release();
      }
      const probeN = enc.fixedBatch ? runBatch : 1;
      const probe = await enc.runRaw(new Float32Array(probeN * 3 * config.inputSize * config.inputSize), probeN);
      if (probe.length !== probeN * config.embeddingDim) {
        throw new Error(`${who}: the model outputs ${probe.length / probeN} values per face, config embeddingDim is ${config.embeddingDim}`);
      }
      // Imported last, once the model is known good, so a failed load never holds TF.js weights.
      if (config.known.differentiable && opts.differentiable) await enc.attachTfModel();
      return enc;
    } catch (err) {
      if (chosen && chosen.session !== session) await chosen.session.release();
      await session.release();
      throw err;
    }
  }

  /** Whether `embed` runs many faces per onnxruntime call (a dynamic or lifted batch). */
  get batched(): boolean {
    return !this.fixedBatch || this.batch > 1;
  }

  /** Faces per onnxruntime call. */
  get runBatch(): number {
    return this.batch;
  }

  /**
   * The model (rewritten graph bytes, or the file's path) and session options `embed` runs on, so a profiler
   * (`faceinv bench --profile`) can open a twin session with ONNX Runtime's per-op profiling turned on.
   */
  sessionRecipe(): { model: Uint8Array | string; options: ort.InferenceSession.SessionOptions } {
    if (!this.recipe) throw new Error(`encoder "${this.id}": not loaded`);
    return this.recipe;
  }

  private async attachTfModel(): Promise<void> {
    const who = `encoder "${this.id}" (${this.file})`;
    let model: TfOnnxModel;
    try {
      // The importer (about 1.5k lines) is the TF.js fallback's alone: loaded only when it is used.
      const { loadOnnxAsTf } = await import('../onnx/model');
      model = await loadOnnxAsTf(this.file);
    } catch (err) {
      throw new Error(`${who} is declared differentiable but cannot be imported into TF.js: ${(err as Error).message}; set known.differentiable to false`);
    }
    const outputName = model.outputNames.includes(this.outputName) ? this.outputName : model.outputNames[0];
    this.tfModel = model;
    this.forward = (images) => {
      if (this.released) throw new Error(`${who}: used after dispose()`);
      checkAlignedBatch(images, this.inputSize, who);
      return tf.tidy(() => {
        const out = model.execute({ [model.inputName]: toModelInput(images, this.config) })[outputName];
        return l2NormalizeRows(tf.reshape(out, [images.shape[0], -1]) as tf.Tensor2D);
      });
    };
  }

  /** Runs `n` faces of model input (already preprocessed, model layout) → raw outputs, [n·dim]. */
  private async runRaw(data: Float32Array, n: number): Promise<Float32Array> {
    const s = this.config.inputSize;
    const dims = this.config.layout === 'NCHW' ? [n, 3, s, s] : [n, s, s, 3];
    const feeds = { [this.inputName]: new ort.Tensor('float32', data, dims) };
    const out = await this.session.run(feeds, [this.outputName]);
    const t = out[this.outputName];
    const values = t.data as Float32Array;
    const copy = Float32Array.from(values);
    t.dispose?.();
    return copy;
  }

  /** The model's own outputs ([N][dim], not re-normalised): for checking `l2Normalized` claims. */
  async embedRaw(images: AlignedBatch): Promise<Float32Array[]> {
    if (this.released) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    checkAlignedBatch(images, this.inputSize, `encoder "${this.id}" (${this.file})`);
    const n = images.shape[0];
    const prepared = toModelInput(images, this.config);
    const all = (await prepared.data()) as Float32Array;
    prepared.dispose();
    const per = all.length / n;
    const rows: Float32Array[] = [];
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      let chunk = all.subarray(start * per, (start + count) * per);
      let runN = count;
      if (this.fixedBatch && count < this.batch) {
        // A fixed batch dimension > 1: pad the last chunk with zeros, keep only the real rows.
        const padded = new Float32Array(this.batch * per);
        padded.set(chunk);
        chunk = padded;
        runN = this.batch;
      }
      const out = await this.runRaw(chunk, runN);
      for (let i = 0; i < count; i++) rows.push(out.slice(i * this.dim, (i + 1) * this.dim));
    }
    return rows;
  }

  async embed(images: AlignedBatch): Promise<Float32Array[]> {
    return (await this.embedRaw(images)).map(l2NormalizeInPlace);
  }

  /**
   * `embed` for uint8 crops on the host (the face pipeline's path): `n` crops [n, S, S, 3] RGB 0..255,
   * S = inputSize. Preprocessing is done here in float32 with the same operations, in the same order, as
   * `toModelInput` on crop/255 (x·(255/std) then − mean/std, each rounded to float32), so the embeddings are
   * bit-identical to `embed`'s, without TF.js.
   */
  async embedUint8(crops: Uint8Array, n: number): Promise<Float32Array[]> {
    if (this.released) throw new Error(`encoder "${this.id}" (${this.file}): used after dispose()`);
    const s = this.inputSize;
    const per = s * s * 3;
    if (!(Number.isInteger(n) && n >= 1) || crops.length !== n * per) {
      throw new Error(`encoder "${this.id}" (${this.file}): embedUint8 needs ${n} crops of ${s}×${s}×3 (${n * per} bytes), got ${crops.length}`);
    }
    const { mean, std } = this.config.normalization;
    const bgr = this.config.channelOrder === 'BGR';
    const scale = std.map((v) => Math.fround(255 / v));
    const shift = mean.map((m, i) => Math.fround(m / std[i]));
    const nchw = this.config.layout === 'NCHW';
    const plane = s * s;
    const rows: Float32Array[] = [];
    for (let start = 0; start < n; start += this.batch) {
      const count = Math.min(this.batch, n - start);
      const runN = this.fixedBatch ? this.batch : count;
      const x = new Float32Array(runN * per);
      for (let i = 0; i < count; i++) {
        const src = (start + i) * per;
        for (let p = 0; p < plane; p++) {
          for (let c = 0; c < 3; c++) {
            const v = Math.fround(crops[src + p * 3 + (bgr ? 2 - c : c)] / 255);
            const y = Math.fround(Math.fround(v * scale[c]) - shift[c]);
            x[nchw ? i * per + c * plane + p : i * per + p * 3 + c] = y;
          }
        }
      }
      const out = await this.runRaw(x, runN);
      for (let i = 0; i < count; i++) rows.push(l2NormalizeInPlace(out.slice(i * this.dim, (i + 1) * this.dim)));
    }
    return rows;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.tfModel?.dispose();
    void this.session.release();
  }
}

/** What the graph checks need to know about the model. */
interface GraphIo {
  config: EncoderConfig;
  file: string;
  inputName: string;
  outputName: string;
  /** The file's own batch dimension when it is a fixed number; null when dynamic. */
  originalBatch: number | null;
}

interface GraphChoice {
  session: ort.InferenceSession;
  /** The session's fixed batch dimension; null when it takes any batch. */
  batch: number | null;
  /** The rewritten graph the session runs; null when it is the file as it is. */
  bytes: Uint8Array | null;
  /** The rewrites kept, e.g. "batch lifted, 33 PRelu in blocked form". */
  note: string;
  /** Why a faster graph was not used (batch not lifted, a rewrite that failed its check). */
  warnings: string[];
}

interface Candidate { bytes: Uint8Array; lifted: boolean; prelus: number; folded: number }

/**
 * The fastest graph of `io.file` that answers as `original` does: lifted batch + blocked PRelu, then lifted
 * only, then PRelu only, then the file as it is (`original` itself).
 */
async function chooseGraph(io: GraphIo, original: ort.InferenceSession, settings: SessionSettings, want: { lift: boolean; prelu: boolean }): Promise<GraphChoice> {
  const bytes = fs.readFileSync(io.file);
  const warnings: string[] = [];
  let lifted: Uint8Array | null = null;
  if (want.lift) {
    try {
      lifted = liftFixedBatch(bytes, io.file)?.bytes ?? null;
    } catch (err) {
      warnings.push(`its batch dimension is fixed at 1 and cannot be lifted (${(err as Error).message}); it runs one face per call`);
    }
  }
  const blocked = (b: Uint8Array) => {
    try {
      return rewritePrelu(b, io.file, 'blocked');
    } catch {
      return null;
    }
  };
  const candidates: Candidate[] = [];
  const pr = want.prelu ? blocked(lifted ?? bytes) : null;
  if (pr) candidates.push({ bytes: pr.bytes, lifted: lifted !== null, prelus: pr.blocked, folded: pr.folded });
  if (lifted) candidates.push({ bytes: lifted, lifted: true, prelus: 0, folded: 0 });
  if (pr && lifted) {
    const only = blocked(bytes);
    if (only) candidates.push({ bytes: only.bytes, lifted: false, prelus: only.blocked, folded: only.folded });
  }
  for (const c of candidates) {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(c.bytes, sessionOptions(settings));
    } catch (err) {
      warnings.push(`a rewritten graph (${describeCandidate(c)}) does not load (${(err as Error).message.split('\n')[0]}); not used`);
      continue;
    }
    const batch = c.lifted ? null : io.originalBatch;
    const diff = await graphDifference(io, original, session, batch);
    if (diff <= GRAPH_TOLERANCE) {
      if (lifted && !c.lifted) warnings.push('its batch dimension is fixed at 1 and the lifted graph does not answer as the original does; it runs one face per call');
      return { session, batch, bytes: c.bytes, note: describeCandidate(c), warnings };
    }
    warnings.push(`a rewritten graph (${describeCandidate(c)}) differs from the original by ${diff.toExponential(2)} of the output scale (tolerance ${GRAPH_TOLERANCE}); not used`);
    await session.release();
  }
  if (lifted && candidates.every((c) => c.lifted)) warnings.push('its batch dimension is fixed at 1 and the lifted graph does not answer as the original does; it runs one face per call');
  return { session: original, batch: io.originalBatch, bytes: null, note: 'the model file as it is', warnings };
}

function describeCandidate(c: Candidate): string {
  const parts = [...(c.lifted ? ['batch lifted'] : []), ...(c.prelus ? [`${c.prelus} PRelu in blocked form (${c.folded} folded into depthwise convs)`] : [])];
  return parts.join(', ') || 'unchanged';
}

/**
 * Largest |difference| between `candidate`'s and `original`'s outputs on deterministic random faces, relative to
 * the largest |output| (Infinity when the candidate fails or changes the output size). Each session runs the
 * faces in the batch it takes (its fixed batch, or all at once).
 */
async function graphDifference(io: GraphIo, original: ort.InferenceSession, candidate: ort.InferenceSession, candidateBatch: number | null): Promise<number> {
  // A multiple of every fixed batch involved (a candidate's fixed batch is the original's).
  const fixed = io.originalBatch ?? 1;
  const n = Math.ceil(3 / fixed) * fixed;
  const x = probeInput(io.config, n);
  try {
    const a = await runInBatches(io, original, x, n, io.originalBatch ?? n);
    const b = await runInBatches(io, candidate, x, n, candidateBatch ?? n);
    if (a.length !== b.length) return Infinity;
    let maxDiff = 0;
    let scale = 0;
    for (let k = 0; k < a.length; k++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
      scale = Math.max(scale, Math.abs(a[k]));
    }
    return Number.isFinite(maxDiff) ? maxDiff / Math.max(scale, 1e-12) : Infinity;
  } catch {
    return Infinity;
  }
}

/** Outputs of `n` faces of `x` through `session`, `batch` faces per run (n is a multiple of a fixed batch). */
async function runInBatches(io: GraphIo, session: ort.InferenceSession, x: Float32Array, n: number, batch: number): Promise<Float32Array> {
  const per = x.length / n;
  const s = io.config.inputSize;
  const parts: Float32Array[] = [];
  for (let i = 0; i + batch <= n; i += batch) {
    const dims = io.config.layout === 'NCHW' ? [batch, 3, s, s] : [batch, s, s, 3];
    const out = await session.run({ [io.inputName]: new ort.Tensor('float32', x.subarray(i * per, (i + batch) * per), dims) }, [io.outputName]);
    parts.push(Float32Array.from(out[io.outputName].data as Float32Array));
  }
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return all;
}

/** Deterministic model-range inputs (n faces in the config's layout, flat), so a failing check reproduces. */
function probeInput(config: EncoderConfig, n: number): Float32Array {
  const s = config.inputSize;
  let seed = 0x2545f491;
  return Float32Array.from({ length: n * 3 * s * s }, () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 31 - 1; });
}
