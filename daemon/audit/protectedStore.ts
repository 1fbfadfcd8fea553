/**
 * A protected template store audited like any other (issue 23): its rows are the protected templates of one
 * scheme of a protection config (bits, indices or floats; daemon/protect), and the attacker holds the key
 * material. Each row is first inverted with the scheme's stolen-key inversion (the scheme's `attack()` start
 * and loss, minimised on the unit sphere: daemon/protect/optimise.ts, as `faceinv protect` does), with the
 * reference set's mean embedding as the prior; the recovered embeddings then go through the audit unchanged.
 *
 * What the audit then scores is the face against the *recovered* embedding, at the unprotected encoder's
 * thresholds; how close the recovered embedding is to the person's real one is `faceinv protect`'s question
 * (its stolen-key SAR type I/II in the protected domain).
 *
 * Key file (JSON): `{ "keySeed": n, "generation": 0 }` — the system's master seed, each template's key derived
 * from it and the row's id (daemon/protect/keys.ts `subjectSeed`) — or `{ "seeds": { "<id>": n, … } }`.
 * Bad input is one clear error: an unreadable protection config or key file, an unknown or ambiguous scheme,
 * a store whose rows are not the scheme's templates (wrong length, floats where bits are expected, …). A row
 * that is bad on its own (or has no key) is flagged and skipped, as in any store.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProtectionStoreConfig } from '../protocol/auditConfig';
import { validateProtectConfig } from '../protocol/protectConfig';
import { assertConfig } from '../protocol/validate';
import { subjectSeed } from '../protect/keys';
import { minimiseOnSphere } from '../protect/optimise';
import { makeScheme } from '../protect/schemes';
import { ProtectionInputError, templateFromValues, type ProtectedTemplate, type ProtectionScheme } from '../protect/types';
import { readStoreRows, storeSha256, type TemplateFlag, type TemplateStore } from './templateStore';

export interface StoreProtection {
  scheme: ProtectionScheme;
  /** The key seed of the template with this id, or undefined when the key file has none for it. */
  seedOf(id: string): number | undefined;
  steps: number;
  learningRate: number;
  /** For the report's method line. */
  describe: string;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** The scheme, keys and inversion settings an audit config's `protection` names, for `dim`-d embeddings. */
export function openStoreProtection(p: ProtectionStoreConfig, workspaceDir: string, dim: number): StoreProtection {
  const file = path.resolve(workspaceDir, p.config);
  const config = assertConfig(validateProtectConfig(readJson(file, 'protection config'), file), 'protection config', file);
  const matches = p.scheme === undefined ? config.schemes : config.schemes.filter((s) => s.scheme === p.scheme || s.label === p.scheme);
  const names = config.schemes.map((s) => s.label ?? s.scheme).join(', ');
  if (p.scheme === undefined && matches.length > 1) throw new Error(`protection.scheme: ${file} lists ${matches.length} schemes (${names}); name the one that protected the store`);
  if (matches.length === 0) throw new Error(`protection.scheme: "${p.scheme}" is none of the schemes of ${file} (${names})`);
  if (matches.length > 1) throw new Error(`protection.scheme: "${p.scheme}" matches ${matches.length} schemes of ${file}; name one by its label`);
  const scheme = makeScheme(matches[0], dim);
  const keyFile = path.resolve(workspaceDir, p.keys);
  const keys = readJson(keyFile, 'protection key file') as Record<string, unknown> | null;
  const bad = (why: string): never => { throw new Error(`protection key file ${keyFile}: ${why}; expected { "keySeed": n, "generation": 0 } or { "seeds": { "<template id>": n, … } }`); };
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) bad('not a JSON object');
  const u32 = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  let seedOf: (id: string) => number | undefined;
  let describe: string;
  if (keys!.keySeed !== undefined) {
    const master = keys!.keySeed, gen = keys!.generation ?? 0;
    if (!u32(master)) bad(`keySeed ${JSON.stringify(master)} is not an integer in [0, 2³² − 1]`);
    if (!u32(gen)) bad(`generation ${JSON.stringify(gen)} is not a non-negative integer`);
    seedOf = (id) => subjectSeed(master as number, id, gen as number);
    describe = `master key seed, generation ${gen}`;
  } else if (keys!.seeds && typeof keys!.seeds === 'object' && !Array.isArray(keys!.seeds)) {
    const seeds = keys!.seeds as Record<string, unknown>;
    for (const [id, v] of Object.entries(seeds)) if (!u32(v)) bad(`the seed of "${id}" is ${JSON.stringify(v)}, not an integer in [0, 2³² − 1]`);
    seedOf = (id) => seeds[id] as number | undefined;
    describe = `${Object.keys(seeds).length} per-template key seeds`;
  } else {
    bad('neither "keySeed" nor "seeds"');
  }
  return { scheme, seedOf: seedOf!, steps: config.attack.steps, learningRate: config.attack.learningRate, describe: describe! };
}

/**
 * Reads a protected store: every row checked as a template of the scheme (flagged and skipped when it is not
 * one, or has no key); the store as a whole must be the scheme's (its commonest row length is the scheme's
 * template length). Vectors are filled by `recoverStore`.
 */
export function readProtectedStore(file: string, prot: StoreProtection): { store: TemplateStore; templates: (ProtectedTemplate | undefined)[] } {
  const { scheme } = prot;
  const { buf, format, rows } = readStoreRows(file, scheme.outputDim, `${scheme.label}'s ${scheme.outputDim} values per template`);
  const lengths = new Map<number, number>();
  for (const r of rows) if (r.values) lengths.set(r.values.length, (lengths.get(r.values.length) ?? 0) + 1);
  const common = [...lengths.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (common === undefined) throw new Error(`template store ${file}: no row is a vector of numbers`);
  if (common !== scheme.outputDim) throw new Error(`template store ${file}: its templates have ${common} values, but ${scheme.label} makes ${scheme.outputDim} ${scheme.output}: another scheme's store, other parameters, or not protected`);
  const flags: (TemplateFlag | undefined)[] = new Array(rows.length).fill(undefined);
  const templates = rows.map((r, i): ProtectedTemplate | undefined => {
    if (!r.values) { flags[i] = { kind: 'not-finite', detail: r.why ?? 'not a vector of numbers', usable: false }; return undefined; }
    try {
      const t = templateFromValues(scheme, r.values);
      if (prot.seedOf(r.id) === undefined) { flags[i] = { kind: 'not-finite', detail: `the key file has no key for id "${r.id}"`, usable: false }; return undefined; }
      return t;
    } catch (err) {
      if (!(err instanceof ProtectionInputError)) throw err;
      flags[i] = { kind: r.values.length !== scheme.outputDim ? 'wrong-dimension' : 'not-finite', detail: err.message, usable: false };
      return undefined;
    }
  });
  const usable = templates.filter(Boolean).length;
  if (usable === 0) throw new Error(`template store ${file}: none of its ${rows.length} rows is a ${scheme.label} template with a key (first problem: ${flags.find(Boolean)?.detail})`);
  const dim = scheme.inputDim;
  return {
    store: { file, sha256: storeSha256(buf), format, dim, rows: rows.length, ids: rows.map((r) => r.id), vectors: new Float32Array(rows.length * dim), flags, usable },
    templates,
  };
}

/** Inverts every usable protected template with its stolen key into `store.vectors` (unit embeddings); `mean` is the attacker's prior. */
export function recoverStore(store: TemplateStore, templates: readonly (ProtectedTemplate | undefined)[], prot: StoreProtection, mean: Float32Array): void {
  const d = store.dim;
  templates.forEach((t, i) => {
    if (!t) return;
    const key = prot.scheme.keyFromSeed(prot.seedOf(store.ids[i]) as number);
    const { start, loss } = prot.scheme.attack(t, key, mean);
    const e = minimiseOnSphere(start, loss, prot.steps, prot.learningRate).e;
    for (let k = 0; k < d; k++) store.vectors[i * d + k] = e[k];
  });
}
