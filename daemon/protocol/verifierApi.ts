/**
 * The wire protocol of a verification service (`faceinv serve-verifier`, daemon/server/verifierService.ts, and
 * the client daemon/encoders/verifierClient.ts): one request kind, sent from the attacker (the audit) to the
 * service — a face image and a claimed subject id — answered with a similarity score or an accept / reject.
 *
 *   POST /v1/verify   { subject, image }         → 200 VerifyAnswer
 *   GET  /v1/stats                               → 200 VerifierStats (the service's own query log, per subject)
 *
 * Errors answer `{ error: VerifierErrorCode, message }` with the status of VERIFIER_STATUS: 400 a bad request,
 * 401 a missing or wrong API key, 404 an unknown subject, 423 a subject locked out after its attempt limit,
 * 429 the service's rate limit (with Retry-After).
 */

/** `image`: base64 PNG of the aligned face crop at the service encoder's input size (RGB, 8-bit). */
export interface VerifyRequest {
  subject: string;
  image: string;
}

/** A score service answers `score` (cosine, possibly rounded and noised); a decision service `accept` (and its threshold). */
export type VerifyAnswer =
  | { subject: string; score: number }
  | { subject: string; accept: boolean; threshold?: number };

export type VerifierErrorCode = 'bad-request' | 'unauthorized' | 'unknown-subject' | 'locked-out' | 'rate-limited';

export const VERIFIER_STATUS: Readonly<Record<VerifierErrorCode, number>> = {
  'bad-request': 400, unauthorized: 401, 'unknown-subject': 404, 'locked-out': 423, 'rate-limited': 429,
};

export interface VerifierError { error: VerifierErrorCode; message: string }

export interface VerifierStats {
  /** Queries answered (any answer, errors included), per subject id; "" for requests without a valid subject. */
  queries: Record<string, number>;
  total: number;
  lockedOut: string[];
  /** Images the encoder actually ran on (the rest were answered from the service's memo of identical submissions). */
  embedded?: number;
}

export const VERIFY_PATH = '/v1/verify';
export const STATS_PATH = '/v1/stats';

export const VerifyRequest = {
  is(v: unknown): v is VerifyRequest {
    const o = v as Record<string, unknown>;
    return typeof o === 'object' && o !== null && typeof o.subject === 'string' && o.subject.length > 0 && typeof o.image === 'string' && o.image.length > 0;
  },
};

export const VerifierError = {
  is(v: unknown): v is VerifierError {
    const o = v as Record<string, unknown>;
    return typeof o === 'object' && o !== null && typeof o.error === 'string' && o.error in VERIFIER_STATUS;
  },
};

/** Per-subject failures of an oracle (the subject is marked, the others go on). */
export type SubjectErrorCode = 'locked-out' | 'unknown-subject' | 'bad-score' | 'threshold-changed';

export class SubjectOracleError extends Error {
  /** Answers the subject got before the failure (a lock-out mid-way keeps what was learnt). */
  partial: number[] = [];

  constructor(readonly code: SubjectErrorCode, readonly subject: string, message: string) {
    super(`${code}: subject "${subject}": ${message}`);
    this.name = 'SubjectOracleError';
  }
}
