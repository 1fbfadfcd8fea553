/**
 * The one engine chooser, for the decoder's training and the white-box search alike: ONNX Runtime wherever
 * it covers the model (a decoder step takes about a quarter of TF.js wasm's time), TF.js (the reference) on
 * request or as the fallback. The request comes from the config; where it says 'auto' or nothing,
 * FACEINV_ENGINE decides (docs/engine.md), the same for runs, audits and `faceinv invert`.
 *
 *   'auto'         ONNX Runtime; if it cannot be opened, TF.js with a warning naming the reason.
 *   'onnxruntime'  ONNX Runtime or a clear error.
 *   'tfjs'         TF.js.
 *
 * (The query search needs no choice: it only calls the encoder, whose own loader picks its runtime.)
 */
import { envValue } from '../protocol/env';

export type EngineRequest = 'auto' | 'onnxruntime' | 'tfjs';
export const ENGINE_REQUESTS: readonly EngineRequest[] = ['auto', 'onnxruntime', 'tfjs'];

export interface EngineDecision {
  requested: EngineRequest;
  chosen: 'onnxruntime' | 'tfjs';
  /** Why: "requested", "default", or the ONNX Runtime failure that made 'auto' fall back. */
  reason: string;
  /** ONNX Runtime execution provider (and why), when chosen. */
  provider?: 'cpu' | 'cuda';
}

function checked(value: string, where: string): EngineRequest {
  if (!(ENGINE_REQUESTS as readonly string[]).includes(value)) throw new Error(`${where}: unknown engine '${value}' (expected ${ENGINE_REQUESTS.join(', ')})`);
  return value as EngineRequest;
}

/** The engine asked for: the config's own choice unless it is 'auto', else FACEINV_ENGINE, else 'auto'. */
export function engineRequest(configured?: EngineRequest): EngineRequest {
  if (configured !== undefined && configured !== 'auto') return checked(configured, 'engine');
  const env = envValue('FACEINV_ENGINE');
  return env === undefined ? 'auto' : checked(env, 'environment variable FACEINV_ENGINE');
}

export interface EngineOpening<T> {
  /** Opens the ONNX Runtime form; throws why it cannot. */
  ort(): Promise<{ value: T; reason: string; provider?: 'cpu' | 'cuda' }>;
  /** Opens the TF.js form, with the reason it is the one chosen. */
  tfjs(reason: string): Promise<T>;
  /** Failures that are the same problem on either engine: rethrown, no fallback. */
  noFallback?: (e: unknown) => boolean;
  /** The warning of a fallback, from the ONNX Runtime failure. */
  fallbackWarning?: (msg: string) => string;
  warn?: (msg: string) => void;
  /** The reason recorded when TF.js is requested (default "requested"). */
  requestedReason?: string;
}

/** Opens the requested engine (see the header for 'auto'); the decision says which and why, for run.json. */
export async function openEngine<T>(requested: EngineRequest, o: EngineOpening<T>): Promise<{ value: T; engine: EngineDecision }> {
  checked(requested, 'engine');
  if (requested === 'tfjs') {
    const reason = o.requestedReason ?? 'requested';
    return { value: await o.tfjs(reason), engine: { requested, chosen: 'tfjs', reason } };
  }
  try {
    const r = await o.ort();
    return { value: r.value, engine: { requested, chosen: 'onnxruntime', reason: r.reason, ...(r.provider ? { provider: r.provider } : {}) } };
  } catch (e) {
    if (o.noFallback?.(e)) throw e;
    const msg = (e as Error).message;
    if (requested === 'onnxruntime') throw new Error(`engine 'onnxruntime': ${msg}`);
    o.warn?.(o.fallbackWarning ? o.fallbackWarning(msg) : msg);
    const reason = `fallback: ${msg}`;
    return { value: await o.tfjs(reason), engine: { requested, chosen: 'tfjs', reason } };
  }
}
