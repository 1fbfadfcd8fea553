/**
 * Structural limits on a parsed JSON frame, checked before any schema validation or handler sees it:
 * nesting depth (deeply nested input makes recursive code — validators, JSON.stringify, structuredClone,
 * job code — overflow the stack), total node count, and keys that name prototype machinery
 * (`__proto__`, `constructor`, `prototype`). `JSON.parse` makes `__proto__` an own property, harmless by
 * itself, but any later `Object.assign`/merge would turn it into a prototype change (CWE-1321); no message
 * of our protocol uses these keys, so a frame carrying one is refused outright.
 *
 * The walk is iterative (an explicit stack), so a 100k-deep array is refused without recursion.
 */

export interface JsonLimits {
  /** Deepest nesting of arrays/objects (the top-level value is depth 1). */
  maxDepth: number;
  /** Most values (objects, arrays, scalars) in one frame. */
  maxNodes: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 64, maxNodes: 2_000_000 };

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Returns a description of the first limit broken, or undefined when the value is acceptable. */
export function checkJsonShape(value: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Only containers go on the stack (with their depth and a short JSON pointer); scalars are just counted.
  const stack: { v: object; depth: number; where: string }[] = [{ v: value, depth: 1, where: '' }];
  let nodes = 1;
  while (stack.length) {
    const { v, depth, where } = stack.pop()!;
    if (depth > limits.maxDepth) return `nesting deeper than ${limits.maxDepth} levels at ${where.slice(0, 200) || '/'}`;
    if (Array.isArray(v)) {
      nodes += v.length;
      if (nodes > limits.maxNodes) return `more than ${limits.maxNodes} values in one message`;
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: depth + 1, where: where.length < 200 ? `${where}/${i}` : where });
      }
    } else {
      const keys = Object.keys(v);
      nodes += keys.length;
      if (nodes > limits.maxNodes) return `more than ${limits.maxNodes} values in one message`;
      for (const key of keys) {
        if (FORBIDDEN_KEYS.has(key)) return `forbidden key "${key}" at ${where.slice(0, 200) || '/'}`;
        const child: unknown = (v as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: depth + 1, where: where.length < 200 ? `${where}/${key.slice(0, 40)}` : where });
      }
    }
  }
  return undefined;
}
