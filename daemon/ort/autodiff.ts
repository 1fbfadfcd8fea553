/**
 * Reverse-mode differentiation of a graph built with ./graph.ts, emitted as more ONNX nodes into the same
 * graph (source-to-source, in the manner of "Automatic differentiation in machine learning: a survey",
 * Baydin et al., JMLR 2018, §3.2: one adjoint rule per primitive, contributions summed at fan-out).
 *
 * Only tape entries on a path from a `wrt` value to a seeded value are differentiated. Each entry's rule
 * (./rules, or a composite's own) gets the summed gradients of its outputs and returns one gradient per input
 * (null where none is needed); every returned gradient is checked against its input's static shape.
 */
import { GraphBuilder, GradRule, Shape, TapeEntry, shapeStr } from './graph';
import { RULES } from './rules';

/** An op the compiler has no backward rule for: names the op and the node (the imported model's node name). */
export class UndifferentiableOpError extends Error {
  constructor(readonly op: string, readonly node: string, graph: string) {
    super(`${graph}: op '${op}' (node '${node}') has no backward rule; it cannot be differentiated on ONNX Runtime`);
    this.name = 'UndifferentiableOpError';
  }
}

export interface Seed {
  /** A value of the graph (usually the loss, or an output given an upstream gradient). */
  value: string;
  /** Its gradient: a graph value of the same shape. */
  grad: string;
}

/** Static shapes agree: equal dims, or a symbolic dim on either side (checked by ONNX Runtime at run time). */
export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i] || typeof d === 'string' || typeof b[i] === 'string');

/** Sums gradient contributions (Add for two, Sum for more). */
export function sumGrads(b: GraphBuilder, parts: string[]): string {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) return b.op('Add', parts);
  return b.op('Sum', parts);
}

/** The entries of the tape that `wrt` influences (float values only). */
function dependents(b: GraphBuilder, wrt: Set<string>): { dep: Set<string>; entries: Set<TapeEntry> } {
  const dep = new Set<string>(wrt);
  const entries = new Set<TapeEntry>();
  for (const e of b.tape) {
    if (e.inputs.some((i) => i && dep.has(i))) {
      entries.add(e);
      for (const o of e.outputs) if (o && b.dtype(o) === 'float32') dep.add(o);
    }
  }
  return { dep, entries };
}

/**
 * Emits the gradients of the seeded values with respect to each of `wrt`; returns value → gradient name. A
 * `wrt` value the seeds do not depend on is missing from the map.
 */
export function gradients(b: GraphBuilder, seeds: Seed[], wrt: string[]): Map<string, string> {
  const wrtSet = new Set(wrt);
  const { dep, entries } = dependents(b, wrtSet);
  // Values whose gradient is wanted: on a path back from a seed.
  const wanted = new Set<string>(seeds.map((s) => s.value));
  for (let k = b.tape.length - 1; k >= 0; k--) {
    const e = b.tape[k];
    if (!entries.has(e) || !e.outputs.some((o) => wanted.has(o))) continue;
    for (const i of e.inputs) if (i && dep.has(i)) wanted.add(i);
  }
  const contrib = new Map<string, string[]>();
  const add = (v: string, g: string) => {
    const l = contrib.get(v);
    if (l) l.push(g); else contrib.set(v, [g]);
  };
  for (const s of seeds) {
    if (!sameShape(b.shape(s.value), b.shape(s.grad))) {
      throw new Error(`${b.graphName}: seed gradient ${shapeStr(b.shape(s.grad))} does not match ${s.value} ${shapeStr(b.shape(s.value))}`);
    }
    add(s.value, s.grad);
  }
  for (let k = b.tape.length - 1; k >= 0; k--) {
    const e = b.tape[k];
    if (!entries.has(e)) continue;
    const dy = e.outputs.map((o) => {
      const parts = contrib.get(o);
      return parts && parts.length ? sumGrads(b, parts) : null;
    });
    if (dy.every((d) => d === null)) continue;
    const needs = e.inputs.map((i) => !!i && dep.has(i) && wanted.has(i));
    if (!needs.some((x) => x)) continue;
    const rule: GradRule | undefined = e.kind === 'composite' ? e.rule : RULES[e.op];
    if (!rule) throw new UndifferentiableOpError(e.op, e.origin ?? e.name, b.graphName);
    const gx = rule({ b, entry: e, dy, needs });
    e.inputs.forEach((inp, i) => {
      const g = gx[i];
      if (!needs[i] || !g) return;
      if (!sameShape(b.shape(inp), b.shape(g))) {
        throw new Error(`${b.graphName}: backward rule of ${e.op} (node '${e.origin ?? e.name}') gave a gradient of shape ${shapeStr(b.shape(g))} for input ${i} of shape ${shapeStr(b.shape(inp))}`);
      }
      add(inp, g);
    });
  }
  const out = new Map<string, string>();
  for (const w of wrt) {
    const parts = contrib.get(w);
    if (parts && parts.length) out.set(w, sumGrads(b, parts));
  }
  return out;
}

/** Entries of the tape that would need a rule to differentiate from `wrt` (for up-front coverage checks). */
export function missingRules(b: GraphBuilder, wrt: string[]): Array<{ op: string; node: string }> {
  const { entries } = dependents(b, new Set(wrt));
  const seen = new Set<string>();
  const out: Array<{ op: string; node: string }> = [];
  for (const e of entries) {
    if (e.kind === 'composite' || RULES[e.op] || seen.has(e.op)) continue;
    seen.add(e.op);
    out.push({ op: e.op, node: e.origin ?? e.name });
  }
  return out;
}
