/**
 * Deterministic identity-disjoint train/test split: the sorted identity list is shuffled with a seeded PRNG
 * (mulberry32) and the first round(testFraction · n) identities go to test; of the rest, the first
 * round(validationFraction · rest) form a validation split (for model selection) and the others train. No
 * person is on two sides, so an attack evaluated on test identities never saw them, and the test identities
 * do not depend on the validation fraction. Serialised to JSON and saved with runs.
 */
import * as crypto from 'node:crypto';

export interface IdentitySplit {
  version: 1;
  seed: number;
  testFraction: number;
  /** SHA-1 of the sorted identity list the split was made from (detects a different dataset). */
  identitiesHash: string;
  train: string[];
  test: string[];
  /** Share of the non-test identities held out for validation (0 in splits written before it existed). */
  validationFraction: number;
  /** Identities held out of training for model selection; never in test. */
  validation: string[];
}

export interface SplitOptions {
  /** Default 0. */
  seed?: number;
  /** Fraction of identities in test, in (0, 1). Default 0.2. */
  testFraction?: number;
  /** Fraction of the remaining identities held out for validation, in [0, 1). Default 0. */
  validationFraction?: number;
}

/** mulberry32: a tiny, well-mixed 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of `items` in place with mulberry32(seed); the one seeded shuffle of the project. */
export function seededShuffle<T, A extends { length: number; [i: number]: T }>(items: A, seed: number): A {
  const rand = mulberry32(seed);
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = items[i]; items[i] = items[j]; items[j] = t;
  }
  return items;
}

export function hashIdentities(ids: readonly string[]): string {
  return crypto.createHash('sha1').update([...ids].sort().join('\n')).digest('hex');
}

export function makeIdentitySplit(identities: readonly string[], opts: SplitOptions = {}): IdentitySplit {
  const seed = opts.seed ?? 0;
  const testFraction = opts.testFraction ?? 0.2;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`split seed must be an integer in [0, 2^32), got ${seed}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`split testFraction must be in (0, 1), got ${testFraction}`);
  const sorted = [...new Set(identities)].sort();
  if (sorted.length < 2) throw new Error(`split needs at least 2 identities, got ${sorted.length}`);
  const validationFraction = opts.validationFraction ?? 0;
  if (!(validationFraction >= 0 && validationFraction < 1)) throw new Error(`split validationFraction must be in [0, 1), got ${validationFraction}`);
  const order = seededShuffle([...sorted], seed);
  const nTest = Math.min(sorted.length - 1, Math.max(1, Math.round(testFraction * sorted.length)));
  const rest = order.slice(nTest);
  const nVal = validationFraction > 0 ? Math.min(rest.length - 1, Math.max(1, Math.round(validationFraction * rest.length))) : 0;
  if (validationFraction > 0 && nVal < 1) throw new Error(`split: ${rest.length} training identities cannot spare a validation split`);
  return {
    version: 1,
    seed,
    testFraction,
    identitiesHash: hashIdentities(sorted),
    train: rest.slice(nVal).sort(),
    test: order.slice(0, nTest).sort(),
    validationFraction,
    validation: rest.slice(0, nVal).sort(),
  };
}

export function splitToJson(s: IdentitySplit): string {
  return JSON.stringify(s, null, 2);
}

/** Parses and checks a split saved by splitToJson; `where` names the source in errors. */
export function parseSplit(json: string, where = 'split'): IdentitySplit {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw new Error(`${where}: not JSON: ${(err as Error).message}`);
  }
  const o = v as Partial<IdentitySplit>;
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'string');
  if (!o || o.version !== 1 || typeof o.seed !== 'number' || typeof o.testFraction !== 'number' ||
    typeof o.identitiesHash !== 'string' || !strings(o.train) || !strings(o.test)) {
    throw new Error(`${where}: not an identity split (version 1 with seed, testFraction, identitiesHash, train[], test[])`);
  }
  if (o.validation !== undefined && !strings(o.validation)) throw new Error(`${where}: "validation" must be a list of identities`);
  const validation = o.validation ?? [];
  const train = new Set(o.train);
  const both = (o.test as string[]).filter((t) => train.has(t));
  if (both.length > 0) throw new Error(`${where}: ${both.length} identities on both sides, e.g. ${both[0]}`);
  const test = new Set(o.test);
  const leak = validation.filter((v) => train.has(v) || test.has(v));
  if (leak.length > 0) throw new Error(`${where}: ${leak.length} validation identities are also in train or test, e.g. ${leak[0]}`);
  return { ...(o as IdentitySplit), validation, validationFraction: typeof o.validationFraction === 'number' ? o.validationFraction : 0 };
}
