/**
 * Protection config (`*.faceinv-protect.json`): which template protection schemes to evaluate, as ISO/IEC 30136
 * asks — recognition accuracy kept, irreversibility (attacked, with faces), unlinkability, renewability — on
 * the held-out identities of a dataset under one encoder. Each scheme has its parameters, a master key seed
 * (every subject's key is derived from it, the subject id and the key's generation: daemon/protect/keys.ts),
 * its comparator (fixed by the scheme) and its paper. The TypeScript type and
 * `models/schemas/protect.schema.json` both come from `ProtectConfigSchema` (TypeBox); `faceinv schemas --check`
 * fails when the written file is stale. `faceinv protect` runs it (daemon/protect/run.ts).
 */
import { Static, Type } from '@sinclair/typebox';
import { Problem, withDefaults } from './validate';
import { fileSchemaOf } from './runConfig';

const KeySeed = Type.Integer({ minimum: 0, maximum: 4294967295, default: 1, description: 'Master key seed of this system: subject s gets the key of seed hash(keySeed, s, generation); a renewal is the next generation.' });
const Label = Type.Optional(Type.String({ minLength: 1, maxLength: 60, description: 'Row name in the report (default: the scheme and its parameters).' }));

export const BioHashSchemeSchema = Type.Object({
  scheme: Type.Literal('biohash', { description: 'BioHashing — Teoh, Ngo & Goh, Pattern Recognition 2004: token-keyed orthonormal random projection, thresholded at 0; Hamming comparison.' }),
  label: Label,
  bits: Type.Integer({ minimum: 1, default: 256, description: 'Bits = orthonormal projections (at most the embedding dimension).' }),
  keySeed: KeySeed,
}, { additionalProperties: false });

export const IomGrpSchemeSchema = Type.Object({
  scheme: Type.Literal('iom-grp', { description: 'Index-of-Max hashing with Gaussian random projections — Jin et al., IEEE TIFS 2018; comparison by equal indices.' }),
  label: Label,
  hashes: Type.Integer({ minimum: 1, default: 128, description: 'Number of hashes (template length m).' }),
  projections: Type.Integer({ minimum: 2, default: 16, description: 'Gaussian projections per hash (q): each index is in [0, q).' }),
  keySeed: KeySeed,
}, { additionalProperties: false });

export const IomUrpSchemeSchema = Type.Object({
  scheme: Type.Literal('iom-urp', { description: 'Index-of-Max hashing with uniformly random permutations — Jin et al., IEEE TIFS 2018; comparison by equal indices.' }),
  label: Label,
  hashes: Type.Integer({ minimum: 1, default: 128, description: 'Number of hashes (template length m).' }),
  window: Type.Integer({ minimum: 2, default: 16, description: 'Elements per permuted window (k): each index is in [0, k).' }),
  permutations: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'Permutations multiplied element-wise per hash (p).' }),
  keySeed: KeySeed,
}, { additionalProperties: false });

export const PolyProtectSchemeSchema = Type.Object({
  scheme: Type.Literal('polyprotect', { description: 'PolyProtect — Krivokuća Hahn & Marcel, IEEE T-BIOM 2022: user-specific polynomial over overlapping windows; cosine comparison.' }),
  label: Label,
  order: Type.Integer({ minimum: 1, maximum: 32, default: 5, description: 'Coefficients and exponents per polynomial (m): window length.' }),
  overlap: Type.Integer({ minimum: 0, default: 3, description: 'Elements shared by successive windows (0 … m − 1); more overlap = longer template, easier to invert.' }),
  coefficientRange: Type.Integer({ minimum: 1, default: 50, description: 'Coefficients are distinct non-zero integers in [−R, R].' }),
  keySeed: KeySeed,
}, { additionalProperties: false });

export const MlpHashSchemeSchema = Type.Object({
  scheme: Type.Literal('mlphash', { description: 'MLP-Hash — Otroshi Shahreza, Krivokuća Hahn & Marcel, EUSIPCO 2023: user-keyed random MLP, output binarised; Hamming comparison.' }),
  label: Label,
  hidden: Type.Array(Type.Integer({ minimum: 1, maximum: 16384 }), { minItems: 1, maxItems: 4, default: [512], description: 'Hidden layer widths (ReLU).' }),
  bits: Type.Integer({ minimum: 1, default: 256, description: 'Output bits (at most the last hidden width).' }),
  keySeed: KeySeed,
}, { additionalProperties: false });

export const SchemeConfigSchema = Type.Union([BioHashSchemeSchema, IomGrpSchemeSchema, IomUrpSchemeSchema, PolyProtectSchemeSchema, MlpHashSchemeSchema]);

export const ProtectConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 100, description: 'Report folder name (protect/<name> by default).' }),
  description: Type.Optional(Type.String()),
  encoder: Type.String({ minLength: 1, default: 'arcface512-faceplugin', description: 'Encoder whose embeddings are protected (an encoder config id).' }),
  dataset: Type.Object({
    path: Type.String({ minLength: 1, default: 'lfw', description: 'Labelled photos, a folder per person; "lfw" = the default LFW location.' }),
    split: Type.Object({
      seed: Type.Integer({ minimum: 0, default: 0 }),
      testFraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2 }),
    }, { additionalProperties: false, default: {}, description: 'The identity split of the runs (daemon/data/split.ts): the test side are the subjects, the train side the attacker\'s own photos.' }),
    maxImagesPerIdentity: Type.Integer({ minimum: 2, default: 10, description: 'At most this many photos of each held-out subject (a few people have hundreds).' }),
    maxIdentities: Type.Optional(Type.Integer({ minimum: 4, description: 'At most this many held-out subjects (seeded choice), for quick checks.' })),
  }, { additionalProperties: false, default: {} }),
  schemes: Type.Array(SchemeConfigSchema, { minItems: 1, maxItems: 12, description: 'The schemes to compare; the report adds the unprotected system as the first row.' }),
  operatingPoints: Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), { minItems: 1, maxItems: 4, default: [1e-3, 1e-4], description: 'False match rates at which FNMR and attack success rates are given.' }),
  attack: Type.Object({
    targets: Type.Integer({ minimum: 1, maximum: 5000, default: 50, description: 'Victims attacked per scheme (held-out subjects with at least two photos): their first photo\'s template is stolen.' }),
    steps: Type.Integer({ minimum: 0, maximum: 5000, default: 100, description: 'Optimisation steps of the stolen-key inversion (from its closed-form or mean start).' }),
    learningRate: Type.Number({ exclusiveMinimum: 0, default: 0.01, description: 'Adam step size on the unit sphere.' }),
    ridgeLambda: Type.Number({ minimum: 0, default: 1, description: 'Key unknown: ridge penalty of the attacker\'s learned map protected template → embedding.' }),
    baselinePool: Type.Integer({ minimum: 1, default: 500, description: 'Nearest-face baseline under the stolen key: the attacker enrols this many of their own photos under the victim\'s key and presents the closest.' }),
    attackerPhotos: Type.Integer({ minimum: 10, default: 3000, description: 'Key unknown: the attacker\'s own photos (train side) enrolled under their own keys to learn that map.' }),
    whiteboxSteps: Type.Integer({ minimum: 0, maximum: 1000, default: 20, description: 'White-box gradient steps through the encoder after the ridge face start, toward the recovered embedding (0 = the start alone, the cheapest of the project\'s inversions: faces much further from the target).' }),
    keepFaces: Type.Integer({ minimum: 0, maximum: 64, default: 6, description: 'Victims whose faces the report shows.' }),
  }, { additionalProperties: false, default: {} }),
  unlinkability: Type.Object({
    omega: Type.Number({ exclusiveMinimum: 0, default: 1, description: 'Prior ratio ω of mated to non-mated pairs (Gomez-Barrero et al. 2018).' }),
    bins: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000, description: 'Histogram bins of D↔(s) (default: min(mated pairs / 10, 100), as the paper\'s code).' })),
  }, { additionalProperties: false, default: {} }),
  outDir: Type.Optional(Type.String({ minLength: 1, description: 'Report folder, relative to the workspace (default protect/<name>).' })),
  seed: Type.Integer({ minimum: 0, default: 0, description: 'Seed of the samples (victims, attacker photos, face model).' }),
}, { $id: 'protect.schema.json', title: 'Face Inversion Lab protection config', additionalProperties: false });

export type ProtectConfig = Static<typeof ProtectConfigSchema>;
export type SchemeConfig = Static<typeof SchemeConfigSchema>;
export const ProtectConfigFileSchema = fileSchemaOf(ProtectConfigSchema);

/** Fills defaults, then checks schema and meaning (degenerate parameters named). */
export function validateProtectConfig(value: unknown, where: string): { config?: ProtectConfig; problems: Problem[] } {
  const { config: c, problems, at } = withDefaults<ProtectConfig>(ProtectConfigSchema, value, where, { name: 'a protection config', expected: '{ "name": …, "schemes": [ { "scheme": "biohash" }, … ] }' });
  if (!c) return { problems };
  c.schemes.forEach((s, k) => {
    if (s.scheme === 'polyprotect' && s.overlap >= s.order) problems.push({ reason: `overlap ${s.overlap} ≥ order ${s.order}: the window would never move`, where: at(`/schemes/${k}/overlap`), expected: `an overlap in [0, ${s.order - 1}]` });
    if (s.scheme === 'polyprotect' && 2 * s.coefficientRange < s.order) problems.push({ reason: `${s.order} distinct non-zero coefficients do not fit in [−${s.coefficientRange}, ${s.coefficientRange}]`, where: at(`/schemes/${k}/coefficientRange`), expected: `at least ${Math.ceil(s.order / 2)}` });
    if (s.scheme === 'mlphash' && s.bits > s.hidden[s.hidden.length - 1]) problems.push({ reason: `${s.bits} bits from a ${s.hidden[s.hidden.length - 1]}-wide last hidden layer`, where: at(`/schemes/${k}/bits`), expected: `at most ${s.hidden[s.hidden.length - 1]} bits` });
  });
  const labels = new Set<string>();
  c.schemes.forEach((s, k) => {
    const l = s.label ?? JSON.stringify({ ...s, label: undefined });
    if (labels.has(l)) problems.push({ reason: 'the same scheme is listed twice', where: at(`/schemes/${k}`), expected: 'distinct schemes (or a distinct label)' });
    labels.add(l);
  });
  return { config: c, problems };
}
