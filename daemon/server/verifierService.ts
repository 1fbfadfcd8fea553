/**
 * A small verification service to rehearse attacks on (issue 25; `faceinv serve-verifier`): an encoder and an
 * enrolled store (subject id → unit template); `POST /v1/verify { subject, image }` answers the cosine of the
 * image's embedding to the subject's template as `{ score }` (optionally rounded to `decimals`, with Gaussian
 * `noise`) or, in decision mode, `{ accept }` at `threshold`. Mitigations to measure: rounding, noise, decision
 * only, a per-subject attempt limit (then 423 Locked for that subject), a rate limit (429 with Retry-After), an
 * API key (401). Every query is counted per subject (`GET /v1/stats`) and, with `logFile`, appended as one
 * JSON line — the service's own count, the one an audit's query figures are reconciled with.
 * The encoder is deterministic, so the embeddings of the last `memo` distinct images are kept (keyed by a hash of
 * the submitted bytes): a decision search submits the same photos, in one order, for every subject, and without
 * the memo a rehearsal of 300 subjects spends hours re-embedding them. Every query is still counted, logged,
 * noised and rate-limited as before; only the encoder's work is saved.
 * Wire types: daemon/protocol/verifierApi.ts.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { mulberry32 } from '../data/split';
import { STATS_PATH, VERIFIER_STATUS, VERIFY_PATH, VerifyRequest, type VerifierErrorCode, type VerifierStats, type VerifyAnswer } from '../protocol/verifierApi';
import { roundScore } from '../math/roundScore';

export interface VerifierServiceOptions {
  /** Embeds one aligned crop, [size, size, 3] uint8 RGB → a unit template. */
  embed(pixels: Uint8Array): Promise<Float32Array>;
  /** Side of the crops the service takes (the encoder's input size). */
  size: number;
  enrolled: ReadonlyMap<string, Float32Array>;
  answer: 'score' | 'decision';
  /** decision: accept when the cosine is at least this. */
  threshold?: number;
  decimals?: number;
  noise?: number;
  /** Attempts per subject before it is locked out (423). */
  attemptLimit?: number;
  /** Requests per second over the whole service before 429. */
  ratePerSecond?: number;
  /** Required in the `x-api-key` header when set. */
  apiKey?: string;
  logFile?: string;
  seed?: number;
  /** Distinct images whose embeddings are kept (least recently used dropped first); 0 turns the memo off. Default 20,000 (≈ 40 MB at 512-d). */
  memo?: number;
}

export interface VerifierService {
  url: string;
  stats(): VerifierStats;
  close(): Promise<void>;
}

export async function startVerifierService(o: VerifierServiceOptions, port = 0, host = '127.0.0.1'): Promise<VerifierService> {
  if (o.answer === 'decision' && o.threshold === undefined) throw new Error('a decision service needs a threshold');
  const queries: Record<string, number> = {};
  const locked = new Set<string>();
  const rand = mulberry32(o.seed ?? 0);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let windowStart = Date.now(), inWindow = 0;
  const log = (entry: object) => { if (o.logFile) fs.appendFileSync(o.logFile, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`); };
  const send = (res: http.ServerResponse, status: number, body: object, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res: http.ServerResponse, code: VerifierErrorCode, message: string, headers?: Record<string, string>) => send(res, VERIFIER_STATUS[code], { error: code, message }, headers);
  const memo = embeddingMemo(o.memo ?? DEFAULT_MEMO);

  async function verify(req: VerifyRequest, res: http.ServerResponse): Promise<void> {
    const t = o.enrolled.get(req.subject);
    queries[req.subject] = (queries[req.subject] ?? 0) + 1;
    if (!t) { log({ subject: req.subject, status: 404 }); return fail(res, 'unknown-subject', `no enrolled subject "${req.subject}"`); }
    if (locked.has(req.subject) || (o.attemptLimit !== undefined && queries[req.subject] > o.attemptLimit)) {
      locked.add(req.subject);
      log({ subject: req.subject, status: 423 });
      return fail(res, 'locked-out', `subject "${req.subject}" is locked out after ${o.attemptLimit} attempts`);
    }
    const key = memo.key(req.image);
    let e = memo.get(key);
    if (!e) {
      let pixels: Uint8Array;
      try {
        pixels = await cropPixels(req.image, o.size);
      } catch (err) {
        log({ subject: req.subject, status: 400 });
        return fail(res, 'bad-request', `image: ${(err as Error).message}`);
      }
      e = await o.embed(pixels);
      memo.set(key, e);
    }
    let s = 0;
    for (let a = 0; a < e.length; a++) s += e[a] * t[a];
    let answer: VerifyAnswer;
    if (o.answer === 'decision') answer = { subject: req.subject, accept: s >= (o.threshold as number), threshold: o.threshold };
    else {
      if (o.noise) s += o.noise * gauss();
      answer = { subject: req.subject, score: roundScore(s, o.decimals) };
    }
    log({ subject: req.subject, status: 200, ...('score' in answer ? { score: answer.score } : { accept: answer.accept }) });
    send(res, 200, answer);
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      if (o.apiKey !== undefined && req.headers['x-api-key'] !== o.apiKey) { log({ status: 401 }); return fail(res, 'unauthorized', 'missing or wrong x-api-key'); }
      if (req.method === 'GET' && req.url === STATS_PATH) return send(res, 200, stats());
      if (req.method !== 'POST' || req.url !== VERIFY_PATH) return fail(res, 'bad-request', `${req.method} ${req.url}: the service answers POST ${VERIFY_PATH} and GET ${STATS_PATH}`);
      if (o.ratePerSecond !== undefined) {
        const now = Date.now();
        if (now - windowStart >= 1000) { windowStart = now; inWindow = 0; }
        if (++inWindow > o.ratePerSecond) { log({ status: 429 }); return fail(res, 'rate-limited', `more than ${o.ratePerSecond} requests per second`, { 'retry-after': String(Math.max(1, Math.ceil((1000 - (now - windowStart)) / 1000))) }); }
      }
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      let body: unknown;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { queries[''] = (queries[''] ?? 0) + 1; return fail(res, 'bad-request', 'the body is not JSON'); }
      if (!VerifyRequest.is(body)) { queries[''] = (queries[''] ?? 0) + 1; return fail(res, 'bad-request', 'the body needs { "subject": string, "image": base64 PNG }'); }
      await verify(body, res);
    })().catch((err: Error) => { if (!res.headersSent) send(res, 500, { error: 'internal', message: err.message }); });
  });
  const stats = (): VerifierStats => ({ queries: { ...queries }, total: Object.values(queries).reduce((a, b) => a + b, 0), lockedOut: [...locked].sort(), embedded: memo.embedded });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve()); });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    stats,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

export const DEFAULT_MEMO = 20_000;

/** The submitted crop's RGB bytes, or an error naming what is wrong with it. */
async function cropPixels(image: string, size: number): Promise<Uint8Array> {
  const { data, info } = await sharp(Buffer.from(image, 'base64')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== 3) throw new Error(`the image is ${info.width}×${info.height}×${info.channels}, the service takes ${size}×${size} RGB crops`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Embeddings of the last `capacity` distinct images (a Map kept in use order); `embedded` counts the encoder's runs. */
function embeddingMemo(capacity: number) {
  const kept = new Map<string, Float32Array>();
  let embedded = 0;
  return {
    get embedded() { return embedded; },
    // With the memo off nothing is looked up, so nothing is hashed.
    key: (image: string) => (capacity > 0 ? crypto.createHash('sha256').update(image).digest('base64') : ''),
    get(key: string): Float32Array | undefined {
      const e = kept.get(key);
      if (e) { kept.delete(key); kept.set(key, e); }
      return e;
    },
    set(key: string, e: Float32Array): void {
      embedded++;
      if (capacity <= 0) return;
      kept.set(key, e);
      if (kept.size > capacity) kept.delete(kept.keys().next().value as string);
    },
  };
}
