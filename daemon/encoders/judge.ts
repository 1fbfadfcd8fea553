/**
 * The white/black-box judge: from what an encoder config declares as known — architecture and
 * weights, in a form the engine can differentiate — choose the white-box route (latent search with gradients
 * through the encoder), else the black-box route (learn an inverse decoder from queries). The user can force
 * either; forcing white box on an encoder that cannot be differentiated is an error that says why.
 */
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { RunKind } from '../protocol/runFolder';
import type { ThreatModel } from '../protocol/threatModel';

export type RouteRequest = 'auto' | RunKind;

export interface RouteDecision {
  route: RunKind;
  requested: RouteRequest;
  reason: string;
}

/** Formats the engine can take gradients through once loaded (ONNX via our importer, daemon/onnx). */
const DIFFERENTIABLE_FORMATS: ReadonlySet<EncoderConfig['format']> = new Set(['onnx', 'tfjs-graph', 'tfjs-layers', 'face-api']);

/** Why white box is impossible for this encoder, or null when it is possible. */
export function whiteboxObstacle(config: EncoderConfig): string | null {
  if (config.format === 'command') return `encoder "${config.id}" is a query-only service (format "command"): black box by nature`;
  if (!config.known.architecture) return `encoder "${config.id}" declares its architecture unknown (known.architecture = false)`;
  if (!config.known.weights) return `encoder "${config.id}" declares its weights unavailable (known.weights = false)`;
  if (!config.known.differentiable) return `encoder "${config.id}" declares it cannot be differentiated on the engine (known.differentiable = false)`;
  if (!DIFFERENTIABLE_FORMATS.has(config.format)) return `format "${config.format}" cannot be differentiated`;
  return null;
}

export function judgeRoute(config: EncoderConfig, requested: RouteRequest): RouteDecision {
  const obstacle = whiteboxObstacle(config);
  if (requested === 'blackbox') {
    return { route: 'blackbox', requested, reason: 'black box requested' };
  }
  if (requested === 'whitebox') {
    if (obstacle) throw new Error(`white box requested, but ${obstacle}; use "route": "blackbox" (or "auto")`);
    return { route: 'whitebox', requested, reason: `white box requested; ${config.id} declares architecture and weights known and differentiable` };
  }
  return obstacle
    ? { route: 'blackbox', requested, reason: `auto: ${obstacle}, so the black-box decoder is used` }
    : { route: 'whitebox', requested, reason: `auto: ${config.id} declares architecture and weights known and differentiable (${config.format}), so gradients can flow through it` };
}

/**
 * The attack a threat model calls for (issue 25), from what the system answers and what the attacker holds:
 *  - a stolen template (any oracle): today's inversion of the template (route by `judgeRoute`);
 *  - a score oracle and a copy of the encoder: recover the template by least squares over probe scores
 *    (daemon/attack/oracle/scoreRecovery.ts), then invert it;
 *  - a score oracle without the encoder: a search on the score from a non-adaptive probe set;
 *  - a decision oracle: a hard-label search.
 * `implemented` is false for an attack not built (none today; the plan and the LSP refuse such an attack with `reason`).
 */
export type OracleAttack = 'template-inversion' | 'score-least-squares' | 'score-search' | 'decision-search';

export interface OracleDecision {
  attack: OracleAttack;
  oracle: ThreatModel['oracle']['kind'];
  implemented: boolean;
  reason: string;
}

export function judgeOracle(threat: ThreatModel): OracleDecision {
  const { oracle, attacker } = threat;
  const kind = oracle.kind;
  if (attacker.template === 'stolen') {
    return { attack: 'template-inversion', oracle: kind, implemented: true, reason: `the attacker holds the enrolled template, so it is inverted directly${kind === 'embedding' ? '' : ` (the ${kind} oracle adds nothing a stolen template does not give)`}` };
  }
  if (kind === 'embedding') {
    throw new Error('an embedding oracle without a stolen template leaves nothing to invert: the attacker needs the template (attacker.template "stolen") or a score / decision oracle per subject (oracle.kind "score" or "decision")');
  }
  if (kind === 'score' && attacker.encoder === 'copy') {
    return { attack: 'score-least-squares', oracle: kind, implemented: true, reason: `score oracle and a copy of the encoder: each score of a probe with known embedding is one linear equation in the template; recovered from ${attacker.queries} probe scores by least squares under the face embeddings' prior, then inverted` };
  }
  if (kind === 'score') {
    const other = attacker.encoder === 'other' ? `, moved toward the answers as the attacker's other encoder ${attacker.otherEncoder} sees them where the engine can differentiate it (daemon/attack/oracle/probeSurrogate.ts; no query)`
      : attacker.ownEnrolments ? `, searched on the system's answers against ${attacker.ownEnrolments} identities the attacker enrolled itself (daemon/attack/oracle/ownView.ts; none of those queries to the subject)` : '';
    return { attack: 'score-search', oracle: kind, implemented: true, reason: `score oracle without a copy of the encoder (attacker.encoder "${attacker.encoder}"): a start from the answers to a non-adaptive probe set of the attacker's photos (daemon/attack/oracle/probeMap.ts)${other}, then the query search on the answered score, ${attacker.queries} queries per subject in all` };
  }
  const ranked = attacker.encoder === 'copy' ? 'ranked by hubness under the attacker\'s copy of the encoder (daemon/attack/oracle/decisionSearch.ts)' : `in a seeded random order (attacker.encoder "${attacker.encoder}": no hub order without the system's encoder in the audit)`;
  return { attack: 'decision-search', oracle: kind, implemented: true, reason: `decision oracle: the attacker's photos submitted ${ranked} until a first accept, at most ${attacker.queries} per subject in all; ${attacker.walkQueries === 0 ? 'the accepted photo is the face found (attacker.walkQueries 0: no walk)' : `then the boundary walk from the accepted photo with ${attacker.walkQueries !== undefined ? `at most ${attacker.walkQueries} of ` : ''}the queries left (daemon/attack/oracle/decisionWalk.ts); the last accepted face is the face found`}` };
}
