/**
 * Lifting a fixed batch of 1 out of an ONNX graph, so one `session.run` answers many faces. Exported face
 * encoders often pin the batch (faceplugin's fr_feature.onnx: input [1,3,112,112], a final
 * Reshape to the constant [1, -1]); querying them one face at a time wastes most of onnxruntime's
 * throughput. The rewrite makes dimension 0 of every graph input and output symbolic (`N`) and rewrites each
 * Reshape whose target shape is a constant starting with 1 to start with −1 (a −1 elsewhere in that shape is
 * resolved from the graph output it produces, when that output's shape is fully known). Intermediate
 * `value_info` is dropped (it would pin the batch again). Callers must check the lifted graph against the
 * original (`OnnxEncoder` does, to 1e-5) before trusting it.
 */
import { onnx } from 'onnx-proto';
import { toNum } from './proto';

export interface LiftedModel {
  /** Serialised ModelProto with a symbolic batch dimension. */
  bytes: Uint8Array;
  /** Reshape nodes rewritten, by name. */
  reshapes: string[];
}

type Dim = onnx.TensorShapeProto.IDimension;

function dimValue(d: Dim): number | null {
  return d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue as number) > 0 ? toNum(d.dimValue as number) : null;
}

function readInt64s(t: onnx.ITensorProto): number[] {
  if (t.rawData && t.rawData.length > 0) {
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    return Array.from({ length: t.rawData.byteLength / 8 }, (_, i) => Number(dv.getBigInt64(i * 8, true)));
  }
  return (t.int64Data ?? []).map((v) => toNum(v as number));
}

function writeInt64s(t: onnx.ITensorProto, values: number[]): void {
  const buf = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
  t.rawData = buf;
  t.int64Data = [];
}

/**
 * Returns the graph of `bytes` with a symbolic batch; null when its inputs are already dynamic in dimension 0.
 * Throws naming the node when a Reshape pins the batch in a way this rewrite cannot resolve.
 */
export function liftFixedBatch(bytes: Uint8Array, where: string): LiftedModel | null {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  if (!g) throw new Error(`${where}: no graph`);
  const initNames = new Set((g.initializer ?? []).map((t) => t.name));
  const inputs = (g.input ?? []).filter((v) => !initNames.has(v.name));
  const batchDims = inputs.map((v) => v.type?.tensorType?.shape?.dim?.[0]).filter((d): d is Dim => !!d);
  if (!batchDims.length || batchDims.every((d) => dimValue(d) === null)) return null;
  if (batchDims.some((d) => dimValue(d) !== 1)) throw new Error(`${where}: input batch dimension is fixed at a value other than 1; not lifted`);
  const outputShape = new Map<string, (number | null)[]>();
  for (const v of g.output ?? []) {
    const dims = v.type?.tensorType?.shape?.dim ?? [];
    outputShape.set(v.name ?? '', dims.map(dimValue));
  }
  for (const v of [...inputs, ...(g.output ?? [])]) {
    const d = v.type?.tensorType?.shape?.dim?.[0];
    if (d) { delete (d as { dimValue?: unknown }).dimValue; d.dimParam = 'N'; }
  }
  g.valueInfo = [];
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const reshapes: string[] = [];
  for (const node of g.node ?? []) {
    if (node.opType !== 'Reshape') continue;
    const name = node.name || node.output?.[0] || '(unnamed)';
    const shapeInit = inits.get(node.input?.[1] ?? '');
    if (!shapeInit) continue; // a computed shape follows the batch by itself
    const shape = readInt64s(shapeInit);
    if (shape[0] !== 1) continue;
    const rest = shape.slice(1);
    if (rest.includes(-1)) {
      const out = outputShape.get(node.output?.[0] ?? '');
      if (!out || out.length !== shape.length || out.slice(1).some((d) => d === null)) {
        throw new Error(`${where}: Reshape ${name} has target shape [${shape}] and its output shape is not known, so the batch cannot be lifted`);
      }
      rest.splice(0, rest.length, ...(out.slice(1) as number[]));
    }
    writeInt64s(shapeInit, [-1, ...rest]);
    reshapes.push(name);
  }
  return { bytes: onnx.ModelProto.encode(model).finish(), reshapes };
}
