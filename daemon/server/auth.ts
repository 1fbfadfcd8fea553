/**
 * Who may open a connection: the holder of this start's token, and — when the upgrade carries a browser
 * `Origin` — only origins on the allow list, so a web page the user visits cannot drive the daemon through
 * the user's browser (browsers send Origin on WebSocket upgrades; Node clients do not).
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_HEADER } from '../protocol/daemon';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison; hashing first makes the lengths equal so length is not leaked either. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

export function tokenFromRequest(req: IncomingMessage): string | undefined {
  const header = req.headers[TOKEN_HEADER];
  if (typeof header === 'string' && header) return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

export type AuthVerdict = { ok: true } | { ok: false; status: number; reason: string };

export function checkUpgrade(req: IncomingMessage, token: string, allowedOrigins: readonly string[]): AuthVerdict {
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.includes(origin)) {
    return { ok: false, status: 403, reason: `origin "${origin}" is not allowed` };
  }
  const given = tokenFromRequest(req);
  if (!given) return { ok: false, status: 401, reason: 'missing token' };
  if (!tokensEqual(given, token)) return { ok: false, status: 401, reason: 'wrong token' };
  return { ok: true };
}
