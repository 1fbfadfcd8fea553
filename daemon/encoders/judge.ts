/**
 * The white/black-box judge: from what an encoder config declares as known — architecture and
 * weights, in a form the engine can differentiate — choose the white-box route (latent search with gradients
 * through the encoder), else the black-box route (learn an inverse decoder from queries). The user can force
 * either; forcing white box on an encoder that cannot be differentiated is an error that says why.
 */
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { RunKind } from '../protocol/runFolder';

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
