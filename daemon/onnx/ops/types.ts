/**
 * The contract between the ONNX graph compiler (`../compile.ts`) and the op implementations in this folder.
 * Each op type has a builder, called once per node at import time (weights are transposed / folded there),
 * returning a run function called on every `execute` with the node's input values.
 */
import type { tf } from '../../tfjs/tf';
import type { HostArray } from '../hostArray';
import type { Attrs, NodeProto } from '../proto';
import type { Value } from '../value';

export interface BuildContext {
  node: NodeProto;
  /** "file.onnx: node 'Conv_0' (Conv)" — the prefix of every error about this node. */
  where: string;
  attrs: Attrs;
  /** Default-domain opset of the model (attribute vs. input forms changed across opsets). */
  opset: number;
  /** Number of input slots (absent optional inputs are ''). */
  inputCount: number;
  hasInput(i: number): boolean;
  /** Input i when it is known at import time (initializer, Constant, or folded), else undefined. */
  constInput(i: number): HostArray | undefined;
  /** Registers a tensor the model owns (released by `dispose()`); returns it. */
  own<T extends tf.Tensor>(t: T): T;
}

export interface RunContext {
  /** Batch size the ONNX graph declares for its first input (null when symbolic). */
  declaredBatch: number | null;
  /** Batch size of this execution's first input. */
  batch: number;
  /** When set, ops add their multiply-accumulate counts here (conv, matmul, gemm). */
  macs: { total: number; byOp: Record<string, number> } | null;
  /** A model-owned tensor for a static host array, in ONNX layout or broadcast-ready NHWC; cached. */
  constTensor(a: HostArray, nhwc: boolean): tf.Tensor;
}

export type RunFn = (inputs: (Value | undefined)[], rt: RunContext) => Value[];
export type OpBuilder = (ctx: BuildContext) => RunFn;

/** The input, or an error naming the node and the slot. */
export function need(inputs: (Value | undefined)[], i: number, where: string): Value {
  const v = inputs[i];
  if (!v) throw new Error(`${where}: input ${i} is missing`);
  return v;
}

export function addMacs(rt: RunContext, op: string, n: number): void {
  if (!rt.macs) return;
  rt.macs.total += n;
  rt.macs.byOp[op] = (rt.macs.byOp[op] ?? 0) + n;
}
