/**
 * The threat model of an audit (issue 25): what the attacked system answers — its oracle — and what else the
 * attacker holds. Deployed systems rarely hand out templates: a verification API answers a similarity score
 * (possibly rounded) or only accept / reject for a photo and a claimed identity. The judge
 * (daemon/encoders/judge.ts, `judgeOracle`) picks the attack from these fields; the audit config embeds this
 * schema as `threat`, so the TypeScript type and audit.schema.json come from one source.
 */
import { Static, Type } from '@sinclair/typebox';
import type { Problem } from './validate';
import { HttpAuthSchema, ORACLE_KINDS, ORACLE_PROPERTIES, oracleOptionProblems, type OracleKind } from './encoderConfig';

export { ORACLE_KINDS };
export type { OracleKind };

/**
 * A live verification service to ask (the protocol of daemon/protocol/verifierApi.ts, e.g. `faceinv
 * serve-verifier`): each probe goes as its aligned crop (PNG at the encoder's input size) with the subject id.
 * Credentials as for HTTP encoders: `auth` names an environment variable or a VS Code secret, never the value.
 * 429 and 5xx are retried with exponential backoff (Retry-After wins); 423 marks the subject locked out.
 */
export const VerifierServiceSchema = Type.Object({
  url: Type.String({ pattern: '^https?://', description: 'Base URL of the service (its POST /v1/verify answers one probe).' }),
  auth: Type.Optional(HttpAuthSchema),
  ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10000, description: 'Most requests started per second (the service\'s rate limit).' })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600000, default: 30000 })),
  retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, default: 4, description: 'Retries of a request that timed out, failed to connect, or got 429 / 5xx.' })),
  backoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600000, default: 500, description: 'First retry delay; doubled on each retry (a Retry-After header wins), with jitter.' })),
  maxBackoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600000, default: 15000 })),
}, { additionalProperties: false });

export const OracleSchema = Type.Object({
  ...ORACLE_PROPERTIES,
  service: Type.Optional(VerifierServiceSchema),
}, { additionalProperties: false, default: {} });

export const AttackerSchema = Type.Object({
  encoder: Type.Union([Type.Literal('copy'), Type.Literal('other'), Type.Literal('none')], { default: 'copy', description: '"copy": the attacker runs the system\'s own encoder; "other": only another encoder (otherEncoder); "none": no encoder at all.' }),
  otherEncoder: Type.Optional(Type.String({ minLength: 1, description: 'encoder "other": the id of the attacker\'s encoder config (the score search moves its start through it where the engine can differentiate it in the face model\'s frame, e.g. faceapi-resnet128).' })),
  template: Type.Union([Type.Literal('stolen'), Type.Literal('none')], { default: 'stolen', description: '"stolen": the attacker holds the enrolled templates (the template store); "none": only the oracle, per subject id.' }),
  queries: Type.Integer({ minimum: 1, maximum: 1000000, default: 200, description: 'score / decision oracles: queries per subject the attacker may spend (recovering the template, the probe set and the search, or the first accept).' }),
  probes: Type.Optional(Type.Integer({ minimum: 2, maximum: 10000, description: 'score oracle without the encoder: probe photos answered once per subject for the search\'s start (default 100, fewer when the reference set is small); the rest of `queries` goes to the search.' })),
  ownEnrolments: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, description: 'score oracle, attacker.encoder "none": identities of its own (the first photo of that many reference identities) the attacker enrols on the system, or an identical one, and may ask about any face it renders — none of those queries is to a subject. At least the template\'s dimension of them makes their answers a view of the encoder: the start is then searched on the score against the template the probe answers predict (daemon/attack/oracle/ownView.ts), each evaluation that many queries to its own identities.' })),
  walkQueries: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, description: 'decision oracle: at most this many of `queries` go to the boundary walk after a subject\'s first accept (default: whatever the first accept left; 0: no walk, the accepted photo is the face).' })),
}, { additionalProperties: false, default: {} });

/**
 * Mitigations the audit measures by re-running the same attack on the same subjects against a simulated system
 * that applies them (issue 25, item 6): `round-2` / `round-1` (scores rounded to 0.01 / 0.1), `decision-only`
 * (accept / reject at the first operating point's threshold), `attempt-limit:N` (a subject locked out after N queries).
 */
export const MITIGATION_PATTERN = '^(round-[0-8]|decision-only|attempt-limit:[1-9][0-9]*)$';
export const MitigationSchema = Type.String({ pattern: MITIGATION_PATTERN, description: '"round-2", "round-1" (scores rounded to that many decimals), "decision-only", or "attempt-limit:N".' });
export type Mitigation = Static<typeof MitigationSchema>;

export const ThreatModelSchema = Type.Object({
  oracle: OracleSchema,
  attacker: AttackerSchema,
  mitigations: Type.Optional(Type.Array(MitigationSchema, { uniqueItems: true, maxItems: 12, description: 'Simulated oracle only: the same attack re-run on the same subjects under each mitigation, for the report\'s mitigation table.' })),
}, { additionalProperties: false, default: {}, description: 'What the system answers and what the attacker holds (issue 25); the default is today\'s: an embedding oracle and a stolen template.' });

export type OracleConfig = Static<typeof OracleSchema>;
export type VerifierServiceConfig = Static<typeof VerifierServiceSchema>;
export type AttackerConfig = Static<typeof AttackerSchema>;
export type ThreatModel = Static<typeof ThreatModelSchema>;

export function defaultThreatModel(): ThreatModel {
  return { oracle: { kind: 'embedding' }, attacker: { encoder: 'copy', template: 'stolen', queries: 200 } };
}

/** Problems the schema cannot see: options that do not belong to the oracle kind, an encoder "other" without its id. */
export function threatModelProblems(t: ThreatModel, at: (pointer: string) => string, base = '/threat'): Problem[] {
  const problems: Problem[] = [];
  const o = t.oracle;
  problems.push(...oracleOptionProblems(o, at, `${base}/oracle`));
  if (o.kind === 'embedding' && o.service) problems.push({ reason: 'a verification service answers scores or decisions, not embeddings', where: at(`${base}/oracle/service`), expected: 'oracle.kind "score" or "decision" (an embedding service is an encoder config with format "http")' });
  if (o.service && (o.service.maxBackoffMs ?? 15000) < (o.service.backoffMs ?? 500)) problems.push({ reason: 'maxBackoffMs is below backoffMs', where: at(`${base}/oracle/service/maxBackoffMs`), expected: `at least ${o.service.backoffMs}` });
  if (o.service?.auth && (o.service.auth.env === undefined) === (o.service.auth.secret === undefined)) problems.push({ reason: 'auth names neither or both of "env" and "secret"', where: at(`${base}/oracle/service/auth`), expected: 'exactly one of "env" or "secret"' });
  const a = t.attacker;
  if (a.encoder === 'other' && !a.otherEncoder) problems.push({ reason: 'attacker.encoder "other" names no encoder', where: at(`${base}/attacker`), expected: '"otherEncoder": "<encoder id>"' });
  if (a.encoder !== 'other' && a.otherEncoder) problems.push({ reason: `otherEncoder is set but attacker.encoder is "${a.encoder}"`, where: at(`${base}/attacker/otherEncoder`), expected: 'attacker.encoder "other", or no otherEncoder' });
  if (a.ownEnrolments !== undefined && (o.kind !== 'score' || a.encoder !== 'none')) problems.push({ reason: `attacker.ownEnrolments is for a score oracle and an attacker with no encoder (here: a ${o.kind} oracle, attacker.encoder "${a.encoder}")`, where: at(`${base}/attacker/ownEnrolments`), expected: 'oracle.kind "score" and attacker.encoder "none", or no ownEnrolments' });
  if (a.walkQueries !== undefined && o.kind !== 'decision') problems.push({ reason: `attacker.walkQueries is for a decision oracle (the walk after the first accept), not a ${o.kind} oracle`, where: at(`${base}/attacker/walkQueries`), expected: 'oracle.kind "decision", or no walkQueries' });
  if (t.mitigations?.length && t.attacker.template === 'stolen') problems.push({ reason: 'mitigations of an oracle mean nothing to an attacker holding the stolen template', where: at(`${base}/mitigations`), expected: 'attacker.template "none", or no mitigations' });
  return problems;
}

/**
 * The probe photos of the score search: attacker.probes (default 100), leaving the search at least one of the
 * attacker's queries, and at most half the attacker's `photos` when given (the rest fit the map).
 */
export function probeCount(a: AttackerConfig, photos = Infinity): number {
  return Math.max(1, Math.min(a.probes ?? 100, a.queries - 1, Math.floor((photos - 1) / 2)));
}

/**
 * The threat model under one mitigation, or null when it does not change what the attacker gets (rounding a
 * decision oracle): the one place a mitigation's meaning is decided. An attempt limit cuts the same attack at
 * N queries (none of the attacks adapts to the budget), so it is the unmitigated run read at N: `limit`.
 */
export function mitigatedThreat(t: ThreatModel, m: Mitigation): { threat: ThreatModel; limit?: number } | null {
  const limit = /^attempt-limit:(\d+)$/.exec(m);
  if (limit) return { threat: t, limit: Number(limit[1]) };
  if (m === 'decision-only') return t.oracle.kind === 'decision' ? null : { threat: { ...t, oracle: { kind: 'decision', ...(t.oracle.service ? { service: t.oracle.service } : {}) } } };
  const d = Number(/^round-(\d)$/.exec(m)![1]);
  if (t.oracle.kind !== 'score') return null;
  return { threat: { ...t, oracle: { ...t.oracle, decimals: Math.min(d, t.oracle.decimals ?? d) } } };
}
