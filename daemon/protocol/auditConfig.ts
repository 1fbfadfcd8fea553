/**
 * Audit config (`*.faceinv-audit.json`): a template store the user owns, the encoder that made it, and how to
 * audit it — ISO/IEC 30136's irreversibility question ("can these templates be turned back into faces the
 * system accepts, at our operating point, and how much better than a lookalike?"). The TypeScript type and
 * `models/schemas/audit.schema.json` both come from `AuditConfigSchema` (TypeBox); `faceinv schemas --check`
 * fails when the written file is stale. `faceinv audit` flags map onto the same fields (daemon/cli/commands/audit.ts).
 *
 * The attack settings are the main job's (models/experiments/quick-attack.json): a PCA face model of the
 * reference faces in the encoder's frame, a ridge start, a zeroth-order search of `budget` queries per
 * template (black box) or `whitebox.steps` gradient steps (white box).
 */
import { Static, Type } from '@sinclair/typebox';
import { assertConfig, Problem, withDefaults } from './validate';
import { FaceFinishSchema, fileSchemaOf, SEARCH_METHODS, SearchConfigSchema, WhiteboxConfigSchema } from './runConfig';
import { ThreatModelSchema, threatModelProblems } from './threatModel';

export const ReferenceConfigSchema = Type.Object({
  path: Type.String({ minLength: 1, default: 'lfw', description: 'Labelled face photos, one folder per person (or the folder holding lfw-deepfunneled/); "lfw" = the default LFW location. Calibrates the thresholds, and is the attacker\'s own data (face model, start, lookalike baseline).' }),
  split: Type.Optional(Type.Object({
    seed: Type.Integer({ minimum: 0, default: 0 }),
    testFraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2 }),
    use: Type.Union([Type.Literal('train'), Type.Literal('test')], { default: 'train', description: 'Which side of the identity split (daemon/data/split.ts) is the reference: "train" reproduces a run\'s attacker data, leaving its held-out people out.' }),
  }, { additionalProperties: false, description: 'Use one side of a seeded identity split of the dataset instead of all of it.' })),
  maxIdentities: Type.Optional(Type.Integer({ minimum: 2, description: 'Keep at most this many identities (seeded choice), for quick audits.' })),
}, { additionalProperties: false, default: {} });

export const TransferConfigSchema = Type.Object({
  encoder: Type.String({ minLength: 1, description: 'A second system whose acceptance of the reconstructions is measured.' }),
  templates: Type.String({ minLength: 1, description: 'That system\'s templates of the same people, row for row (or id for id) with `templates`.' }),
}, { additionalProperties: false });

export const ProtectionStoreSchema = Type.Object({
  config: Type.String({ minLength: 1, description: 'The protection config (*.faceinv-protect.json, relative to the workspace) whose scheme protected the store: its parameters, and its attack.steps / attack.learningRate for the stolen-key inversion.' }),
  scheme: Type.Optional(Type.String({ minLength: 1, description: 'Which of its schemes: the scheme name ("biohash", "iom-grp", …) or its label; needed when the config lists more than one.' })),
  keys: Type.String({ minLength: 1, description: 'The (stolen) key material, JSON relative to the workspace: { "keySeed": n, "generation": 0 } (the system\'s master seed: each template\'s key is derived from it and the template\'s id, as faceinv protect does) or { "seeds": { "<id>": n, … } } (one key seed per template id).' }),
}, { additionalProperties: false, description: 'The store holds protected templates (bits, indices or floats of a template protection scheme): each is first inverted with the scheme\'s stolen-key inversion (daemon/protect), and the recovered embedding is audited like any other template.' });

export const AuditSearchSchema = Type.Composite([
  Type.Omit(SearchConfigSchema, ['queries', 'batchTargets', 'method', 'surrogate', 'minutes']),
  Type.Object({
    method: Type.Union(SEARCH_METHODS.map((m) => Type.Literal(m)), { default: 'zeroth-order', description: 'Black-box search with encoder queries only (see run configs); "secant" needs an embedding oracle (a stolen template); "none" = the start alone.' }),
  }),
], { additionalProperties: false, default: {} });

export const AuditConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 100, description: 'Audit folder name (under outDir\'s parent: audits/<name> by default).' }),
  description: Type.Optional(Type.String()),
  encoder: Type.String({ minLength: 1, description: 'Encoder that made the templates (an encoder config id: onnx, command or http).' }),
  templates: Type.String({ minLength: 1, description: 'The template store: .npy (float32/64, [N, dim]), .json (vectors, { id, embedding } items, or { "embeddings": … }), .jsonl, or raw float32 (.f32/.bin); relative to the workspace.' }),
  protection: Type.Optional(ProtectionStoreSchema),
  reference: ReferenceConfigSchema,
  route: Type.Union([Type.Literal('auto'), Type.Literal('blackbox'), Type.Literal('whitebox')], { default: 'auto', description: 'auto lets the judge decide from what the encoder config declares as known.' }),
  budget: Type.Integer({ minimum: 1, maximum: 100000, default: 100, description: 'Black box: encoder queries per template (what an attacker pays), the start included.' }),
  faceModel: Type.Object({
    components: Type.Integer({ minimum: 2, maximum: 4096, default: 512, description: 'PCA components of the reference faces (lowered to faces − 1 for a small reference set, with a warning).' }),
    clamp: Type.Number({ exclusiveMinimum: 0, default: 3, description: 'Latents clamped to ±clamp standard deviations.' }),
    finish: FaceFinishSchema,
  }, { additionalProperties: false, default: {} }),
  start: Type.Union([Type.Literal('ridge'), Type.Literal('nearest')], { default: 'ridge', description: 'ridge: ridge regression from template to face-model latent; nearest: mean latent of the 5 nearest reference faces.' }),
  threat: ThreatModelSchema,
  search: AuditSearchSchema,
  whitebox: WhiteboxConfigSchema,
  transfer: Type.Array(TransferConfigSchema, { default: [], description: 'Other systems to score the reconstructions with (transfer).' }),
  operatingPoints: Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), { minItems: 1, maxItems: 8, default: [1e-3, 1e-4, 1e-5], description: 'False match rates the verdict is given at.' }),
  chunkSize: Type.Integer({ minimum: 1, maximum: 100000, default: 256, description: 'Templates per resumable chunk (a killed audit redoes at most one chunk).' }),
  onEncoderError: Type.Union([Type.Literal('pause'), Type.Literal('continue')], { default: 'pause', description: 'When the encoder service fails as a whole (refused credentials, down after retries): "pause" stops after the last whole chunk (run again to continue); "continue" records the affected templates as failed and goes on. One bad answer only fails its template either way.' }),
  keepImages: Type.Integer({ minimum: 0, maximum: 1000000, default: 1000, description: 'Reconstructions kept as PNG files (a seeded sample of the templates); their scores are kept for all.' }),
  outDir: Type.Optional(Type.String({ minLength: 1, description: 'Audit folder, relative to the workspace (default audits/<name>).' })),
  seed: Type.Integer({ minimum: 0, default: 0, description: 'Seed of the face model, the search, the image sample and the template sample.' }),
  sample: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('all')], { description: 'Audit a seeded random sample of this many templates ("all": every template). Without it, a store above 5,000 templates is sampled to answer within about an hour (daemon/audit/sample.ts), said at the start.' })),
  margin: Type.Number({ exclusiveMinimum: 0, maximum: 0.5, default: 0.02, description: 'Half-width of the 95 % interval a sampled verdict says the sample size for (±0.02 = ±2 points).' }),
}, { $id: 'audit.schema.json', title: 'Face Inversion Lab audit config', additionalProperties: false });

export type AuditConfig = Static<typeof AuditConfigSchema>;
export type TransferConfig = Static<typeof TransferConfigSchema>;
export type ProtectionStoreConfig = Static<typeof ProtectionStoreSchema>;
export const AuditConfigFileSchema = fileSchemaOf(AuditConfigSchema);

/** Fills defaults, then checks schema and meaning. `where` prefixes problem locations (usually the file). */
export function validateAuditConfig(value: unknown, where: string): { config?: AuditConfig; problems: Problem[] } {
  const { config: c, problems, at } = withDefaults<AuditConfig>(AuditConfigSchema, value, where, { name: 'an audit config', expected: '{ "name": …, "encoder": …, "templates": … }' });
  if (!c) return { problems };
  c.transfer.forEach((t, k) => {
    if (t.encoder === c.encoder) problems.push({ reason: `transfer encoder "${t.encoder}" is the audited encoder itself`, where: at(`/transfer/${k}/encoder`), expected: 'another system\'s encoder' });
  });
  if (c.protection && c.transfer.length) problems.push({ reason: 'a protected store with transfer systems: the transfer stores would have to be protected the same way', where: at('/transfer'), expected: 'no transfer for a protected store' });
  problems.push(...threatModelProblems(c.threat, at));
  if (c.threat.attacker.encoder === 'other' && c.threat.attacker.otherEncoder === c.encoder) problems.push({ reason: `attacker.otherEncoder "${c.encoder}" is the audited encoder itself`, where: at('/threat/attacker/otherEncoder'), expected: 'attacker.encoder "copy", or another encoder\'s id' });
  const seen = new Set<number>();
  c.operatingPoints.forEach((p, k) => {
    if (seen.has(p)) problems.push({ reason: `operating point ${p} is listed twice`, where: at(`/operatingPoints/${k}`), expected: 'distinct false match rates' });
    seen.add(p);
  });
  return { config: c, problems };
}

export function assertAuditConfig(value: unknown, where: string): AuditConfig {
  return assertConfig(validateAuditConfig(value, where), 'audit config', where);
}
