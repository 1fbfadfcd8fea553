/**
 * What every template protection scheme offers (ISO/IEC 30136 / ISO/IEC 24745 "cancelable" transforms):
 * enrol(embedding, key) → protected template; compare(protected, protected) → similarity (higher = more alike);
 * and, for the irreversibility test, the stolen-key attack's loss through the known transform. One file per
 * scheme (biohash.ts, iomGrp.ts, iomUrp.ts, polyprotect.ts, mlpHash.ts), each citing its paper.
 *
 * Bad input throws a ProtectionInputError naming the scheme, the argument and what was expected: a key of
 * the wrong length, a template of the wrong kind (bits vs indices vs floats) or dimension, parameters that
 * make the scheme degenerate.
 */

/** A protected template: exactly one of three kinds, with its length in the type's doc. */
export type ProtectedTemplate =
  /** [m] bits in {0, 1} (BioHashing, MLP-Hash); compared by Hamming similarity. */
  | { readonly kind: 'bits'; readonly bits: Uint8Array }
  /** [m] indices, each in [0, range) (Index-of-Max); compared by the share of equal entries. */
  | { readonly kind: 'indices'; readonly values: Int32Array; readonly range: number }
  /** [k] real values (PolyProtect); compared by cosine similarity. */
  | { readonly kind: 'floats'; readonly values: Float32Array };

export type TemplateKind = ProtectedTemplate['kind'];

export class ProtectionInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtectionInputError';
  }
}

/** A loss of the recovered embedding e and its gradient (written into `grad`, same length as e). */
export type AttackLoss = (e: Float64Array, grad: Float64Array) => number;

export interface ProtectionScheme<K = unknown> {
  /** Config name, e.g. `biohash`. */
  readonly id: string;
  /** Human label with the main parameters, e.g. `BioHashing (256 bits)`. */
  readonly label: string;
  /** The paper the scheme follows. */
  readonly paper: string;
  /** Embedding dimension it takes. */
  readonly inputDim: number;
  /** Length of the protected template. */
  readonly outputDim: number;
  readonly output: TemplateKind;
  /** Index templates: each index is in [0, indexRange) (q for IoM-GRP, k for IoM-URP); absent for bits and floats. */
  readonly indexRange?: number;
  /** The key (per subject) from a 32-bit seed; deterministic. */
  keyFromSeed(seed: number): K;
  /** Throws a ProtectionInputError when `key` is not a key of this scheme's shape. */
  checkKey(key: K): void;
  enrol(embedding: Float32Array, key: K): ProtectedTemplate;
  compare(a: ProtectedTemplate, b: ProtectedTemplate): number;
  /**
   * Stolen-key attack: a start for the embedding behind `t` and a loss whose minimum on the unit sphere
   * reproduces `t` (least squares for linear parts, sign/argmax consistency for binarised ones).
   * `mean` is the attacker's prior (the mean of their own embeddings).
   */
  attack(t: ProtectedTemplate, key: K, mean: Float32Array): { start: Float64Array; loss: AttackLoss };
  /** The template as a real feature vector (bits ±1, indices one-hot, floats as they are), for learned maps. */
  features(t: ProtectedTemplate): Float32Array;
  /** Length of `features`. */
  readonly featureDim: number;
}

/** Throws unless `e` is a finite embedding of `dim` values. */
export function checkEmbedding(scheme: string, e: Float32Array, dim: number): void {
  if (!(e instanceof Float32Array)) throw new ProtectionInputError(`${scheme}: the embedding must be a Float32Array of ${dim} values`);
  if (e.length !== dim) throw new ProtectionInputError(`${scheme}: the embedding has ${e.length} values, this scheme was set up for ${dim}-d embeddings`);
  for (let i = 0; i < e.length; i++) if (!Number.isFinite(e[i])) throw new ProtectionInputError(`${scheme}: embedding value ${i} is ${e[i]} (not finite)`);
}

/** Throws unless `t` is a template of `kind` and length `length` (and, for indices, values in range). */
export function checkTemplate(scheme: string, t: ProtectedTemplate, kind: TemplateKind, length: number, range?: number, which = 'template'): void {
  if (!t || typeof t !== 'object' || !('kind' in t)) throw new ProtectionInputError(`${scheme}: the ${which} is not a protected template ({ kind: "${kind}", … })`);
  if (t.kind !== kind) throw new ProtectionInputError(`${scheme}: the ${which} holds ${t.kind}, this scheme compares ${kind}`);
  const n = t.kind === 'bits' ? t.bits.length : t.values.length;
  if (n !== length) throw new ProtectionInputError(`${scheme}: the ${which} has ${n} ${kind}, this scheme makes ${length}`);
  if (t.kind === 'indices' && range !== undefined) {
    if (t.range !== range) throw new ProtectionInputError(`${scheme}: the ${which}'s indices range over ${t.range} values, this scheme's over ${range}`);
    for (let i = 0; i < n; i++) if (!(t.values[i] >= 0 && t.values[i] < range)) throw new ProtectionInputError(`${scheme}: ${which} index ${i} is ${t.values[i]}, outside [0, ${range})`);
  }
}

/** Throws unless `a` is an array-like of `n` finite numbers; `what` names it ("BioHashing key matrix"). */
export function checkKeyLength(what: string, a: ArrayLike<number> | undefined, n: number, shape: string): void {
  if (!a || typeof a.length !== 'number') throw new ProtectionInputError(`${what}: missing (expected ${shape} = ${n} values)`);
  if (a.length !== n) throw new ProtectionInputError(`${what}: ${a.length} values, expected ${shape} = ${n} — a key made for other parameters or another embedding size`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) throw new ProtectionInputError(`${what}: value ${i} is ${a[i]} (not finite)`);
}

/** Throws unless `v` is an integer in [min, max]. */
export function checkInt(scheme: string, name: string, v: number, min: number, max: number, why = ''): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new ProtectionInputError(`${scheme}: ${name} must be an integer in [${min}, ${max}]${why ? ` (${why})` : ''}, got ${v}`);
}

/** Hamming similarity of two bit templates: 1 − (differing bits) / m. */
export function hammingSimilarity(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += a[i] ^ b[i];
  return 1 - d / a.length;
}

/** Bits as ±1 features. */
export function bitFeatures(bits: Uint8Array): Float32Array {
  return Float32Array.from(bits, (b) => (b ? 1 : -1));
}

/** The comparator of bit templates (BioHashing, MLP-Hash): both checked as `length` bits, then Hamming similarity. */
export function compareBits(scheme: string, a: ProtectedTemplate, b: ProtectedTemplate, length: number): number {
  checkTemplate(scheme, a, 'bits', length, undefined, 'first template');
  checkTemplate(scheme, b, 'bits', length, undefined, 'second template');
  return hammingSimilarity((a as { bits: Uint8Array }).bits, (b as { bits: Uint8Array }).bits);
}

/** A bit template's ±1 features, checked as `length` bits. */
export function bitTemplateFeatures(scheme: string, t: ProtectedTemplate, length: number): Float32Array {
  checkTemplate(scheme, t, 'bits', length);
  return bitFeatures((t as { bits: Uint8Array }).bits);
}

/** log σ(x) and its derivative, stable for large |x|. */
export function logSigmoid(x: number): { value: number; grad: number } {
  if (x >= 0) { const e = Math.exp(-x); return { value: -Math.log1p(e), grad: e / (1 + e) }; }
  const e = Math.exp(x);
  return { value: x - Math.log1p(e), grad: 1 / (1 + e) };
}

/**
 * A stored template's values (a row of a protected template store: numbers from JSON or .npy) → the scheme's
 * protected template, or a ProtectionInputError naming the row's problem: bits must be 0 or 1, indices
 * integers in [0, indexRange), floats finite; the length must be the scheme's.
 */
export function templateFromValues(scheme: Pick<ProtectionScheme, 'label' | 'output' | 'outputDim' | 'indexRange'>, values: ArrayLike<unknown>): ProtectedTemplate {
  const n = scheme.outputDim;
  if (values.length !== n) throw new ProtectionInputError(`${scheme.label}: ${values.length} values, this scheme's templates have ${n} ${scheme.output}`);
  const num = (k: number): number => {
    const v = values[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ProtectionInputError(`${scheme.label}: value ${k} is ${v === null ? 'null' : typeof v === 'number' ? String(v) : JSON.stringify(v)} (not a finite number)`);
    return v;
  };
  if (scheme.output === 'bits') {
    const bits = new Uint8Array(n);
    for (let k = 0; k < n; k++) { const v = num(k); if (v !== 0 && v !== 1) throw new ProtectionInputError(`${scheme.label}: value ${k} is ${v}; a bit template holds 0s and 1s (floats? another scheme's template?)`); bits[k] = v; }
    return { kind: 'bits', bits };
  }
  if (scheme.output === 'indices') {
    const range = scheme.indexRange as number;
    const out = new Int32Array(n);
    for (let k = 0; k < n; k++) { const v = num(k); if (!Number.isInteger(v) || v < 0 || v >= range) throw new ProtectionInputError(`${scheme.label}: value ${k} is ${v}; an index template holds integers in [0, ${range})`); out[k] = v; }
    return { kind: 'indices', values: out, range };
  }
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) out[k] = num(k);
  return { kind: 'floats', values: out };
}
