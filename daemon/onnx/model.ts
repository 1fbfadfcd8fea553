/**
 * `loadOnnxAsTf`: an ONNX model as a differentiable TF.js function (white-box access to
 * ONNX face encoders such as faceplugin's fr_feature.onnx, ArcFace-style, [1,3,112,112] → 512).
 *
 * Weights live on the TF.js backend active at load time; call `initEngine()` first. `execute` runs inside
 * `tf.tidy` (only the returned tensors survive) and records on the gradient tape, so `tf.grad` works from any
 * output back to the inputs. Convolution input-gradients are built from forward convolutions (see
 * `ops/convGrad.ts`), so no missing wasm backprop kernel is needed.
 */
import { tf } from '../tfjs/tf';
import { compileGraph, CompiledGraph, GraphInput } from './compile';
import { RunContext } from './ops/types';
import { readModelProto } from './proto';
import { hv, logicalShape, toPlain, tv, Value } from './value';

export interface ExecuteOptions {
  /**
   * Layout of rank-4 inputs: 'nchw' (ONNX, default) or 'nhwc' (TF.js images [N,H,W,C]: saves a transpose,
   * the first Conv consumes NHWC directly). Outputs are always in ONNX layout.
   */
  layout?: 'nchw' | 'nhwc';
}

export interface MacCount {
  /** Multiply-accumulates of one execution (Conv, Gemm, MatMul), at the given batch. */
  total: number;
  byOp: Record<string, number>;
}

export interface TfOnnxModel {
  readonly file: string;
  /** The first graph input (most face encoders have exactly one). */
  readonly inputName: string;
  /** Its ONNX-layout shape, null for symbolic dims, e.g. [1,3,112,112]. */
  readonly inputShape: (number | null)[];
  readonly inputs: readonly GraphInput[];
  readonly outputNames: readonly string[];
  /** ONNX ops in the graph (after folding), with counts. */
  readonly opCounts: Readonly<Record<string, number>>;
  readonly foldedBatchNorms: number;
  execute(inputs: Record<string, tf.Tensor>, opts?: ExecuteOptions): Record<string, tf.Tensor>;
  /** Runs once (no gradients kept) and counts multiply-accumulates; FLOPs ≈ 2 × MACs. */
  countMacs(inputs: Record<string, tf.Tensor>, opts?: ExecuteOptions): MacCount;
  dispose(): void;
}

class OnnxTfModel implements TfOnnxModel {
  readonly inputName: string;
  readonly inputShape: (number | null)[];
  readonly inputs: readonly GraphInput[];
  readonly outputNames: readonly string[];
  readonly opCounts: Record<string, number> = {};
  readonly foldedBatchNorms: number;
  private disposed = false;

  constructor(readonly file: string, private readonly g: CompiledGraph) {
    if (g.inputs.length === 0) throw new Error(`ONNX file ${file}: the graph has no (non-initializer) inputs`);
    this.inputs = g.inputs;
    this.inputName = g.inputs[0].name;
    this.inputShape = g.inputs[0].shape;
    this.outputNames = g.outputs;
    this.foldedBatchNorms = g.foldedBatchNorms;
    for (const s of g.steps) this.opCounts[s.opType] = (this.opCounts[s.opType] ?? 0) + 1;
  }

  execute(inputs: Record<string, tf.Tensor>, opts: ExecuteOptions = {}): Record<string, tf.Tensor> {
    return this.run(inputs, opts, null);
  }

  countMacs(inputs: Record<string, tf.Tensor>, opts: ExecuteOptions = {}): MacCount {
    const macs = { total: 0, byOp: {} as Record<string, number> };
    const out = this.run(inputs, opts, macs);
    for (const t of Object.values(out)) t.dispose();
    return macs;
  }

  private run(inputs: Record<string, tf.Tensor>, opts: ExecuteOptions, macs: MacCount | null): Record<string, tf.Tensor> {
    if (this.disposed) throw new Error(`ONNX model ${this.file}: used after dispose()`);
    const nhwc = opts.layout === 'nhwc';
    const env = new Map<string, Value>();
    for (const [k, a] of this.g.consts) env.set(k, hv(a));
    let batch = -1;
    for (const gi of this.g.inputs) {
      const t = inputs[gi.name];
      if (!t) {
        throw new Error(`ONNX model ${this.file}: input '${gi.name}' not given (got: ${Object.keys(inputs).join(', ') || 'none'})`);
      }
      const v = tv(t, nhwc && t.rank === 4);
      const shape = logicalShape(v);
      const bad = shape.length !== gi.shape.length
        || gi.shape.some((d, i) => d !== null && d !== shape[i] && !(i === 0));
      if (bad) {
        throw new Error(`ONNX model ${this.file}: input '${gi.name}' has ${nhwc ? 'NHWC ' : ''}shape [${t.shape}] `
          + `(ONNX layout [${shape}]), the model expects [${gi.shape.map((d) => d ?? '?')}] (batch may vary)`);
      }
      if (batch < 0) batch = shape[0];
      env.set(gi.name, v);
    }
    for (const k of Object.keys(inputs)) {
      if (!this.g.inputs.some((gi) => gi.name === k)) {
        throw new Error(`ONNX model ${this.file}: unknown input '${k}' (inputs: ${this.g.inputs.map((i) => i.name).join(', ')})`);
      }
    }
    const rt: RunContext = { declaredBatch: this.inputShape[0] ?? null, batch, macs, constTensor: this.g.constTensor };
    return tf.tidy(() => {
      for (const step of this.g.steps) {
        const ins = step.inputs.map((name) => {
          if (!name) return undefined;
          const v = env.get(name);
          if (!v) throw new Error(`ONNX model ${this.file}: value '${name}' needed by node '${step.name}' is missing`);
          return v;
        });
        const outs = step.run(ins, rt);
        step.outputs.forEach((o, i) => { if (o && outs[i]) env.set(o, outs[i]); });
      }
      const result: Record<string, tf.Tensor> = {};
      for (const o of this.g.outputs) {
        const v = env.get(o)!;
        result[o] = toPlain(v);
        // An output that is a graph input passes through tidy untouched; clone so the caller owns it.
        if (Object.values(inputs).includes(result[o])) result[o] = tf.clone(result[o]);
      }
      return result;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.g.owned) t.dispose();
    this.g.owned.length = 0;
  }
}

/** Reads and compiles an ONNX file onto the active TF.js backend. Errors name the file (and node). */
export async function loadOnnxAsTf(file: string): Promise<TfOnnxModel> {
  const proto = readModelProto(file);
  const g = compileGraph(proto, file);
  return new OnnxTfModel(file, g);
}
