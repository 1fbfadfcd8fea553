/**
 * A small ONNX graph builder on `onnx-proto` (ONNX IR, https://github.com/onnx/onnx/blob/main/docs/IR.md,
 * operators as in https://github.com/onnx/onnx/blob/main/docs/Operators.md, default domain at OPSET).
 *
 * Values are named strings. Every value has a static shape (numbers, or strings for symbolic dims such as the
 * batch 'N'), inferred per node by ./shapes.ts, so backward rules (./autodiff.ts) can reduce broadcast axes and
 * emit constant shapes. Every node is also recorded on a tape for reverse mode; a *composite* (a fused forward
 * with a hand-written backward, e.g. batch norm in training mode) appears on the tape as one entry while its
 * inner nodes go into the graph.
 */
import { onnx } from 'onnx-proto';
import { inferShapes } from './shapes';

export const OPSET = 17;

export type Dim = number | string;
export type Shape = Dim[];
export type DType = 'float32' | 'int64' | 'bool';

/** Attribute values: integers and integer lists as plain numbers; floats as `{ f }` / `{ floats }`; strings. */
export type AttrValue = number | number[] | string | { f: number } | { floats: number[] };
export type Attrs = Record<string, AttrValue>;

export interface NodeRec {
  op: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
}

export interface ConstRec { dtype: DType; dims: number[]; data: Float32Array | number[] }

/** Reverse-mode rule of a tape entry: gradients of its inputs from gradients of its outputs. */
export interface GradCtx {
  b: GraphBuilder;
  entry: TapeEntry;
  /** Gradient of each output (null: no gradient flows into it). */
  dy: (string | null)[];
  /** Whether input i needs a gradient. */
  needs: boolean[];
}
export type GradRule = (g: GradCtx) => (string | null)[];

export interface TapeEntry {
  kind: 'node' | 'composite';
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  /** Composite only: its own backward. */
  rule?: GradRule;
  /** Where a node came from (an imported model's node name), for errors. */
  origin?: string;
}

export const isFloatAttr = (v: AttrValue): v is { f: number } => typeof v === 'object' && !Array.isArray(v) && 'f' in v;
export const f = (x: number): { f: number } => ({ f: x });

export class GraphBuilder {
  readonly nodes: NodeRec[] = [];
  readonly tape: TapeEntry[] = [];
  readonly consts = new Map<string, ConstRec>();
  readonly shapes = new Map<string, Shape>();
  readonly dtypes = new Map<string, DType>();
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  private counter = 0;
  private open: { entry: TapeEntry } | null = null;
  private readonly scalarCache = new Map<string, string>();

  /** Choices of backward formulations (read by rules). */
  readonly flags: { weightGrad: 'shift' | 'im2col' } = { weightGrad: 'shift' };

  constructor(readonly graphName: string) {}

  fresh(hint: string): string {
    return `${hint}__${this.counter++}`;
  }

  has(name: string): boolean {
    return this.shapes.has(name);
  }

  shape(name: string): Shape {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`graph ${this.graphName}: value '${name}' has no known shape`);
    return s;
  }

  dtype(name: string): DType {
    return this.dtypes.get(name) ?? 'float32';
  }

  input(name: string, shape: Shape, dtype: DType = 'float32'): string {
    if (this.shapes.has(name)) throw new Error(`graph ${this.graphName}: value '${name}' defined twice`);
    this.inputs.push(name);
    this.shapes.set(name, shape.slice());
    this.dtypes.set(name, dtype);
    return name;
  }

  /** An initializer. float32 data as Float32Array, int64 as number[]. */
  constant(data: Float32Array | number[], dims: number[], dtype: DType = data instanceof Float32Array ? 'float32' : 'int64', hint = 'const'): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`graph ${this.graphName}: constant '${hint}' has ${data.length} values for dims [${dims}]`);
    const name = this.fresh(hint);
    this.consts.set(name, { dtype, dims: dims.slice(), data });
    this.shapes.set(name, dims.slice());
    this.dtypes.set(name, dtype);
    return name;
  }

  /** A float32 scalar constant (shared per value). */
  scalar(v: number): string {
    const key = `f${v}`;
    let n = this.scalarCache.get(key);
    if (!n) { n = this.constant(Float32Array.of(v), [], 'float32', 'scalar'); this.scalarCache.set(key, n); }
    return n;
  }

  /** An int64 vector constant (shapes, axes, pads), shared per value. */
  ints(v: number[]): string {
    const key = `i${v.join(',')}`;
    let n = this.scalarCache.get(key);
    if (!n) { n = this.constant(v.slice(), [v.length], 'int64', 'ints'); this.scalarCache.set(key, n); }
    return n;
  }

  /** Values of an int64 constant, or null when `name` is not a constant. */
  constInts(name: string): number[] | null {
    const c = this.consts.get(name);
    if (!c || c.dtype !== 'int64') return null;
    return Array.from(c.data as number[]);
  }

  /** Values of a float constant, or null. */
  constFloats(name: string): Float32Array | null {
    const c = this.consts.get(name);
    if (!c || c.dtype !== 'float32') return null;
    return c.data as Float32Array;
  }

  /** Adds a node with one output; returns the output name. Shapes are inferred (or given by `outShapes`). */
  op(op: string, inputs: string[], attrs: Attrs = {}, opts: { name?: string; outShape?: Shape; dtype?: DType; domain?: string; origin?: string } = {}): string {
    return this.opN(op, inputs, 1, attrs, { ...opts, outShapes: opts.outShape ? [opts.outShape] : undefined, dtypes: opts.dtype ? [opts.dtype] : undefined })[0];
  }

  /** Adds a node with `nOut` outputs (use '' in `inputs` for an absent optional input). */
  opN(op: string, inputs: string[], nOut: number, attrs: Attrs = {},
    opts: { name?: string; outShapes?: Shape[]; dtypes?: DType[]; domain?: string; origin?: string; outputNames?: string[] } = {}): string[] {
    const name = opts.name ?? this.fresh(op);
    for (const i of inputs) {
      if (i && !this.shapes.has(i)) throw new Error(`graph ${this.graphName}: node ${name} (${op}) reads '${i}', which is not defined before it`);
    }
    const outputs = opts.outputNames ?? Array.from({ length: nOut }, (_, k) => (nOut === 1 ? `${name}` : `${name}:${k}`));
    const inferred = opts.outShapes ? null : inferShapes(this, op, inputs, attrs, nOut, `graph ${this.graphName}: node ${opts.origin ?? name} (${op})`);
    outputs.forEach((o, k) => {
      if (this.shapes.has(o)) throw new Error(`graph ${this.graphName}: value '${o}' defined twice`);
      this.shapes.set(o, (opts.outShapes?.[k] ?? inferred!.shapes[k]).slice());
      this.dtypes.set(o, opts.dtypes?.[k] ?? inferred?.dtypes[k] ?? 'float32');
    });
    const rec: NodeRec = { op, domain: opts.domain ?? '', name, inputs: inputs.slice(), outputs, attrs };
    this.nodes.push(rec);
    if (!this.open) this.tape.push({ kind: 'node', op, name, inputs: rec.inputs, outputs, attrs, origin: opts.origin });
    return outputs;
  }

  /**
   * Emits a fused forward: `body` adds primitive nodes (kept off the tape) and returns the outputs; the tape
   * gets one entry with `rule` as its backward. Non-differentiable extra outputs (statistics) are allowed.
   */
  composite(op: string, inputs: string[], rule: GradRule, body: () => string[], attrs: Attrs = {}): string[] {
    if (this.open) throw new Error(`graph ${this.graphName}: composite ${op} inside composite ${this.open.entry.op}`);
    const entry: TapeEntry = { kind: 'composite', op, name: this.fresh(op), inputs: inputs.slice(), outputs: [], attrs, rule };
    this.open = { entry };
    let outs: string[];
    try {
      outs = body();
    } finally {
      this.open = null;
    }
    entry.outputs = outs.slice();
    this.tape.push(entry);
    return outs;
  }

  /** Marks graph outputs. */
  output(...names: string[]): void {
    for (const n of names) {
      if (!this.shapes.has(n)) throw new Error(`graph ${this.graphName}: output '${n}' is never produced`);
      if (!this.outputs.includes(n)) this.outputs.push(n);
    }
  }

  private readonly aliases = new Map<string, string>();

  /**
   * Gives value `from` the graph-level name `to` (applied when serialising, so no Identity copy); a graph
   * input, a constant or a value already renamed gets an Identity node instead. Returns `to`, which later
   * nodes and `output` may use.
   */
  rename(from: string, to: string): string {
    const produced = this.nodes.some((n) => n.outputs.includes(from));
    if (!produced || this.aliases.has(from) || this.outputs.includes(from)) return this.opN('Identity', [from], 1, {}, { outputNames: [to] })[0];
    if (this.shapes.has(to)) throw new Error(`graph ${this.graphName}: value '${to}' defined twice`);
    this.aliases.set(from, to);
    this.shapes.set(to, this.shape(from));
    this.dtypes.set(to, this.dtype(from));
    return to;
  }

  /** Serialised ModelProto (IR 8, default opset OPSET; com.microsoft imported when used). */
  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toProto()).finish();
  }

  toProto(): onnx.ModelProto {
    const elem = (d: DType) => (d === 'float32' ? onnx.TensorProto.DataType.FLOAT : d === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.BOOL);
    const valueInfo = (n: string): onnx.IValueInfoProto => ({
      name: n,
      type: {
        tensorType: {
          elemType: elem(this.dtype(n)),
          shape: { dim: this.shape(n).map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
        },
      },
    });
    const initializer: onnx.ITensorProto[] = [];
    for (const [name, c] of this.consts) {
      const t: onnx.ITensorProto = { name, dims: c.dims, dataType: elem(c.dtype) };
      if (c.dtype === 'float32') {
        const a = c.data as Float32Array;
        t.rawData = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
      } else {
        const buf = Buffer.alloc(c.data.length * 8);
        (c.data as number[]).forEach((v, i) => buf.writeBigInt64LE(BigInt(v), i * 8));
        t.rawData = buf;
      }
      initializer.push(t);
    }
    const al = (v: string) => this.aliases.get(v) ?? v;
    const node: onnx.INodeProto[] = this.nodes.map((n) => ({
      opType: n.op, domain: n.domain, name: n.name, input: n.inputs.map(al), output: n.outputs.map(al),
      attribute: Object.entries(n.attrs).map(([k, v]) => attrProto(k, v)),
    }));
    const domains = new Set(this.nodes.map((n) => n.domain).filter((d) => d));
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'faceinv-ort',
      opsetImport: [{ domain: '', version: OPSET }, ...[...domains].map((d) => ({ domain: d, version: 1 }))],
      graph: { name: this.graphName, node, initializer, input: this.inputs.map(valueInfo), output: this.outputs.map((o) => ({ ...valueInfo(o), name: al(o) })) },
    });
  }
}

function attrProto(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (wrap floats in f())`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === 'string') return { name, type: T.STRING, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  return { name, type: T.FLOATS, floats: v.floats };
}

/** Product of dims when all are numbers, else null. */
export function numel(s: Shape): number | null {
  let p = 1;
  for (const d of s) { if (typeof d !== 'number') return null; p *= d; }
  return p;
}

export function shapeStr(s: Shape): string {
  return `[${s.join(', ')}]`;
}
