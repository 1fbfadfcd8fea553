/**
 * Reading ONNX files (ONNX IR, protobuf `ModelProto`, https://github.com/onnx/onnx/blob/main/docs/IR.md) with
 * the `onnx-proto` package: decoding, node attributes, and initializer tensors → host arrays.
 *
 * int64 fields arrive as `Long` objects (protobufjs with `long` installed) or numbers; both become JS numbers
 * (exact below 2^53, which covers every shape, axis and index; INT64_MAX sentinels in Slice stay huge).
 */
import * as fs from 'fs';
import { onnx } from 'onnx-proto';
import { HostArray, HostDtype } from './hostArray';

export type ModelProto = onnx.ModelProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
type LongLike = number | { toNumber(): number };

export function toNum(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Decodes `file`; throws naming the file when it is missing or not an ONNX ModelProto. */
export function readModelProto(file: string): ModelProto {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`ONNX file ${file}: cannot read (${(e as Error).message})`);
  }
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(buf);
  } catch (e) {
    throw new Error(`ONNX file ${file}: not a valid ONNX ModelProto (${(e as Error).message})`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new Error(`ONNX file ${file}: the model has no graph nodes`);
  }
  return model;
}

/** The default-domain opset version the model was exported with (ai.onnx; '' and 'ai.onnx' are the same). */
export function defaultOpset(model: ModelProto): number {
  for (const o of model.opsetImport ?? []) {
    if (!o.domain || o.domain === 'ai.onnx') return toNum(o.version as LongLike);
  }
  return 1;
}

/** Typed access to one node's attributes, with errors that name the node. */
export class Attrs {
  private readonly map = new Map<string, onnx.IAttributeProto>();
  constructor(private readonly node: NodeProto, private readonly where: string) {
    for (const a of node.attribute ?? []) if (a.name) this.map.set(a.name, a);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, dflt?: number): number {
    const a = this.map.get(name);
    if (!a) return this.need(name, dflt);
    return toNum(a.i as LongLike);
  }
  float(name: string, dflt?: number): number {
    const a = this.map.get(name);
    if (!a) return this.need(name, dflt);
    return a.f ?? 0;
  }
  ints(name: string, dflt?: number[]): number[] {
    const a = this.map.get(name);
    if (!a) return this.need(name, dflt);
    return (a.ints ?? []).map((v) => toNum(v as LongLike));
  }
  floats(name: string, dflt?: number[]): number[] {
    const a = this.map.get(name);
    if (!a) return this.need(name, dflt);
    return (a.floats ?? []).slice();
  }
  string(name: string, dflt?: string): string {
    const a = this.map.get(name);
    if (!a) return this.need(name, dflt);
    return a.s ? Buffer.from(a.s).toString('utf8') : '';
  }
  tensor(name: string): HostArray {
    const a = this.map.get(name);
    if (!a || !a.t) throw new Error(`${this.where}: attribute '${name}' (a tensor) is missing`);
    return tensorToHost(a.t, this.where);
  }
  private need<T>(name: string, dflt: T | undefined): T {
    if (dflt === undefined) throw new Error(`${this.where}: required attribute '${name}' is missing`);
    return dflt;
  }
}

const DT = onnx.TensorProto.DataType;

function hostDtype(dt: number, where: string): HostDtype {
  switch (dt) {
    case DT.FLOAT: case DT.DOUBLE: case DT.FLOAT16: return 'float32';
    case DT.INT64: case DT.INT32: case DT.INT16: case DT.INT8: case DT.UINT8: case DT.UINT16: case DT.UINT32:
    case DT.UINT64: return 'int';
    case DT.BOOL: return 'bool';
    default: throw new Error(`${where}: tensor data type ${DT[dt] ?? dt} is not supported`);
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Converts an initializer / Constant tensor to a host array. External data → error naming the tensor. */
export function tensorToHost(t: TensorProto, where: string): HostArray {
  const name = t.name ?? '(unnamed)';
  const here = `${where}: tensor '${name}'`;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData && t.externalData.length > 0)) {
    const loc = (t.externalData ?? []).find((e) => e.key === 'location')?.value ?? '?';
    throw new Error(`${here}: stored as external data ('${loc}'); re-export the model with the weights inside the .onnx file`);
  }
  const dims = (t.dims ?? []).map((d) => toNum(d as LongLike));
  const size = dims.reduce((a, b) => a * b, 1);
  const dt = t.dataType ?? 0;
  const dtype = hostDtype(dt, here);
  let data: Float32Array | number[];
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (raw) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const read = (bytes: number, f: (o: number) => number): number[] => {
      if (raw.byteLength !== size * bytes) {
        throw new Error(`${here}: raw_data has ${raw.byteLength} bytes, expected ${size * bytes} for dims [${dims}]`);
      }
      const out = new Array<number>(size);
      for (let i = 0; i < size; i++) out[i] = f(i * bytes);
      return out;
    };
    switch (dt) {
      case DT.FLOAT: data = Float32Array.from(read(4, (o) => dv.getFloat32(o, true))); break;
      case DT.DOUBLE: data = Float32Array.from(read(8, (o) => dv.getFloat64(o, true))); break;
      case DT.FLOAT16: data = Float32Array.from(read(2, (o) => halfToFloat(dv.getUint16(o, true)))); break;
      case DT.INT64: data = read(8, (o) => Number(dv.getBigInt64(o, true))); break;
      case DT.UINT64: data = read(8, (o) => Number(dv.getBigUint64(o, true))); break;
      case DT.INT32: data = read(4, (o) => dv.getInt32(o, true)); break;
      case DT.UINT32: data = read(4, (o) => dv.getUint32(o, true)); break;
      case DT.INT16: data = read(2, (o) => dv.getInt16(o, true)); break;
      case DT.UINT16: data = read(2, (o) => dv.getUint16(o, true)); break;
      case DT.INT8: data = read(1, (o) => dv.getInt8(o)); break;
      case DT.UINT8: case DT.BOOL: data = read(1, (o) => dv.getUint8(o)); break;
      default: throw new Error(`${here}: raw data of type ${DT[dt]} is not supported`);
    }
  } else {
    switch (dt) {
      case DT.FLOAT: data = Float32Array.from(t.floatData ?? []); break;
      case DT.DOUBLE: data = Float32Array.from(t.doubleData ?? []); break;
      case DT.FLOAT16: data = Float32Array.from((t.int32Data ?? []).map(halfToFloat)); break;
      case DT.INT64: data = (t.int64Data ?? []).map((v) => toNum(v as LongLike)); break;
      case DT.UINT64: data = (t.uint64Data ?? []).map((v) => toNum(v as LongLike)); break;
      default: data = (t.int32Data ?? []).slice(); break;
    }
    if (data.length !== size) {
      throw new Error(`${here}: holds ${data.length} values, expected ${size} for dims [${dims}]`);
    }
  }
  return { dtype, dims, data };
}
