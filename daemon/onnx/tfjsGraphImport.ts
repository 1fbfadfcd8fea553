/**
 * A TF.js graph model (model.json topology + its dequantised weights) rewritten as an ONNX graph, so ONNX
 * Runtime can embed with it. TF.js wasm runs HSE-FaceRes (MobileNet v1 at 224², Savchenko 2021) at a few
 * faces per second on two cores; the same network on ONNX Runtime's CPU kernels is several times faster
 * (`faceinv bench` prints both, and their agreement).
 *
 * Only what is needed for one output is translated (the nodes it depends on), over a small op set: Conv2D,
 * DepthwiseConv2dNative, Add/AddV2/Sub/Mul/Minimum/Maximum, Relu/Relu6/Sigmoid/Tanh, Mean, MatMul/_FusedMatMul,
 * BiasAdd, Softmax, Identity. Anything else is an error naming the node and op, and the encoder stays on TF.js.
 *
 *   input  [N, S, S, C] NHWC float32 (exactly what the TF.js model takes) → one Transpose to NCHW, where every
 *   4-D value then lives; TF's [C] per-channel constants become [C, 1, 1]; SAME padding is made explicit the
 *   way TF pads (the extra pixel after, not before); Mean's NHWC axes map to NCHW ones.
 */
import { onnx } from 'onnx-proto';

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { i?: string; f?: number; b?: boolean; s?: string; list?: { i?: string[]; s?: string[] }; type?: string; shape?: unknown }>;
}

export interface TfWeight { data: Float32Array; shape: number[] }

export interface TfGraphImport {
  nodes: TfNode[];
  weights: ReadonlyMap<string, TfWeight>;
  /** Output node to compute (`name` or `name:0`). */
  output: string;
  /** Spatial size S and channels C of the NHWC input. */
  inputSize: number;
  channels?: number;
}

const OPSET = 17;
const NCHW_OF_NHWC = [0, 3, 1, 2];
const ELEMENTWISE: Record<string, string> = { Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', Minimum: 'Min', Maximum: 'Max', BiasAdd: 'Add' };
const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Identity: 'Identity' };

const bare = (ref: string): string => ref.replace(/:0$/, '');
const text = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));
const ints = (l: { i?: string[] } | undefined): number[] => (l?.i ?? []).map(Number);

/** The nodes `output` depends on, in the topology's order (which TF.js writes topologically). */
function needed(nodes: TfNode[], output: string): TfNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const want = new Set<string>();
  const stack = [bare(output)];
  while (stack.length) {
    const name = stack.pop()!;
    if (want.has(name)) continue;
    const node = byName.get(name);
    if (!node) throw new Error(`TF.js graph: no node "${name}"`);
    want.add(name);
    for (const i of node.input ?? []) if (!i.startsWith('^')) stack.push(bare(i));
  }
  return nodes.filter((n) => want.has(n.name));
}

/** TF 'SAME' padding of one spatial axis as ONNX [before, after] (TF puts the odd pixel after). */
export function samePads(size: number, k: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** TF filters [kh, kw, cin, cout] → ONNX [cout, cin, kh, kw]; depthwise [kh, kw, c, m] → [c·m, 1, kh, kw]. */
export function convWeights(w: TfWeight, depthwise: boolean): TfWeight {
  const [kh, kw, ci, co] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) {
    const src = ((y * kw + x) * ci + i) * co;
    for (let o = 0; o < co; o++) {
      const dst = depthwise ? (((i * co + o) * kh + y) * kw + x) : (((o * ci + i) * kh + y) * kw + x);
      out[dst] = w.data[src + o];
    }
  }
  return { data: out, shape: depthwise ? [ci * co, 1, kh, kw] : [co, ci, kh, kw] };
}

type Attr = number | number[];

/** The ONNX graph being written: nodes, float initializers and each value's shape ('N' for the batch). */
class OnnxWriter {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly shapes = new Map<string, (number | 'N')[]>();
  private k = 0;

  constant(w: TfWeight): string {
    const name = `c${this.k++}`;
    const a = w.data;
    this.initializers.push({ name, dims: w.shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)) });
    return name;
  }

  node(op: string, inputs: string[], shape: (number | 'N')[], attrs: Record<string, Attr> = {}): string {
    const out = `v${this.k++}`;
    const T = onnx.AttributeProto.AttributeType;
    const attribute = Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, type: T.INTS, ints: v } : { name, type: T.INT, i: v }));
    this.nodes.push({ opType: op, name: out, input: inputs, output: [out], attribute });
    this.shapes.set(out, shape);
    return out;
  }

  bytes(input: string, inputShape: (number | 'N')[], output: string): Uint8Array {
    const info = (name: string, shape: (number | 'N')[]): onnx.IValueInfoProto => ({
      name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: shape.map((d) => (d === 'N' ? { dimParam: 'N' } : { dimValue: d })) } } },
    });
    this.nodes.push({ opType: 'Identity', name: 'out', input: [output], output: ['y'] });
    const model = onnx.ModelProto.create({
      irVersion: 8, producerName: 'faceinv-tfjs-import', opsetImport: [{ domain: '', version: OPSET }],
      graph: { name: 'tfjs-graph', node: this.nodes, initializer: this.initializers, input: [info(input, inputShape)], output: [info('y', this.shapes.get(output)!)] },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

class Translator {
  private readonly w = new OnnxWriter();
  private readonly values = new Map<string, string>();

  constructor(private readonly g: TfGraphImport) {}

  private where(n: TfNode): string {
    return `TF.js graph node "${n.name}" (${n.op})`;
  }

  private weight(ref: string, n: TfNode): TfWeight {
    const w = this.g.weights.get(bare(ref));
    if (!w) throw new Error(`${this.where(n)}: input "${ref}" is not a constant`);
    return w;
  }

  private shape(v: string): (number | 'N')[] {
    return this.w.shapes.get(v)!;
  }

  /** A value, or a constant laid out to broadcast against NCHW 4-D values ([C] → [C, 1, 1]). */
  private operand(ref: string, n: TfNode, rank: number): string {
    const v = this.values.get(bare(ref));
    if (v !== undefined) return v;
    const w = this.weight(ref, n);
    let shape = w.shape;
    if (rank === 4 && w.shape.length === 1 && w.shape[0] !== 1) shape = [w.shape[0], 1, 1];
    if (rank === 4 && w.shape.length === 4) {
      if (w.shape[1] !== 1 || w.shape[2] !== 1) throw new Error(`${this.where(n)}: spatial constants are not supported`);
      shape = NCHW_OF_NHWC.map((a) => w.shape[a]);
    }
    return this.w.constant({ data: w.data, shape });
  }

  private input(ref: string, n: TfNode): string {
    const v = this.values.get(bare(ref));
    if (v === undefined) throw new Error(`${this.where(n)}: input "${ref}" is not computed (a constant where a value is needed?)`);
    return v;
  }

  private conv(n: TfNode, depthwise: boolean): string {
    const x = this.input(n.input![0], n);
    const w = convWeights(this.weight(n.input![1], n), depthwise);
    const a = n.attr ?? {};
    if (text(a.data_format?.s) && text(a.data_format?.s) !== 'NHWC') throw new Error(`${this.where(n)}: only NHWC is supported`);
    const strides = ints(a.strides?.list);
    const dil = ints(a.dilations?.list);
    const [sh, sw] = strides.length === 4 ? [strides[1], strides[2]] : [1, 1];
    const [dh, dw] = dil.length === 4 ? [dil[1], dil[2]] : [1, 1];
    const [, c, h, wd] = this.shape(x) as [string, number, number, number];
    const [kh, kw] = [w.shape[2], w.shape[3]];
    const padding = text(a.padding?.s);
    let pads = [0, 0, 0, 0];
    if (padding === 'SAME') {
      const [t, b] = samePads(h, kh, sh, dh);
      const [l, r] = samePads(wd, kw, sw, dw);
      pads = [t, l, b, r];
    } else if (padding !== 'VALID') {
      throw new Error(`${this.where(n)}: padding "${padding}" is not supported`);
    }
    const outH = Math.floor((h + pads[0] + pads[2] - ((kh - 1) * dh + 1)) / sh) + 1;
    const outW = Math.floor((wd + pads[1] + pads[3] - ((kw - 1) * dw + 1)) / sw) + 1;
    return this.w.node('Conv', [x, this.w.constant(w)], ['N', w.shape[0], outH, outW],
      { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads, group: depthwise ? c : 1 });
  }

  private mean(n: TfNode): string {
    const x = this.input(n.input![0], n);
    const shape = this.shape(x);
    const axes = Array.from(this.weight(n.input![1], n).data).map((a) => (a < 0 ? a + shape.length : a));
    const onnxAxes = shape.length === 4 ? axes.map((a) => NCHW_OF_NHWC.indexOf(a)) : axes;
    const keep = n.attr?.keep_dims?.b === true;
    const out = shape.flatMap((d, i) => (onnxAxes.includes(i) ? (keep ? [1] : []) : [d]));
    return this.w.node('ReduceMean', [x], out, { axes: onnxAxes, keepdims: keep ? 1 : 0 });
  }

  private matmul(n: TfNode): string {
    const a = n.attr ?? {};
    if (a.transpose_a?.b || a.transpose_b?.b) throw new Error(`${this.where(n)}: transposed MatMul is not supported`);
    const x = this.input(n.input![0], n);
    const kernel = this.weight(n.input![1], n);
    const shape = [...this.shape(x).slice(0, -1), kernel.shape[1]];
    let y = this.w.node('MatMul', [x, this.w.constant(kernel)], shape);
    let arg = 2;
    for (const f of (a.fused_ops?.list?.s ?? []).map(text)) {
      if (f === 'BiasAdd') y = this.w.node('Add', [y, this.operand(n.input![arg++], n, 2)], shape);
      else if (f === 'Relu') y = this.w.node('Relu', [y], shape);
      else throw new Error(`${this.where(n)}: fused op "${f}" is not supported`);
    }
    return y;
  }

  private elementwise(n: TfNode): string {
    const [p, q] = n.input!;
    const v = this.values.get(bare(p)) ?? this.values.get(bare(q));
    if (!v) throw new Error(`${this.where(n)}: both inputs are constants`);
    const shape = this.shape(v);
    return this.w.node(ELEMENTWISE[n.op], [this.operand(p, n, shape.length), this.operand(q, n, shape.length)], shape);
  }

  private node(n: TfNode): string | null {
    if (n.op === 'Const') return null;
    if (n.op === 'Placeholder') {
      const s = this.g.inputSize;
      const c = this.g.channels ?? 3;
      return this.w.node('Transpose', ['x'], ['N', c, s, s], { perm: NCHW_OF_NHWC });
    }
    if (n.op === 'Conv2D') return this.conv(n, false);
    if (n.op === 'DepthwiseConv2dNative') return this.conv(n, true);
    if (n.op === 'Mean') return this.mean(n);
    if (n.op === 'MatMul' || n.op === '_FusedMatMul') return this.matmul(n);
    if (ELEMENTWISE[n.op]) return this.elementwise(n);
    const x = UNARY[n.op] || n.op === 'Relu6' || n.op === 'Softmax' ? this.input(n.input![0], n) : '';
    if (n.op === 'Relu6') {
      return this.w.node('Clip', [x, this.w.constant({ data: Float32Array.of(0), shape: [] }), this.w.constant({ data: Float32Array.of(6), shape: [] })], this.shape(x));
    }
    if (n.op === 'Softmax') return this.w.node('Softmax', [x], this.shape(x), { axis: -1 });
    if (UNARY[n.op]) return this.w.node(UNARY[n.op], [x], this.shape(x));
    throw new Error(`${this.where(n)}: op "${n.op}" is not supported by the ONNX Runtime import`);
  }

  run(): Uint8Array {
    let last = '';
    for (const n of needed(this.g.nodes, this.g.output)) {
      const v = this.node(n);
      if (v !== null) { this.values.set(n.name, v); last = n.name; }
    }
    if (last !== bare(this.g.output)) throw new Error(`TF.js graph: output "${this.g.output}" is a constant`);
    const s = this.g.inputSize;
    return this.w.bytes('x', ['N', s, s, this.g.channels ?? 3], this.values.get(last)!);
  }
}

/** The ONNX model (input `x` [N, S, S, C] NHWC, output `y`) computing `output` of the TF.js graph. */
export function tfjsGraphToOnnx(g: TfGraphImport): Uint8Array {
  return new Translator(g).run();
}
