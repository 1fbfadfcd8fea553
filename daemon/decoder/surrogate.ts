/**
 * The identity term's *surrogate* encoder F: a differentiable face encoder other than the attacked
 * one, through which the decoder's output is scored for identity while it trains — the black-box practice of
 * Shahreza & Marcel (NeurIPS 2023, "a different proxy model"; GaFaR) and the "small differentiable surrogate"
 * of the project's method review. Never the attacked encoder: a black-box attacker has no gradients of it, so
 * one with the attacked encoder's id or its very model files (same hash) is refused.
 *
 * The decoder renders `arcface-5pt` crops at its output size S; F takes its own template at its own size. The
 * warp between the two is the similarity that maps the eye centres of one template onto the other's (both
 * templates are defined by five reference points, daemon/data/templates.ts; the rotation between them is
 * below 0.5° and is dropped, so the warp is a scale and a shift: two bilinear interpolation matrices, clamped
 * at the border, as the white box's crop). A box template (`human-crop`) has no fixed place for the eyes; its
 * warp starts from their mean place (templates.ts HUMAN_CROP_EYES_112), which puts the average face right and
 * a given one a few pixels off: through it arcface512-faceplugin gives a photo's box crop cosine 0.80 on
 * average (median 0.88) to its own aligned crop (scripts/box-warp-check.js). Enough to guide a search out of
 * a face model built in box crops; an encoder that takes box crops is not a surrogate, and no warp ever scores.
 * Both the decoder's output and the target photo go through the same warp, so the identity term compares like
 * with like: 1 − cos(F(warp(G(z))), F(warp(x))).
 *
 * Engines: on ONNX Runtime F must be built from graph-builder ops — face-api's ResNet from its weights
 * (daemon/ort/faceApiGraph.ts) or an ONNX model imported with its backward rules (daemon/ort/encoderGraph.ts);
 * on TF.js any encoder with a differentiable `forward`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { modelFilesHash } from '../data/encoderTarget';
import { defaultCacheDir } from '../data/pipeline';
import { getTemplate } from '../data/templates';
import type { TemplateName } from '../data/templates';
import { tf } from '../tfjs/tf';
import { FaceApiResnetEncoder } from '../encoders/faceApiResnet';
import { whiteboxObstacle } from '../encoders/judge';
import { loadEncoder } from '../encoders/load';
import { findEncoderConfig, listEncoderConfigs, resolveModelPath, scopeOf } from '../encoders/registry';
import type { Encoder } from '../encoders/types';
import type { IdentityEmbed } from '../nets/decoder';
import type { SurrogateEmitter } from '../ort/decoderGraph';
import type { EngineRequest } from '../ort/engineChoice';
import { emitEncoder, onnxEncoderSource } from '../ort/encoderGraph';
import { emitFaceApi } from '../ort/faceApiGraph';
import { GraphBuilder } from '../ort/graph';
import { interpMatrix } from '../nets/latentSearch';
import { createSession } from '../ort/session';
import { writeFileAtomic } from '../runs/runFolder';
import { fitRidge } from '../math/ridge';
import { TARGET_TEMPLATE } from './trainingSet';

/** Scale and shift taking decoder-frame pixel coordinates to the surrogate's: x' = scale·x + t. */
export interface FrameWarp { from: number; to: number; scale: number; tx: number; ty: number }

/** Eye centres of a template at `size` (left then right in the image; a box template's mean place). */
function eyeCentres(template: TemplateName, size: number): [[number, number], [number, number]] {
  const t = getTemplate(template);
  if (t.kind === 'box') return t.meanEyesAt(size);
  const p = t.pointsAt(size);
  if (template === 'dlib-5pt-chip') {
    // dlib's 5-point model: parts 0/1 are the corners of the eye on the image's right, 2/3 the other eye's.
    const mid = (a: number[], b: number[]): [number, number] => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    return [mid(p[2], p[3]), mid(p[0], p[1])];
  }
  return [[p[0][0], p[0][1]], [p[1][0], p[1][1]]]; // arcface-5pt: eye centres first
}

/**
 * The warp from the face model's frame (`fromTemplate` at `from`: the decoder's arcface-5pt, or a PCA model
 * built in the attacked encoder's frame) to `template` at `to`.
 */
export function frameWarp(from: number, template: TemplateName, to: number, fromTemplate: TemplateName = TARGET_TEMPLATE): FrameWarp {
  const src = eyeCentres(fromTemplate, from);
  const dst = eyeCentres(template, to);
  const dist = (e: [number, number][]) => Math.hypot(e[1][0] - e[0][0], e[1][1] - e[0][1]);
  const scale = dist(dst) / dist(src);
  const mid = (e: [number, number][]) => [(e[0][0] + e[1][0]) / 2, (e[0][1] + e[1][1]) / 2];
  const [sx, sy] = mid(src);
  const [dx, dy] = mid(dst);
  return { from, to, scale, tx: dx - scale * sx, ty: dy - scale * sy };
}

/** Interpolation matrices of the warp: rows Ry [to, from] and columns Rx [to, from] (bilinear, border clamped). */
export function warpMatrices(w: FrameWarp): { ry: Float32Array; rx: Float32Array } {
  // Output pixel centre i + 0.5 comes from source coordinate (i + 0.5 − t)/scale; in interpMatrix's terms the
  // segment [a, b] of the source (in units of its side) is spanned by the output.
  const seg = (t: number) => {
    const a = -t / (w.scale * w.from);
    return [a, a + w.to / (w.scale * w.from)] as const;
  };
  const [ya, yb] = seg(w.ty);
  const [xa, xb] = seg(w.tx);
  return { ry: interpMatrix(w.to, w.from, ya, yb), rx: interpMatrix(w.to, w.from, xa, xb) };
}

export interface SurrogatePlan {
  config: EncoderConfig;
  /** The config file it came from. */
  file: string;
  warp: FrameWarp;
  /** Why ONNX Runtime cannot build F, or null when it can. */
  ortObstacle: string | null;
}

/** Why `config` cannot be a surrogate on any engine (null when it can), and why not on ONNX Runtime. */
function obstacles(config: EncoderConfig, size: number, fromTemplate: TemplateName): { any: string | null; ort: string | null } {
  const wb = whiteboxObstacle(config);
  if (wb) return { any: wb, ort: wb };
  if (getTemplate(config.alignment.template).kind === 'box') {
    // The mean-eye warp was measured as a guide out of a box-crop face model (scripts/box-warp-check.js), not into one.
    const why = `it takes "${config.alignment.template}" crops (a detector-box crop), where a warp from the face model's ${fromTemplate} frame could place a face only on average`;
    return { any: why, ort: why };
  }
  const ortOk = config.format === 'onnx' || config.format === 'face-api';
  return { any: null, ort: ortOk ? null : `ONNX Runtime builds only ONNX models and face-api's ResNet as graph ops, "${config.id}" is a ${config.format} model` };
}

/** The model-files hash of `c`, or null for a package that is not installed (it cannot be loaded either way). */
function hashOrNull(c: EncoderConfig, workspaceDir?: string): string | null {
  try {
    return modelFilesHash(c, workspaceDir);
  } catch {
    return null;
  }
}

/**
 * The encoders that can guide an attack on `attackedId` on `engine`, for a face model rendering `fromTemplate`
 * crops of side `size`: every one the engine can differentiate in that frame, except the attacked encoder and
 * its model files under another id. The one list resolveSurrogate's errors and `faceinv tune`'s choice share.
 */
export function usableSurrogates(attackedId: string, engine: EngineRequest, size: number, workspaceDir?: string, fromTemplate: TemplateName = TARGET_TEMPLATE): string[] {
  const scope = scopeOf(workspaceDir);
  const attackedHash = hashOrNull(findEncoderConfig(attackedId, scope).config, workspaceDir);
  return listEncoderConfigs(scope).map((e) => e.config).filter((c) => {
    if (c.id === attackedId) return false;
    const o = obstacles(c, size, fromTemplate);
    if (o.any || (engine === 'onnxruntime' && o.ort)) return false;
    const h = hashOrNull(c, workspaceDir);
    return h !== null && h !== attackedHash;
  }).map((c) => c.id);
}

/**
 * Checks `id` as the surrogate of a run attacking `attackedId` on `engine`, with a face model rendering
 * `fromTemplate` crops of side `size` (the decoder's arcface-5pt by default).
 * Errors name the problem and list the encoders that can be used instead.
 */
export function resolveSurrogate(id: string, attackedId: string, engine: EngineRequest, size: number, workspaceDir?: string, field = 'decoder.identity.surrogate',
  fromTemplate: TemplateName = TARGET_TEMPLATE): SurrogatePlan {
  const scope = scopeOf(workspaceDir);
  const attackedHash = hashOrNull(findEncoderConfig(attackedId, scope).config, workspaceDir);
  const usable = usableSurrogates(attackedId, engine, size, workspaceDir, fromTemplate);
  const options = `surrogates that can be used${engine === 'onnxruntime' ? ' on ONNX Runtime' : ''}: ${usable.join(', ') || 'none'}`;
  let entry;
  try {
    entry = findEncoderConfig(id, scope);
  } catch (e) {
    throw new Error(`${field}: ${(e as Error).message}; ${options}`);
  }
  const c = entry.config;
  if (id === attackedId) {
    throw new Error(`${field} "${id}" is the attacked encoder: a black-box attack has no gradients of the encoder it attacks; ${options}`);
  }
  const h = hashOrNull(c, workspaceDir);
  if (h !== null && h === attackedHash) {
    throw new Error(`${field} "${id}" runs the attacked encoder's own model (${attackedId}: same model files, sha256 ${h.slice(0, 12)}…): ` +
      `a black-box attack has no gradients of the encoder it attacks; ${options}`);
  }
  const o = obstacles(c, size, fromTemplate);
  if (o.any) throw new Error(`${field} "${id}" cannot be differentiated by the engine: ${o.any}; ${options}`);
  if (engine === 'onnxruntime' && o.ort) throw new Error(`${field} "${id}" cannot be used with training.engine "onnxruntime": ${o.ort}; use "auto" or "tfjs" to train on TF.js, or ${options}`);
  return { config: c, file: entry.file, warp: frameWarp(size, c.alignment.template, c.alignment.size, fromTemplate), ortObstacle: o.ort };
}

/** A loaded surrogate: its graph emitter (ONNX Runtime), its TF.js embed, and forward-only target embeddings. */
export interface Surrogate {
  id: string;
  dim: number;
  plan: SurrogatePlan;
  /** F with the warp, as graph ops (null when ONNX Runtime cannot build it: plan.ortObstacle). */
  ort: SurrogateEmitter | null;
  /** F with the warp on TF.js, differentiable (loads the encoder on first use). */
  tfjs(): Promise<{ embed: IdentityEmbed; dispose(): void }>;
  /** Unit embeddings [n, dim] of [n, S, S, 3] uint8 crops in the decoder's frame (no gradient). */
  embedCrops(crops: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The warp as TF.js ops: [N, S, S, 3] → [N, s, s, 3] (call inside a tidy or a gradient function). */
export function warpImages(img: tf.Tensor4D, ry: tf.Tensor2D, rx: tf.Tensor2D): tf.Tensor4D {
  const [n, S, , c] = img.shape;
  const s = ry.shape[0];
  const rows = tf.matMul(ry, tf.reshape(tf.transpose(img, [1, 0, 2, 3]), [S, n * S * c])); // [s, N·S·C]
  const b = tf.transpose(tf.reshape(rows, [s, n, S, c]), [2, 0, 1, 3]); // [S(w), s, N, C]
  const cols = tf.matMul(rx, tf.reshape(b, [S, s * n * c])); // [s(w), s·N·C]
  return tf.transpose(tf.reshape(cols, [s, s, n, c]), [2, 1, 0, 3]) as tf.Tensor4D;
}

export async function openSurrogate(plan: SurrogatePlan, workspaceDir?: string): Promise<Surrogate> {
  const c = plan.config;
  const { ry, rx } = warpMatrices(plan.warp);
  const S = plan.warp.from;
  const s = plan.warp.to;
  let faceApi: FaceApiResnetEncoder | null = null;
  let emitF: ((b: GraphBuilder, x: string) => string) | null = null;
  if (!plan.ortObstacle) {
    if (c.format === 'face-api') {
      faceApi = await FaceApiResnetEncoder.load(c, resolveModelPath(c, workspaceDir));
      const params = faceApi.exportParams();
      emitF = (b, x) => emitFaceApi(b, params, x, 'surrogate/');
    } else {
      const src = onnxEncoderSource(c, resolveModelPath(c, workspaceDir));
      emitF = (b, x) => emitEncoder(b, src, x, { normalize: true, prefix: 'surrogate/' });
    }
  }
  const emitWarp = (b: GraphBuilder, img: string): string => {
    const rowsM = b.constant(ry, [s, S], 'float32', 'surrogate_warp_rows');
    const rxT = new Float32Array(S * s);
    for (let i = 0; i < s; i++) for (let j = 0; j < S; j++) rxT[j * s + i] = rx[i * S + j];
    const rows = b.op('MatMul', [rowsM, img]); // [N, 3, s, S]
    return b.op('MatMul', [rows, b.constant(rxT, [S, s], 'float32', 'surrogate_warp_cols')]); // [N, 3, s, s]
  };
  const emitter: SurrogateEmitter | null = emitF ? { id: c.id, dim: c.embeddingDim, emit: (b, img) => emitF!(b, emitWarp(b, img)) } : null;
  let tfEncoder: Encoder | null = null;
  const tfEncoderOf = async (): Promise<Encoder> => {
    if (faceApi) return faceApi;
    if (!tfEncoder) tfEncoder = await loadEncoder(c, { workspaceDir, differentiable: true });
    return tfEncoder;
  };
  let forwardSession: Awaited<ReturnType<typeof createSession>> | null = null;
  return {
    id: c.id, dim: c.embeddingDim, plan, ort: emitter,
    async tfjs() {
      const enc = await tfEncoderOf();
      if (!enc.forward) throw new Error(`surrogate "${c.id}": the loaded encoder has no differentiable forward on TF.js`);
      const ryT = tf.tensor2d(ry, [s, S]);
      const rxT = tf.tensor2d(rx, [s, S]);
      return {
        embed: (img) => enc.forward!(warpImages(img, ryT, rxT)),
        dispose: () => { ryT.dispose(); rxT.dispose(); },
      };
    },
    async embedCrops(crops, n) {
      const S3 = S * S * 3;
      if (crops.length !== n * S3) throw new Error(`surrogate "${c.id}": ${crops.length} values are not ${n} crops of ${S}×${S}×3`);
      const out = new Float32Array(n * c.embeddingDim);
      const batch = 32;
      if (emitter) {
        if (!forwardSession) {
          const b = new GraphBuilder(`surrogate ${c.id} (forward)`);
          const x = b.input('images', ['N', S, S, 3]);
          b.rename(emitter.emit(b, b.op('Transpose', [b.op('Mul', [x, b.scalar(1 / 255)])], { perm: [0, 3, 1, 2] })), 'embedding');
          b.output('embedding');
          forwardSession = await createSession(b.toBytes(), `the surrogate ${c.id}`);
        }
        for (let at = 0; at < n; at += batch) {
          const m = Math.min(batch, n - at);
          const px = Float32Array.from(crops.subarray(at * S3, (at + m) * S3));
          const r = await forwardSession.session.run({ images: new ort.Tensor('float32', px, [m, S, S, 3]) }, ['embedding']);
          out.set(r.embedding.data as Float32Array, at * c.embeddingDim);
        }
        return out;
      }
      const enc = await tfEncoderOf();
      const ryT = tf.tensor2d(ry, [s, S]);
      const rxT = tf.tensor2d(rx, [s, S]);
      try {
        for (let at = 0; at < n; at += batch) {
          const m = Math.min(batch, n - at);
          const img = tf.tidy(() => warpImages(tf.div(tf.tensor4d(crops.subarray(at * S3, (at + m) * S3), [m, S, S, 3], 'int32').toFloat(), 255) as tf.Tensor4D, ryT, rxT));
          try {
            (await enc.embed(img)).forEach((r, k) => out.set(r, (at + k) * c.embeddingDim));
          } finally {
            img.dispose();
          }
        }
      } finally {
        ryT.dispose(); rxT.dispose();
      }
      return out;
    },
    async dispose() {
      faceApi?.dispose();
      tfEncoder?.dispose();
      await forwardSession?.session.release();
    },
  };
}

/**
 * The surrogate's embeddings of the training targets (and of their mirrored copies), cached beside the
 * embedding cache, keyed by surrogate model hash, dataset, image list, frame size and warp.
 */
export async function surrogateTargets(sur: Surrogate, crops: Uint8Array, rels: readonly string[], size: number, datasetId: string,
  opts: { cacheDir?: string; workspaceDir?: string; flipped?: boolean; log?: (m: string) => void }): Promise<Float32Array> {
  const key = createHash('sha1').update(JSON.stringify({ rels, size, warp: sur.plan.warp, flipped: !!opts.flipped })).digest('hex').slice(0, 16);
  const hash = modelFilesHash(sur.plan.config, opts.workspaceDir).slice(0, 16);
  const file = path.join(opts.cacheDir ?? defaultCacheDir(), 'surrogate', `${sur.id}-${hash}`, `${datasetId}-${size}-${key}.f32`);
  const want = rels.length * sur.dim * 4;
  if (fs.existsSync(file) && fs.statSync(file).size === want) {
    const buf = fs.readFileSync(file);
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  }
  const t0 = Date.now();
  const out = await sur.embedCrops(crops, rels.length);
  writeFileAtomic(file, new Uint8Array(out.buffer));
  opts.log?.(`surrogate ${sur.id}: embedded ${rels.length} ${opts.flipped ? 'mirrored ' : ''}training targets in ${((Date.now() - t0) / 1000).toFixed(0)} s (cached in ${file})`);
  return out;
}

/**
 * A linear head H from the surrogate's embeddings to the attacked encoder's templates (identity.target
 * "template"): ridge regression with a bias, fitted on the attacker's own training pairs (its photos' surrogate
 * embeddings and the templates the black box returned for them), so the identity term can compare against the
 * attacked template itself: 1 − cos(H·F(warp(G(z))), z). A distillation of the black box from queries the
 * attacker already made, not a gradient of it. The ridge start's fit (daemon/math/ridge.ts: the bias is not
 * penalised). Returns W [d, D] and b [D] (row-major).
 */
export function fitTemplateHead(features: Float32Array, templates: Float32Array, n: number, d: number, D: number, lambda = 0.1): { W: Float32Array; b: Float32Array; inDim: number; outDim: number } {
  const map = fitRidge(features, templates, n, d, D, lambda);
  const W = Float32Array.from(map.weights);
  return { W: W.slice(0, d * D), b: W.slice(d * D), inDim: d, outDim: D };
}

/** The surrogate followed by the head and an L2 normalisation: F′ = normalise(H·F). */
export function withTemplateHead(sur: Surrogate, head: ReturnType<typeof fitTemplateHead>): Surrogate {
  if (head.inDim !== sur.dim) throw new Error(`template head takes ${head.inDim}-d embeddings, surrogate ${sur.id} gives ${sur.dim}`);
  const emit = sur.ort;
  return {
    ...sur, dim: head.outDim,
    ort: emit ? {
      id: sur.id, dim: head.outDim,
      emit: (b, img) => {
        const e = b.op('Add', [b.op('MatMul', [emit.emit(b, img), b.constant(head.W, [head.inDim, head.outDim], 'float32', 'surrogate_head_w')]), b.constant(head.b, [head.outDim], 'float32', 'surrogate_head_b')]);
        const ss = b.op('ReduceSum', [b.op('Mul', [e, e]), b.ints([1])], { keepdims: 1 });
        return b.op('Mul', [e, b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [ss, b.scalar(1e-12)])])])]);
      },
    } : null,
    async tfjs() {
      const inner = await sur.tfjs();
      const W = tf.tensor2d(head.W, [head.inDim, head.outDim]);
      const bias = tf.tensor1d(head.b);
      return {
        embed: (img) => {
          const e = tf.add(tf.matMul(inner.embed(img), W), bias);
          return tf.mul(e, tf.rsqrt(tf.add(tf.sum(tf.square(e), 1, true), 1e-12))) as tf.Tensor2D;
        },
        dispose: () => { inner.dispose(); W.dispose(); bias.dispose(); },
      };
    },
    async embedCrops() {
      throw new Error('template head: the targets are the attacked templates themselves, not embeddings of crops');
    },
  };
}
