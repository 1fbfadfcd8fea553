/**
 * Queries per second of the attacked encoder on this machine, two ways in one run (how much of
 * the query cost is the model and how much the project's path around it):
 * - plain: an ONNX Runtime session of the model file as shipped (CPU provider, 2 intra-op threads, graph
 *   optimisation 'all', ONNX Runtime's other defaults), one face per `session.run`, input already preprocessed;
 * - project: the encoder as the query oracle uses it (daemon/attack/search/oracle.ts): `embed` of a batch of
 *   [N,S,S,3] face crops, preprocessing in TF.js included.
 * Repetitions alternate the two, and the ratio is the median of per-repetition ratios, so load that comes and
 * goes hits both. The same faces go through both and the largest 1 − cosine between their templates is
 * reported: the project's path must answer as the model does (stated tolerance 1e-4).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { tf } from '../tfjs/tf';
import { OnnxEncoder } from '../encoders/onnxEncoder';
import { findEncoderConfig, resolveModelPath } from '../encoders/registry';
import { toModelInput } from '../encoders/preprocess';
import { OpTime, readProfile } from '../ort/session';

export interface EncoderQueryResult {
  encoder: string;
  /** How the project's session is built (rewrites, faces per run, threads). */
  graphNote: string;
  /** Faces per repetition and path. */
  queries: number;
  reps: number;
  plainQps: number;
  projectQps: number;
  /** Median over repetitions of plain seconds / project seconds for the same faces. */
  ratio: number;
  /** Largest 1 − cosine between the two paths' templates of the same faces. */
  worstCosineGap: number;
  plainThreads: number;
  /** 1-minute load average before and after. */
  load: [number, number];
  /** ONNX Runtime's per-op profile (kernel ms per face) of both sessions, when asked for. */
  profile?: { plain: FaceProfile; project: FaceProfile };
}

export interface FaceProfile { msPerFace: number; batch: number; byOp: OpTime[] }

export interface EncoderQueryOptions {
  /** Encoder id (an ONNX encoder; default the attacked one, arcface512-faceplugin). */
  id?: string;
  /** Faces per repetition (default 64: half the oracle's render chunk keeps the plain side under ~3 s on a slow machine). */
  queries?: number;
  reps?: number;
  /** Intra-op threads of the project's encoder (default: its own default, the cores). */
  threads?: number;
  /** Also profile both sessions per op (a twin session of each, with ONNX Runtime's profiler on). */
  profile?: boolean;
  log?: (msg: string) => void;
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** The plain session's settings: what a user gets from onnxruntime-node with the obvious options. */
export const PLAIN_THREADS = 2;

export async function benchEncoderQueries(opts: EncoderQueryOptions = {}): Promise<EncoderQueryResult> {
  const config = findEncoderConfig(opts.id ?? 'arcface512-faceplugin').config;
  if (config.format !== 'onnx') throw new Error(`encoder ${config.id} is not an ONNX model (format ${config.format}); the query bench compares ONNX Runtime sessions`);
  const file = resolveModelPath(config);
  const q = opts.queries ?? 64;
  const reps = opts.reps ?? 3;
  const load0 = os.loadavg()[0];
  const enc = await OnnxEncoder.load({ ...config, known: { ...config.known, differentiable: false } }, file, { threads: opts.threads, log: opts.log });
  const plain = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], intraOpNumThreads: PLAIN_THREADS, graphOptimizationLevel: 'all' });
  const S = config.inputSize;
  const faces = tf.randomUniform([q, S, S, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  try {
    const prepared = toModelInput(faces, config);
    const flat = (await prepared.data()) as Float32Array;
    prepared.dispose();
    const per = flat.length / q;
    const dims = config.layout === 'NCHW' ? [1, 3, S, S] : [1, S, S, 3];
    const inputName = plain.inputNames[0];
    const outputName = config.outputName ?? plain.outputNames[0];
    const runPlain = async (): Promise<Float32Array[]> => {
      const rows: Float32Array[] = [];
      for (let i = 0; i < q; i++) {
        const out = await plain.run({ [inputName]: new ort.Tensor('float32', flat.subarray(i * per, (i + 1) * per), dims) }, [outputName]);
        rows.push(Float32Array.from(out[outputName].data as Float32Array));
      }
      return rows;
    };
    // Warm-up (first runs allocate), and the templates the accuracy check compares.
    const ref = await runPlain();
    const mine = await enc.embed(faces);
    let worst = 0;
    ref.forEach((r, i) => {
      const n = Math.hypot(...r);
      let cos = 0;
      for (let k = 0; k < r.length; k++) cos += (r[k] / n) * mine[i][k];
      worst = Math.max(worst, 1 - cos);
    });
    const plainS: number[] = [];
    const projS: number[] = [];
    const ratios: number[] = [];
    const timeIt = async (f: () => Promise<unknown>): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await f();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    for (let r = 0; r < reps; r++) {
      // Alternate which side goes first, so a burst of load does not always land on the same one.
      let pl: number;
      let pr: number;
      if (r % 2 === 0) {
        pl = await timeIt(runPlain);
        pr = await timeIt(() => enc.embed(faces));
      } else {
        pr = await timeIt(() => enc.embed(faces));
        pl = await timeIt(runPlain);
      }
      plainS.push(pl);
      projS.push(pr);
      ratios.push(pl / pr);
    }
    const profile = opts.profile ? {
      plain: await profileSession(file, { executionProviders: ['cpu'], intraOpNumThreads: PLAIN_THREADS, graphOptimizationLevel: 'all' }, flat, per, dims, 1, q),
      project: await profileSession(enc.sessionRecipe().model, enc.sessionRecipe().options, flat, per, dims, enc.runBatch, q),
    } : undefined;
    return {
      encoder: config.id, graphNote: enc.graphNote, queries: q, reps, ...(profile ? { profile } : {}),
      plainQps: q / median(plainS), projectQps: q / median(projS), ratio: median(ratios),
      worstCosineGap: worst, plainThreads: PLAIN_THREADS, load: [load0, os.loadavg()[0]],
    };
  } finally {
    faces.dispose();
    enc.dispose();
    await plain.release();
  }
}

/**
 * Kernel time per face by op type of a twin session (`model`, `options` + profiling) running `q` faces of `flat`
 * in runs of `batch` (after one warm-up run, which the profile also holds and the division accounts for).
 */
async function profileSession(model: Uint8Array | string, options: ort.InferenceSession.SessionOptions, flat: Float32Array, per: number, dims1: number[], batch: number, q: number): Promise<FaceProfile> {
  const prefix = path.join(os.tmpdir(), `faceinv-encoder-profile-${process.pid}-${Date.now()}`);
  const session = typeof model === 'string'
    ? await ort.InferenceSession.create(model, { ...options, enableProfiling: true, profileFilePrefix: prefix })
    : await ort.InferenceSession.create(model, { ...options, enableProfiling: true, profileFilePrefix: prefix });
  const input = session.inputNames[0];
  const runs = Math.floor(q / batch);
  const dims = [batch, ...dims1.slice(1)];
  for (let r = 0; r <= runs; r++) {
    const i = (r % runs) * batch;
    await session.run({ [input]: new ort.Tensor('float32', flat.subarray(i * per, (i + batch) * per), dims) });
  }
  const faces = (runs + 1) * batch;
  const p = readProfile({ session, provider: 'cpu', reason: 'profile', threads: Number(options.intraOpNumThreads ?? 1), profilePrefix: prefix }, faces);
  await session.release();
  return { msPerFace: p.totalMs, batch, byOp: p.byOp };
}
