/**
 * Face encoders E on ONNX Runtime with their input gradients: the encoder's own ONNX graph (./importOnnx.ts,
 * batch lifted) behind the preprocessing its config declares (daemon/encoders/preprocess.ts semantics:
 * RGB→BGR if asked, (255·x − mean)/std, NHWC→NCHW), optionally followed by row-wise L2 normalisation
 * (x·(Σx² + 1e-12)^−½, as l2NormalizeRows). `OrtEncoderGrad` runs one session that returns E(x) and the
 * vector–Jacobian product (dE/dx)ᵀ·u for a batch — the white box's encoder step.
 *
 *   images [N, s, s, 3] float32 RGB in [0, 1], upstream u [N, d]  →  embedding [N, d], inputGrad [N, s, s, 3]
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { resolveModelPath } from '../encoders/registry';
import { gradients } from './autodiff';
import { GraphBuilder } from './graph';
import { importOnnx } from './importOnnx';
import { createSession, OrtSession, SessionSettings } from './session';

/** What the engine needs of an ONNX encoder: its config and model bytes. */
export interface OnnxEncoderSource {
  config: Pick<EncoderConfig, 'id' | 'inputSize' | 'layout' | 'channelOrder' | 'normalization' | 'embeddingDim' | 'outputName'>;
  /** Model file (for messages). */
  file: string;
  bytes: Uint8Array;
}

export function onnxEncoderSource(config: EncoderConfig, file: string): OnnxEncoderSource {
  if (config.format !== 'onnx') throw new Error(`encoder ${config.id} is a ${config.format} model; the ONNX Runtime engine takes ONNX encoders only`);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`encoder ${config.id}: cannot read ${file} (${(e as Error).message})`);
  }
  return { config, file, bytes };
}

/**
 * Emits E into `b`: `img` NCHW [N, 3, s, s] RGB in [0, 1] → [N, d] (raw model output, or L2-normalised rows).
 * Throws UndifferentiableOpError for an op without a backward rule.
 */
export function emitEncoder(b: GraphBuilder, src: OnnxEncoderSource, img: string, opts: { normalize?: boolean; prefix?: string } = {}): string {
  const c = src.config;
  const is = b.shape(img);
  if (is.length !== 4 || is[1] !== 3 || is[2] !== c.inputSize || is[3] !== c.inputSize) {
    throw new Error(`encoder ${c.id}: input must be [N, 3, ${c.inputSize}, ${c.inputSize}], got [${is}]`);
  }
  let x = img;
  if (c.channelOrder === 'BGR') x = b.op('Slice', [x, b.ints([-1]), b.ints([-(2 ** 62)]), b.ints([1]), b.ints([-1])]);
  const scale = b.constant(Float32Array.from(c.normalization.std.map((s) => 255 / s)), [1, 3, 1, 1], 'float32', 'enc_scale');
  const shift = b.constant(Float32Array.from(c.normalization.mean.map((m, i) => m / c.normalization.std[i])), [1, 3, 1, 1], 'float32', 'enc_shift');
  x = b.op('Sub', [b.op('Mul', [x, scale]), shift]);
  if (c.layout === 'NHWC') x = b.op('Transpose', [x], { perm: [0, 2, 3, 1] });
  const g = importOnnx(b, src.bytes, src.file, { input: x, prefix: opts.prefix ?? 'enc/' });
  const want = c.outputName ?? [...g.outputs.keys()][0];
  const out = g.outputs.get(want);
  if (!out) throw new Error(`encoder ${c.id} (${src.file}): no output '${want}' (outputs: ${[...g.outputs.keys()].join(', ')})`);
  let e = b.shape(out).length === 2 ? out : b.op('Reshape', [out, b.ints([0, -1])], {}, { outShape: [b.shape(out)[0], c.embeddingDim] });
  const es = b.shape(e);
  if (es[1] !== c.embeddingDim) throw new Error(`encoder ${c.id}: the model outputs ${es[1]} values per face, config embeddingDim is ${c.embeddingDim}`);
  if (opts.normalize) {
    const ss = b.op('ReduceSum', [b.op('Mul', [e, e]), b.ints([1])], { keepdims: 1 });
    e = b.op('Mul', [e, b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [ss, b.scalar(1e-12)])])])]);
  }
  return e;
}

export interface EncoderGrad {
  /** [N, d] embeddings. */
  embedding: Float32Array;
  /** [N, s, s, 3]: (dE/dx)ᵀ·upstream for every image. */
  inputGrad: Float32Array;
}

/** `OrtEncoderGrad` for an encoder config (its model file resolved as the registry does). */
export async function loadOrtEncoderGrad(config: EncoderConfig, opts: { workspaceDir?: string; normalize?: boolean } & SessionSettings = {}): Promise<OrtEncoderGrad> {
  return OrtEncoderGrad.create(onnxEncoderSource(config, resolveModelPath(config, opts.workspaceDir)), opts);
}

/** E and its batched input gradient on ONNX Runtime (see the header). */
export class OrtEncoderGrad {
  private constructor(readonly source: OnnxEncoderSource, readonly normalize: boolean, private readonly s: OrtSession) {}

  get provider(): { provider: 'cpu' | 'cuda'; reason: string } { return { provider: this.s.provider, reason: this.s.reason }; }

  static async create(src: OnnxEncoderSource, opts: { normalize?: boolean } & SessionSettings = {}): Promise<OrtEncoderGrad> {
    const c = src.config;
    const b = new GraphBuilder(`E and dE/dx of ${c.id}`);
    const images = b.input('images', ['N', c.inputSize, c.inputSize, 3]);
    const nchw = b.op('Transpose', [images], { perm: [0, 3, 1, 2] });
    const e = emitEncoder(b, src, nchw, { normalize: opts.normalize ?? true });
    const up = b.input('upstream', ['N', c.embeddingDim]);
    const g = gradients(b, [{ value: e, grad: up }], [images]).get(images);
    if (!g) throw new Error(`encoder ${c.id}: the output does not depend on the input`);
    b.rename(e, 'embedding');
    b.rename(g, 'inputGrad');
    b.output('embedding', 'inputGrad');
    const s = await createSession(b.toBytes(), `the gradient graph of encoder ${c.id}`, opts);
    return new OrtEncoderGrad(src, opts.normalize ?? true, s);
  }

  private feeds(images: Float32Array, n: number, upstream?: Float32Array): Record<string, ort.Tensor> {
    const c = this.source.config;
    const s = c.inputSize;
    if (images.length !== n * s * s * 3) throw new Error(`encoder ${c.id}: images must be [${n}, ${s}, ${s}, 3] (${n * s * s * 3} values), got ${images.length}`);
    const f: Record<string, ort.Tensor> = { images: new ort.Tensor('float32', images, [n, s, s, 3]) };
    if (upstream) {
      if (upstream.length !== n * c.embeddingDim) throw new Error(`encoder ${c.id}: upstream gradient must be [${n}, ${c.embeddingDim}], got ${upstream.length} values`);
      f.upstream = new ort.Tensor('float32', upstream, [n, c.embeddingDim]);
    }
    return f;
  }

  /** E(x) and (dE/dx)ᵀ·upstream. */
  async run(images: Float32Array, upstream: Float32Array, n: number): Promise<EncoderGrad> {
    const out = await this.s.session.run(this.feeds(images, n, upstream), ['embedding', 'inputGrad']);
    return { embedding: out.embedding.data as Float32Array, inputGrad: out.inputGrad.data as Float32Array };
  }

  async dispose(): Promise<void> {
    await this.s.session.release();
  }
}
