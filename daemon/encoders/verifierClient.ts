/**
 * The client of a verification service (`threat.oracle.service` of an audit config; wire protocol
 * daemon/protocol/verifierApi.ts): one probe image and a subject id per request, a score or an accept / reject
 * back. As for HTTP encoders (./httpEncoder.ts): credentials from an environment variable or a handed-over
 * secret, a client-side rate limit, retries of timeouts, network errors, 429 and 5xx with exponential backoff
 * and jitter (Retry-After wins). What concerns one subject is a `SubjectOracleError` (404 unknown subject, 423
 * locked out, an answer that is not a score in [-1, 1], a decision threshold that changed); what concerns the
 * service (401/403, 400, down after retries) is a `VerifierServiceError`, which stops the attack.
 */
import { SubjectOracleError, VERIFY_PATH, VerifierError, type VerifyRequest } from '../protocol/verifierApi';
import type { VerifierServiceConfig } from '../protocol/threatModel';
import { secretVariable } from '../protocol/env';

export class VerifierServiceError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'VerifierServiceError';
  }
}

export interface VerifierClientStats { requests: number; retries: number; byStatus: Record<string, number> }

export interface VerifierClientOptions {
  secrets?: Readonly<Record<string, string>>;
  env?: NodeJS.ProcessEnv;
}

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class VerifierClient {
  readonly stats: VerifierClientStats = { requests: 0, retries: 0, byStatus: {} };
  private readonly headers: Record<string, string>;
  private nextStart = 0;
  private threshold: number | undefined;

  constructor(private readonly s: VerifierServiceConfig, o: VerifierClientOptions = {}) {
    this.headers = { 'content-type': 'application/json', ...credential(s, o) };
  }

  /** The score of `image` (base64 PNG) against `subject`; the answer checked. */
  async score(subject: string, image: string): Promise<number> {
    const a = await this.ask({ subject, image });
    if (!('score' in a)) throw new SubjectOracleError('bad-score', subject, `the service answered ${JSON.stringify(a).slice(0, 120)} without a score (a decision service?)`);
    const v = a.score;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new SubjectOracleError('bad-score', subject, `the score ${JSON.stringify(v)} is not a finite number`);
    if (v < -1 - 1e-6 || v > 1 + 1e-6) throw new SubjectOracleError('bad-score', subject, `the score ${v} is outside [-1, 1]`);
    return v;
  }

  /** Accept / reject of `image` for `subject`; a threshold the service reports must not change between answers. */
  async decide(subject: string, image: string): Promise<boolean> {
    const a = await this.ask({ subject, image });
    if (typeof a.accept !== 'boolean') throw new SubjectOracleError('bad-score', subject, `the service answered ${JSON.stringify(a).slice(0, 120)} without a boolean "accept"`);
    if (typeof a.threshold === 'number') {
      if (this.threshold !== undefined && a.threshold !== this.threshold) throw new SubjectOracleError('threshold-changed', subject, `the service's threshold changed from ${this.threshold} to ${a.threshold} mid-audit`);
      this.threshold = a.threshold;
    }
    return a.accept;
  }

  private async pace(): Promise<void> {
    if (!this.s.ratePerSecond) return;
    const now = Date.now();
    const at = Math.max(now, this.nextStart);
    this.nextStart = at + 1000 / this.s.ratePerSecond;
    if (at > now) await sleep(at - now);
  }

  private async ask(req: VerifyRequest): Promise<Record<string, unknown>> {
    const retries = this.s.retries ?? 4, base = this.s.backoffMs ?? 500, cap = this.s.maxBackoffMs ?? 15000;
    const url = `${this.s.url.replace(/\/$/, '')}${VERIFY_PATH}`;
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) this.stats.retries++;
      await this.pace();
      this.stats.requests++;
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: this.headers, body: JSON.stringify(req), signal: AbortSignal.timeout(this.s.timeoutMs ?? 30000) });
      } catch (err) {
        this.stats.byStatus.network = (this.stats.byStatus.network ?? 0) + 1;
        last = (err as Error).message;
        await sleep(backoff(attempt, base, cap));
        continue;
      }
      this.stats.byStatus[res.status] = (this.stats.byStatus[res.status] ?? 0) + 1;
      const text = await res.text();
      if (res.ok) {
        try { return JSON.parse(text) as Record<string, unknown>; } catch { throw new SubjectOracleError('bad-score', req.subject, `the answer is not JSON: ${text.slice(0, 80)}`); }
      }
      let body: unknown;
      try { body = JSON.parse(text); } catch { body = undefined; }
      const why = VerifierError.is(body) ? body.message : text.slice(0, 120);
      if (res.status === 404) throw new SubjectOracleError('unknown-subject', req.subject, why);
      if (res.status === 423) throw new SubjectOracleError('locked-out', req.subject, why);
      if (res.status === 401 || res.status === 403) throw new VerifierServiceError(`verification service ${this.s.url} refused the credentials (${res.status}): ${why}`, res.status);
      if (!RETRYABLE.has(res.status)) throw new VerifierServiceError(`verification service ${this.s.url} answered ${res.status}: ${why}`, res.status);
      last = `${res.status} ${why}`;
      const after = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(after) && after > 0 ? Math.min(cap, after * 1000) : backoff(attempt, base, cap));
    }
    throw new VerifierServiceError(`verification service ${this.s.url} is unavailable after ${retries} retries (last: ${last})`);
  }
}

function backoff(attempt: number, base: number, cap: number): number {
  return Math.min(cap, base * 2 ** attempt) * (0.75 + 0.5 * Math.random());
}

function credential(s: VerifierServiceConfig, o: VerifierClientOptions): Record<string, string> {
  const a = s.auth;
  if (!a) return {};
  const env = o.env ?? process.env;
  const v = a.env !== undefined ? env[a.env] : o.secrets?.[a.secret as string] ?? env[secretVariable(a.secret as string)];
  if (!v) throw new VerifierServiceError(`verification service ${s.url}: its credential (${a.env !== undefined ? `environment variable ${a.env}` : `secret "${a.secret}"`}) is not set`);
  return { [a.header ?? 'Authorization']: `${a.prefix ?? ''}${v}` };
}
