/**
 * A strict JSON parser (RFC 8259) that also records where every value sits in the text, so the config
 * language server can put a diagnostic on `#/model/path` rather than on the whole file. Syntax errors are
 * returned, never thrown: an editor buffer is usually mid-edit. Written here because the language server
 * ships inside the extension and `jsonc-parser` is not one of the project's runtime dependencies.
 */

/** A parsed value with its text span: `start` inclusive, `end` exclusive (UTF-16 offsets, as editors count). */
export type JsonNode =
  | { type: 'object'; start: number; end: number; props: JsonProperty[] }
  | { type: 'array'; start: number; end: number; items: JsonNode[] }
  | { type: 'string'; start: number; end: number; value: string }
  | { type: 'number'; start: number; end: number; value: number }
  | { type: 'boolean'; start: number; end: number; value: boolean }
  | { type: 'null'; start: number; end: number; value: null };

export interface JsonProperty {
  key: string;
  keyStart: number;
  keyEnd: number;
  value: JsonNode;
}

export interface JsonSyntaxError {
  message: string;
  offset: number;
}

export type JsonParseResult = { ok: true; root: JsonNode } | { ok: false; error: JsonSyntaxError };

/** Nesting deeper than this is refused (a hostile or broken file must not overflow the stack). */
export const MAX_DEPTH = 256;

class Fail extends Error {
  constructor(message: string, readonly offset: number) { super(message); }
}

export function parseJsonTree(text: string): JsonParseResult {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const here = () => (i < text.length ? JSON.stringify(text[i]) : 'end of file');

  const str = (): { value: string; start: number; end: number } => {
    const start = i;
    i++; // opening quote
    let out = '';
    for (;;) {
      if (i >= text.length) throw new Fail('unterminated string', start);
      const c = text[i];
      if (c === '"') { i++; return { value: out, start, end: i }; }
      if (c === '\\') {
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) { out += simple[e]; i += 2; continue; }
        if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) { out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16)); i += 6; continue; }
        throw new Fail('invalid escape in string', i);
      }
      if (c < ' ') throw new Fail('control character in string (escape it)', i);
      out += c;
      i++;
    }
  };

  const value = (depth: number): JsonNode => {
    if (depth > MAX_DEPTH) throw new Fail(`nesting deeper than ${MAX_DEPTH}`, i);
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const props: JsonProperty[] = [];
      ws();
      if (text[i] === '}') { i++; return { type: 'object', start, end: i, props }; }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Fail(`expected a property name in quotes, found ${here()}`, i);
        const k = str();
        ws();
        if (text[i] !== ':') throw new Fail(`expected ':' after property "${k.value}", found ${here()}`, i);
        i++;
        const v = value(depth + 1);
        props.push({ key: k.value, keyStart: k.start, keyEnd: k.end, value: v });
        ws();
        if (text[i] === ',') { i++; ws(); if (text[i] === '}') throw new Fail('trailing comma before }', i); continue; }
        if (text[i] === '}') { i++; return { type: 'object', start, end: i, props }; }
        throw new Fail(`expected ',' or '}' in object, found ${here()}`, i);
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') { i++; return { type: 'array', start, end: i, items }; }
      for (;;) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; ws(); if (text[i] === ']') throw new Fail('trailing comma before ]', i); continue; }
        if (text[i] === ']') { i++; return { type: 'array', start, end: i, items }; }
        throw new Fail(`expected ',' or ']' in array, found ${here()}`, i);
      }
    }
    if (c === '"') {
      const s = str();
      return { type: 'string', ...s };
    }
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num && num[0].length > 0 && (c === '-' || (c >= '0' && c <= '9'))) {
      i += num[0].length;
      return { type: 'number', start, end: i, value: Number(num[0]) };
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v === null ? { type: 'null', start, end: i, value: null } : { type: 'boolean', start, end: i, value: v };
      }
    }
    throw new Fail(i >= text.length ? 'unexpected end of file: a value is missing' : `unexpected ${here()}: expected a JSON value`, i);
  };

  try {
    const root = value(0);
    ws();
    if (i < text.length) throw new Fail(`unexpected ${here()} after the end of the JSON value`, i);
    return { ok: true, root };
  } catch (err) {
    if (err instanceof Fail) return { ok: false, error: { message: err.message, offset: Math.min(err.offset, text.length) } };
    throw err;
  }
}

/** The plain JS value of a node (what JSON.parse would give; `__proto__` stays an own property). */
export function toValue(node: JsonNode): unknown {
  switch (node.type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const p of node.props) Object.defineProperty(o, p.key, { value: toValue(p.value), enumerable: true, writable: true, configurable: true });
      return o;
    }
    case 'array': return node.items.map(toValue);
    default: return node.value;
  }
}

/** Decodes one JSON-pointer segment (`~1` → `/`, `~0` → `~`). */
function unescapePointer(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * The node at a JSON pointer (`/model/path`, `` or `/` = root), or the deepest existing ancestor when the
 * pointer names something absent (so a "missing property" problem lands on its parent object).
 */
export function nodeAt(root: JsonNode, pointer: string): { node: JsonNode; exact: boolean; property?: JsonProperty } {
  const segs = pointer.replace(/^#/, '').split('/').filter((s, k) => k > 0 || s !== '').map(unescapePointer);
  let node = root;
  let property: JsonProperty | undefined;
  for (const seg of segs) {
    if (node.type === 'object') {
      const p = [...node.props].reverse().find((q) => q.key === seg);
      if (!p) return { node, exact: false, property };
      property = p;
      node = p.value;
    } else if (node.type === 'array' && /^\d+$/.test(seg) && Number(seg) < node.items.length) {
      property = undefined;
      node = node.items[Number(seg)];
    } else {
      return { node, exact: false, property };
    }
  }
  return { node, exact: true, property };
}

/** The innermost property whose key or value contains `offset`, with its pointer. */
export function propertyAt(root: JsonNode, offset: number): { pointer: string; property: JsonProperty } | undefined {
  let found: { pointer: string; property: JsonProperty } | undefined;
  const walk = (node: JsonNode, pointer: string) => {
    if (node.type === 'object') {
      for (const p of node.props) {
        const ptr = `${pointer}/${p.key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (offset >= p.keyStart && offset <= p.value.end) {
          found = { pointer: ptr, property: p };
          walk(p.value, ptr);
        }
      }
    } else if (node.type === 'array') {
      node.items.forEach((item, k) => { if (offset >= item.start && offset <= item.end) walk(item, `${pointer}/${k}`); });
    }
  };
  walk(root, '');
  return found;
}

/** Line (0-based) and character (UTF-16 units) of an offset, as LSP positions count. */
export function positionAt(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let k = 0; k < end; k++) {
    if (text.charCodeAt(k) === 10) { line++; lineStart = k + 1; }
  }
  return { line, character: end - lineStart };
}
