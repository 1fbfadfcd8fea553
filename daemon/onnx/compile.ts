/**
 * ONNX graph → a list of TF.js steps, done once at import: initializers and Constant nodes become host arrays,
 * Conv → BatchNormalization pairs are folded into one Conv, shape chains on constants are evaluated, and every
 * node gets its op builder (weights rearranged for NHWC there). Unsupported ops fail here, naming op and node.
 */
import { tf } from '../tfjs/tf';
import { HostArray, host } from './hostArray';
import { FOLDABLE, OPS } from './ops';
import { batchNormAffine, foldIntoConv } from './ops/conv';
import { BuildContext, RunContext, RunFn } from './ops/types';
import { Attrs, defaultOpset, ModelProto, NodeProto, tensorToHost, toNum } from './proto';
import { hostToTensor, hv, plainToNhwcBroadcast, Value } from './value';

export interface CompiledStep {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  run: RunFn;
}

export interface GraphInput {
  name: string;
  /** ONNX-layout dims; null where symbolic. */
  shape: (number | null)[];
}

export interface CompiledGraph {
  file: string;
  opset: number;
  inputs: GraphInput[];
  outputs: string[];
  steps: CompiledStep[];
  /** Values known at import (initializers, Constants, folded chains). */
  consts: Map<string, HostArray>;
  /** Tensors the model owns (weights, cached constants). */
  owned: tf.Tensor[];
  constTensor(a: HostArray, nhwc: boolean): tf.Tensor;
  /** Number of BatchNormalization nodes folded into a preceding Conv. */
  foldedBatchNorms: number;
}

const nodeName = (n: NodeProto, i: number): string => n.name || `#${i} (${n.opType})`;

/** A Constant node's value (any of its value_* attributes). */
function constantValue(n: NodeProto, where: string): HostArray {
  const a = new Attrs(n, where);
  if (a.has('value')) return a.tensor('value');
  if (a.has('value_float')) return host('float32', [], [a.float('value_float')]);
  if (a.has('value_floats')) { const f = a.floats('value_floats'); return host('float32', [f.length], f); }
  if (a.has('value_int')) return host('int', [], [a.int('value_int')]);
  if (a.has('value_ints')) { const v = a.ints('value_ints'); return host('int', [v.length], v); }
  throw new Error(`${where}: Constant without a supported value attribute (sparse/string values are not supported)`);
}

function isDefaultDomain(n: NodeProto): boolean {
  return !n.domain || n.domain === 'ai.onnx';
}

export function compileGraph(model: ModelProto, file: string): CompiledGraph {
  const g = model.graph!;
  const opset = defaultOpset(model);
  const consts = new Map<string, HostArray>();
  for (const t of g.initializer ?? []) consts.set(t.name ?? '', tensorToHost(t, file));
  const inputs: GraphInput[] = (g.input ?? []).filter((i) => !consts.has(i.name ?? '')).map((i) => ({
    name: i.name ?? '',
    shape: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && toNum(d.dimValue as never) > 0 ? toNum(d.dimValue as never) : null)),
  }));
  const outputs = (g.output ?? []).map((o) => o.name ?? '');
  const nodes = (g.node ?? []).slice();

  // Unsupported ops: one error listing them all, each with its first node.
  const missing = new Map<string, string>();
  nodes.forEach((n, i) => {
    const type = n.opType ?? '';
    if (type === 'Constant' && isDefaultDomain(n)) return;
    if (!isDefaultDomain(n) || !OPS[type]) {
      const key = isDefaultDomain(n) ? type : `${n.domain}:${type}`;
      if (!missing.has(key)) missing.set(key, nodeName(n, i));
    }
  });
  if (missing.size > 0) {
    const list = [...missing].map(([op, node]) => `'${op}' (node '${node}')`).join(', ');
    throw new Error(`ONNX file ${file}: unsupported op type${missing.size > 1 ? 's' : ''} ${list}`);
  }

  // Consumers of each value, for folding decisions.
  const consumers = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) if (i) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => { for (const o of n.output ?? []) producer.set(o, i); });

  // Constant nodes → host arrays.
  const live: (NodeProto | null)[] = nodes.slice();
  nodes.forEach((n, i) => {
    if (n.opType === 'Constant' && isDefaultDomain(n)) {
      consts.set(n.output![0], constantValue(n, `${file}: node '${nodeName(n, i)}' (Constant)`));
      live[i] = null;
    }
  });

  // Conv → BatchNormalization folding.
  let foldedBatchNorms = 0;
  nodes.forEach((bn, i) => {
    if (bn.opType !== 'BatchNormalization' || (bn.output ?? []).filter((o) => o).length !== 1) return;
    const src = bn.input![0];
    const pi = producer.get(src);
    if (pi === undefined || !live[pi] || live[pi]!.opType !== 'Conv') return;
    const cv = live[pi]!;
    if (consumers.get(src) !== 1 || outputs.includes(src)) return;
    const W = consts.get(cv.input![1]);
    const B = cv.input![2] ? consts.get(cv.input![2]) : undefined;
    if (!W || (cv.input![2] && !B)) return;
    const where = `${file}: node '${nodeName(bn, i)}' (BatchNormalization)`;
    const bnCtx = { attrs: new Attrs(bn, where), where, constInput: (k: number) => consts.get(bn.input![k]) } as BuildContext;
    if (![1, 2, 3, 4].every((k) => consts.has(bn.input![k]))) return;
    const { a, b } = batchNormAffine(bnCtx);
    if (a.length !== W.dims[0]) return;
    const f = foldIntoConv(W, B, a, b);
    const wName = `${cv.name || 'conv'}::folded_W`; const bName = `${cv.name || 'conv'}::folded_B`;
    consts.set(wName, f.W); consts.set(bName, f.B);
    live[pi] = { ...cv, input: [cv.input![0], wName, bName], output: [bn.output![0]] } as NodeProto;
    live[i] = null;
    foldedBatchNorms++;
  });

  const owned: tf.Tensor[] = [];
  const own = <T extends tf.Tensor>(t: T): T => { owned.push(t); return t; };
  const cache = new Map<HostArray, { plain?: tf.Tensor; nhwc?: tf.Tensor }>();
  const constTensor = (a: HostArray, nhwc: boolean): tf.Tensor => {
    let e = cache.get(a);
    if (!e) { e = {}; cache.set(a, e); }
    const key = nhwc ? 'nhwc' : 'plain';
    if (!e[key]) {
      e[key] = own(tf.keep(tf.tidy(() => (nhwc ? plainToNhwcBroadcast(hostToTensor(a), 'constant') : hostToTensor(a)))));
    }
    return e[key]!;
  };
  const foldRt: RunContext = { declaredBatch: null, batch: 0, macs: null, constTensor };

  const known = new Set<string>([...consts.keys(), ...inputs.map((i) => i.name)]);
  const steps: CompiledStep[] = [];
  live.forEach((n, i) => {
    if (!n) return;
    const name = nodeName(n, i);
    const where = `${file}: node '${name}' (${n.opType})`;
    const ins = (n.input ?? []).slice();
    for (const x of ins) {
      if (x && !known.has(x)) throw new Error(`${where}: input '${x}' is not produced before this node (graph not topologically sorted?)`);
    }
    const ctx: BuildContext = {
      node: n, where, attrs: new Attrs(n, where), opset, inputCount: ins.length,
      hasInput: (k) => !!ins[k],
      constInput: (k) => (ins[k] ? consts.get(ins[k]) : undefined),
      own,
    };
    const run = OPS[n.opType!](ctx);
    const outs = (n.output ?? []).slice();
    if (FOLDABLE.has(n.opType!) && ins.every((x) => !x || consts.has(x))) {
      const vals: (Value | undefined)[] = ins.map((x) => (x ? hv(consts.get(x)!) : undefined));
      const res = run(vals, foldRt);
      if (res.every((r) => r.kind === 'host')) {
        outs.forEach((o, k) => { if (o) { consts.set(o, (res[k] as { a: HostArray }).a); known.add(o); } });
        return;
      }
      for (const r of res) if (r.kind === 'tensor') r.t.dispose();
    }
    for (const o of outs) if (o) known.add(o);
    steps.push({ name, opType: n.opType!, inputs: ins, outputs: outs, run });
  });
  for (const o of outputs) if (!known.has(o)) throw new Error(`ONNX file ${file}: graph output '${o}' is never produced`);
  return { file, opset, inputs, outputs, steps, consts, owned, constTensor, foldedBatchNorms };
}
