/**
 * Which part each model played in the attack, so that transfer stays transfer.
 *
 * Transfer (ISO/IEC 30136's "attack on another system"; Mai et al., NbNet, TPAMI 2019, §5) only means
 * something for a system the attack never touched: a surrogate whose gradients guided the search, or an
 * encoder used as an acceptance test, was optimised against, so a high score there is white-box success,
 * not transfer. run.json's `encoderRoles` (and, in older decoder runs, `surrogate.encoderId`) names them;
 * here every scoring encoder gets one role, and only `transfer` ones are reported as transfer.
 *
 * Detector families have ids too, so the protocols can say which detector scored and whether the attack used
 * it: the project's own pipeline (faceplugin's fr_detect + fr_landmark, the `redetect` protocol and the
 * attack's face check) and face-api's SSD MobileNet v1 + 68 landmarks (the `independent` protocol).
 */
import type { RunManifest } from '../protocol/runFolder';

/** The project's face pipeline (daemon/data/detect.ts + landmarks.ts): `redetect` and the attack's face check. */
export const PIPELINE_DETECTOR_ID = 'faceplugin-detect68';
/** face-api's SSD MobileNet v1 + 68-point landmark net (daemon/data/faceApiDetector.ts): `independent`. */
export const FACEAPI_DETECTOR_ID = 'faceapi-ssd-mobilenetv1-landmark68';

export interface AttackRoles {
  attacked: string;
  surrogates: string[];
  acceptanceDetector?: string;
  /** Scoring encoders that run the same model files as a role-played one, under another id: id → that one. */
  aliases?: Record<string, string>;
}

export type ScoringRole = 'attacked' | 'surrogate' | 'acceptance' | 'transfer';

/**
 * The roles recorded in run.json: `encoderRoles` when present, plus an older decoder run's `surrogate`.
 * A run.json whose `encoderRoles.attacked` differs from the run's encoder is refused (one of them is wrong).
 */
export function attackRoles(manifest: Pick<RunManifest, 'encoderRoles' | 'surrogate'>, attackedId: string, file = 'run.json'): AttackRoles {
  const r = manifest.encoderRoles;
  if (r && r.attacked !== attackedId) {
    throw new Error(`${file}: encoderRoles.attacked is "${r.attacked}" but the run attacks "${attackedId}"; fix run.json or re-run the attack`);
  }
  const surrogates = new Set(r?.surrogates ?? []);
  if (manifest.surrogate?.encoderId) surrogates.add(manifest.surrogate.encoderId);
  if (surrogates.has(attackedId)) throw new Error(`${file}: "${attackedId}" is both the attacked encoder and a surrogate`);
  return { attacked: attackedId, surrogates: [...surrogates], ...(r?.acceptanceDetector ? { acceptanceDetector: r.acceptanceDetector } : {}) };
}

/** The role of scoring encoder `encoderId` in an attack with `roles`. */
export function roleOf(encoderId: string, roles: AttackRoles): ScoringRole {
  const alias = roles.aliases?.[encoderId];
  if (alias !== undefined && alias !== encoderId) return roleOf(alias, { ...roles, aliases: {} });
  if (encoderId === roles.attacked) return 'attacked';
  if (roles.surrogates.includes(encoderId)) return 'surrogate';
  if (roles.acceptanceDetector === encoderId) return 'acceptance';
  return 'transfer';
}

/** Why `encoderId` cannot count as transfer, or null when it can. */
export function notTransferReason(encoderId: string, roles: AttackRoles): string | null {
  const role = roleOf(encoderId, roles);
  const alias = roles.aliases?.[encoderId];
  if (alias !== undefined && role !== 'transfer') return `${encoderId} runs the same model files as ${alias} (the attack's ${role} encoder), so it is scored as ${role} and never counted as transfer`;
  if (role === 'surrogate') return `${encoderId} guided the attack as a surrogate (its gradients shaped the reconstructions), so it is scored under that role and never counted as transfer`;
  if (role === 'acceptance') return `${encoderId} was the attack's acceptance test, so it is scored under that role and never counted as transfer`;
  return null;
}

/** True when the attack used detector family `detectorId` in some role (then a protocol on it is not independent). */
export function attackUsedDetector(detectorId: string, roles: AttackRoles): boolean {
  return roles.acceptanceDetector === detectorId || roles.surrogates.includes(detectorId) || roles.attacked === detectorId;
}

/**
 * Marks scoring encoders whose model files hash like a role-played encoder's (a copy under another id) as
 * aliases of it: the same network is not another system. `hashOf` gives an encoder's model-files hash.
 */
export function withAliases(roles: AttackRoles, evalIds: readonly string[], hashOf: (id: string) => string): AttackRoles {
  const encoders = [roles.attacked, ...roles.surrogates];
  const played = [...encoders, ...(roles.acceptanceDetector ? [roles.acceptanceDetector] : [])];
  const byHash = new Map<string, string>();
  for (const id of encoders) {
    const h = hashOf(id);
    if (!byHash.has(h)) byHash.set(h, id);
  }
  // An acceptance test is usually a detector family (PIPELINE_DETECTOR_ID), not an encoder with model files;
  // only when it names a scoring encoder is there a network to compare, and then the id already matches.
  const aliases: Record<string, string> = { ...(roles.aliases ?? {}) };
  for (const id of evalIds) {
    if (played.includes(id)) continue;
    const same = byHash.get(hashOf(id));
    if (same !== undefined) aliases[id] = same;
  }
  return { ...roles, aliases };
}
