/**
 * An encoder behind an HTTP service (format "http"): the black box an auditor most often has — a vendor's
 * or an in-house face-recognition endpoint that takes a face image and answers its template. The request
 * and response mapping, the limits and the retry policy come from the config's `model.http`
 * (daemon/protocol/encoderConfig.ts):
 *
 *   body      a JSON template; the string "$image" (batch 1) or "$images" (batch > 1) is replaced by the
 *             aligned crop(s) at `inputSize`: base64 PNG / JPEG of the 8-bit crop, or base64 float32 of the
 *             preprocessed model input (normalization, channel order, layout as for any other encoder);
 *   response  a JSON pointer to the embedding or the array of embeddings ("*" steps walk arrays);
 *   auth      a header whose value comes from an environment variable or a VS Code secret handed over for
 *             the job — never from the config file, never logged, never written to disk;
 *   limits    at most `concurrency` requests in flight, at most `ratePerSecond` started per second;
 *   retries   a request that times out, cannot connect, or gets 408 / 429 / 5xx is retried up to `retries`
 *             times with exponential backoff and jitter (a Retry-After header wins);
 *   breaker   after `breakAfter` requests in a row fail even so, the service is taken as down for
 *             `cooldownMs`: calls fail at once (so a caller retrying item by item does not wait minutes per
 *             item), then one request probes it again.
 *
 * Errors are `HttpEncoderError`s naming the service, the status and what was wrong; `serviceLevel` tells a
 * failing service (auth refused, down, rate limit not lifting) from one bad answer (malformed JSON, wrong
 * dimension, a 4xx for this input), which the caller records against that input only.
 */
import * as crypto from 'node:crypto';
import sharp from 'sharp';
import { httpSettings, type EncoderConfig, type HttpSettings } from '../protocol/encoderConfig';
import { tf } from '../tfjs/tf';
import type { AlignedBatch, Encoder } from './types';
import { checkAlignedBatch, l2NormalizeInPlace, toModelInput } from './preprocess';
import { padToCanvas } from './canvas';
import { secretVariable } from '../protocol/env';

export type HttpErrorKind = 'auth' | 'unavailable' | 'bad-response' | 'refused' | 'config';

export class HttpEncoderError extends Error {
  constructor(message: string, readonly kind: HttpErrorKind, readonly status?: number) {
    super(message);
  }

  /** True when the service as a whole failed (credentials refused, down, rate limit not lifting), not one answer. */
  get serviceLevel(): boolean {
    return this.kind === 'auth' || this.kind === 'unavailable' || this.kind === 'config';
  }
}

export interface HttpEncoderOptions {
  /** Secrets handed over for this job (VS Code secret storage), by name. Never logged or stored. */
  secrets?: Readonly<Record<string, string>>;
  /** Environment the `auth.env` variable is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Failed requests in a row (after their retries) before the service is taken as down (default 3). */
  breakAfter?: number;
  /** How long a service taken as down is left alone (default 30 s). */
  cooldownMs?: number;
  /** Skip the load-time probe (tests of the probe itself). */
  noProbe?: boolean;
}

/** What the encoder has done so far: every figure an auditor may want to reconcile with the service's logs. */
export interface HttpStats {
  /** HTTP requests sent (retries included). */
  requests: number;
  /** Requests that were retries. */
  retries: number;
  /** Face images answered with a valid embedding. */
  imagesAnswered: number;
  /** Requests that failed for good (after retries, or not retryable). */
  failures: number;
  /** Of those, failures of the service as a whole (credentials refused, down after retries, taken as down). */
  serviceFailures: number;
  /** Responses by HTTP status ("timeout" and "network" for requests without one). */
  byStatus: Record<string, number>;
  /** Most requests in flight at once. */
  maxInFlight: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** A JSON value with "$image"/"$images" strings replaced. */
function fillBody(template: unknown, images: string[], batch: number): unknown {
  if (template === '$image') return images[0];
  if (template === '$images') return images;
  if (Array.isArray(template)) return template.map((t) => fillBody(t, images, batch));
  if (template && typeof template === 'object') {
    return Object.fromEntries(Object.entries(template as Record<string, unknown>).map(([k, v]) => [k, fillBody(v, images, batch)]));
  }
  return template;
}

/** Every value at `pointer` in `doc`; a `*` step walks each element of an array. */
export function pointerValues(doc: unknown, pointer: string): unknown[] {
  const steps = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let cur: unknown[] = [doc];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (step === '*' && Array.isArray(v)) next.push(...v);
      else if (Array.isArray(v) && /^\d+$/.test(step) && Number(step) < v.length) next.push(v[Number(step)]);
      else if (v && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, step)) next.push((v as Record<string, unknown>)[step]);
    }
    cur = next;
  }
  return cur;
}

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number');

/** Hash of what changes the service's answers (not the credential): identifies its templates in caches and reports. */
export function httpEncoderHash(config: EncoderConfig): string {
  if (!('http' in config.model)) throw new Error(`encoder "${config.id}" is not an HTTP encoder`);
  const h = httpSettings(config.model.http);
  const { auth, concurrency: _c, ratePerSecond: _r, timeoutMs: _t, retries: _x, backoffMs: _b, maxBackoffMs: _m, ...relevant } = h;
  return crypto.createHash('sha256').update(JSON.stringify({
    relevant, authHeader: auth?.header ?? null, inputSize: config.inputSize, layout: config.layout, channelOrder: config.channelOrder,
    normalization: config.normalization, alignment: config.alignment, embeddingDim: config.embeddingDim,
  })).digest('hex');
}

/** The credential header, from the environment or a handed-over secret; throws saying which is missing and how to set it. */
export function resolveCredential(config: EncoderConfig, h: HttpSettings, opts: HttpEncoderOptions): Record<string, string> {
  const a = h.auth;
  if (!a) return {};
  const who = `encoder "${config.id}"`;
  if (a.env !== undefined) {
    const v = (opts.env ?? process.env)[a.env];
    if (!v) {
      throw new HttpEncoderError(`${who}: model.http.auth.env names ${a.env}, which is not set in the daemon's environment; ` +
        `set ${a.env} before starting the daemon or faceinv (or use auth.secret with "Face Inversion: Set Encoder Secret…")`, 'config');
    }
    return { [a.header ?? 'Authorization']: `${a.prefix ?? ''}${v}` };
  }
  const name = a.secret as string;
  const v = opts.secrets?.[name] ?? (opts.env ?? process.env)[secretEnvName(name)];
  if (!v) {
    throw new HttpEncoderError(`${who}: model.http.auth.secret names the secret "${name}", which was not handed to the daemon: set it with ` +
      `"Face Inversion: Set Encoder Secret…" and start the audit from the editor, or (command line) set ${secretEnvName(name)}`, 'config');
  }
  return { [a.header ?? 'Authorization']: `${a.prefix ?? ''}${v}` };
}

/** Environment variable the command line reads a named secret from (protocol/env.ts names it). */
export function secretEnvName(name: string): string {
  return secretVariable(name);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class HttpEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  readonly inputSize: number;
  readonly stats: HttpStats = { requests: 0, retries: 0, imagesAnswered: 0, failures: 0, serviceFailures: 0, byStatus: {}, maxInFlight: 0 };
  private readonly h: HttpSettings;
  private readonly headers: Record<string, string>;
  private readonly breakAfter: number;
  private readonly cooldownMs: number;
  private inFlight = 0;
  private waiting: (() => void)[] = [];
  private nextStart = 0;
  private failedInRow = 0;
  private downUntil = 0;
  private lastServiceError: HttpEncoderError | undefined;
  private authRefused: HttpEncoderError | undefined;
  private disposed = false;

  private constructor(private readonly config: EncoderConfig, opts: HttpEncoderOptions) {
    if (!('http' in config.model)) throw new Error(`encoder "${config.id}": format "http" needs model.http`);
    this.h = httpSettings(config.model.http);
    this.id = config.id;
    this.dim = config.embeddingDim;
    this.inputSize = config.inputSize;
    this.breakAfter = opts.breakAfter ?? 3;
    this.cooldownMs = opts.cooldownMs ?? 30_000;
    this.headers = { 'content-type': 'application/json', accept: 'application/json', ...this.h.headers, ...resolveCredential(config, this.h, opts) };
  }

  /** Resolves the credential, then sends one grey face to check the service answers `embeddingDim` values. */
  static async load(config: EncoderConfig, opts: HttpEncoderOptions = {}): Promise<HttpEncoder> {
    const enc = new HttpEncoder(config, opts);
    if (opts.noProbe) return enc;
    const s = config.inputSize;
    const grey = tf.fill([1, s, s, 3], 0.5) as tf.Tensor4D;
    try {
      await enc.embedRaw(grey);
    } catch (err) {
      throw new HttpEncoderError(`${(err as Error).message} (while checking the service at load)`, err instanceof HttpEncoderError ? err.kind : 'unavailable', (err as HttpEncoderError).status);
    } finally {
      grey.dispose();
    }
    return enc;
  }

  private who(): string {
    return `encoder "${this.id}" (${this.h.method} ${this.h.url})`;
  }

  /** The last service-level failure while it lasts (cleared by the next success), for callers that pause on it. */
  get serviceProblem(): HttpEncoderError | undefined {
    return this.authRefused ?? this.lastServiceError;
  }

  private async slot(): Promise<void> {
    if (this.inFlight >= this.h.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
    if (this.h.ratePerSecond) {
      const now = Date.now();
      const at = Math.max(now, this.nextStart);
      this.nextStart = at + 1000 / this.h.ratePerSecond;
      if (at > now) await sleep(at - now);
    }
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** One request of `images.length` encoded crops → their raw embeddings, with retries. */
  private async send(images: string[]): Promise<Float32Array[]> {
    const n = images.length;
    const body = JSON.stringify(fillBody(this.h.request.body, images, this.h.batch));
    let last = '';
    for (let attempt = 0; attempt <= this.h.retries; attempt++) {
      if (this.disposed) throw new HttpEncoderError(`${this.who()}: used after dispose()`, 'config');
      if (this.authRefused) { this.stats.serviceFailures++; throw this.authRefused; }
      if (Date.now() < this.downUntil) {
        this.stats.serviceFailures++;
        throw new HttpEncoderError(`${this.who()} is taken as down after ${this.failedInRow} failed requests in a row (last: ${this.lastServiceError?.message ?? last}); ` +
          `it is tried again in ${Math.ceil((this.downUntil - Date.now()) / 1000)} s`, 'unavailable');
      }
      if (attempt > 0) this.stats.retries++;
      let status: number | undefined;
      let text = '';
      let retryAfterMs: number | undefined;
      await this.slot();
      try {
        this.stats.requests++;
        const res = await fetch(this.h.url, { method: this.h.method, headers: this.headers, body, signal: AbortSignal.timeout(this.h.timeoutMs) });
        status = res.status;
        const ra = res.headers.get('retry-after');
        if (ra !== null) {
          const secs = Number(ra);
          retryAfterMs = Number.isFinite(secs) ? secs * 1000 : Math.max(0, Date.parse(ra) - Date.now());
        }
        text = await res.text();
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
        this.bump(timedOut ? 'timeout' : 'network');
        last = timedOut ? `no complete answer within ${this.h.timeoutMs} ms` : `cannot reach it (${e.cause?.code ?? e.message})`;
        status = undefined;
      } finally {
        this.release();
      }
      if (status !== undefined) {
        this.bump(String(status));
        if (status >= 200 && status < 300) {
          const rows = this.parse(text, n);
          this.failedInRow = 0;
          this.lastServiceError = undefined;
          this.stats.imagesAnswered += n;
          return rows;
        }
        const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 160);
        if (status === 401 || status === 403) {
          this.stats.failures++;
          this.stats.serviceFailures++;
          this.authRefused = new HttpEncoderError(`${this.who()}: HTTP ${status}: the service refused the credentials${this.h.auth ? ` from ${this.h.auth.env !== undefined ? `environment variable ${this.h.auth.env}` : `secret "${this.h.auth.secret}"`}` : ' (the config sends none: add model.http.auth)'}${snippet ? ` — ${snippet}` : ''}`, 'auth', status);
          throw this.authRefused;
        }
        if (!RETRYABLE_STATUS.has(status)) {
          this.stats.failures++;
          throw new HttpEncoderError(`${this.who()}: HTTP ${status} for this request${snippet ? ` — ${snippet}` : ''}`, 'refused', status);
        }
        last = `HTTP ${status}${snippet ? ` — ${snippet}` : ''}`;
      }
      if (attempt < this.h.retries) {
        const backoff = Math.min(this.h.maxBackoffMs, this.h.backoffMs * 2 ** attempt);
        const wait = retryAfterMs !== undefined ? Math.min(Math.max(retryAfterMs, 0), 60_000) : backoff * (0.5 + Math.random() * 0.5);
        await sleep(wait);
      }
    }
    this.stats.failures++;
    this.stats.serviceFailures++;
    this.failedInRow++;
    const err = new HttpEncoderError(`${this.who()}: ${last} after ${this.h.retries} ${this.h.retries === 1 ? 'retry' : 'retries'}`, 'unavailable');
    this.lastServiceError = err;
    if (this.failedInRow >= this.breakAfter) this.downUntil = Date.now() + this.cooldownMs;
    throw err;
  }

  private bump(key: string): void {
    this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
  }

  /** The embeddings of a 2xx body; a malformed one is a `bad-response` error saying what was expected. */
  private parse(text: string, n: number): Float32Array[] {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      this.stats.failures++;
      throw new HttpEncoderError(`${this.who()}: the response is not JSON (${(err as Error).message}): ${text.slice(0, 80)}`, 'bad-response');
    }
    const ptr = this.h.response.embedding;
    const found = pointerValues(doc, ptr);
    let rows: unknown[];
    if (found.length === 1 && Array.isArray(found[0]) && (found[0] as unknown[]).every(Array.isArray)) rows = found[0] as unknown[];
    else rows = found;
    const bad = (why: string) => { this.stats.failures++; return new HttpEncoderError(`${this.who()}: ${why}`, 'bad-response'); };
    if (rows.length !== n) throw bad(`the response has ${rows.length} embedding${rows.length === 1 ? '' : 's'} at ${ptr} for ${n} image${n === 1 ? '' : 's'}`);
    return rows.map((r, i) => {
      if (!isVector(r)) throw bad(`embedding ${i} at ${ptr} is not an array of numbers`);
      if (r.length !== this.dim) throw bad(`embedding ${i} at ${ptr} has ${r.length} values, the config's embeddingDim is ${this.dim}`);
      const k = r.findIndex((v) => !Number.isFinite(v));
      if (k >= 0) throw bad(`embedding ${i} value ${k} is not finite`);
      return Float32Array.from(r);
    });
  }

  /** Encodes each crop of the batch as the config asks (base64). */
  private async encode(images: AlignedBatch): Promise<string[]> {
    const n = images.shape[0];
    const S = this.inputSize;
    if (this.h.image.format === 'float32') {
      const x = toModelInput(images, this.config);
      const data = (await x.data()) as Float32Array;
      x.dispose();
      const per = data.length / n;
      return Array.from({ length: n }, (_, i) => Buffer.from(data.buffer, data.byteOffset + i * per * 4, per * 4).toString('base64'));
    }
    const px = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(images, 0, 1), 255)), 'int32'));
    const all = (await px.data()) as Int32Array;
    px.dispose();
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      let crop: Uint8Array = Uint8Array.from(all.subarray(i * S * S * 3, (i + 1) * S * S * 3));
      let side = S;
      if (this.h.image.canvas === 'padded') {
        const c = padToCanvas(crop, S);
        crop = c.data;
        side = c.width;
      }
      const img = sharp(Buffer.from(crop.buffer, crop.byteOffset, crop.length), { raw: { width: side, height: side, channels: 3 } });
      const buf = await (this.h.image.format === 'jpeg' ? img.jpeg({ quality: 95 }) : img.png()).toBuffer();
      out.push(buf.toString('base64'));
    }
    return out;
  }

  async embedRaw(images: AlignedBatch): Promise<Float32Array[]> {
    if (this.disposed) throw new HttpEncoderError(`${this.who()}: used after dispose()`, 'config');
    checkAlignedBatch(images, this.inputSize, this.who());
    const encoded = await this.encode(images);
    const b = this.h.batch;
    const parts: Promise<Float32Array[]>[] = [];
    for (let s = 0; s < encoded.length; s += b) parts.push(this.send(encoded.slice(s, s + b)));
    const settled = await Promise.allSettled(parts);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.flatMap((r) => (r as PromiseFulfilledResult<Float32Array[]>).value);
  }

  async embed(images: AlignedBatch): Promise<Float32Array[]> {
    return (await this.embedRaw(images)).map(l2NormalizeInPlace);
  }

  dispose(): void {
    this.disposed = true;
  }
}
