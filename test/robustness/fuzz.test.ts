/**
 * Protocol fuzz: ≥ 10,000 generated hostile frames (seeded, so a failure replays) against an in-process
 * daemon — random bytes, random text, 100k-deep nesting, huge arrays, NaN/Infinity as tokens and strings,
 * wrong-dimension embeddings, `__proto__`/`constructor` keys, unknown methods, and every real method with
 * garbage params. Afterwards: every frame got exactly one answer, every answer that is due an error has an
 * integer code (the expected one where the case fixes it), `status` still answers, no job was created or
 * changed, no prototype was polluted, and the tensor count is back where it started.
 *
 * Seed: FACEINV_FUZZ_SEED (default 20261127); count: FACEINV_FUZZ_COUNT (default 10000).
 */
import * as assert from 'node:assert/strict';
import { tf } from '../../daemon/tfjs/tf';
import type { JobKind } from '../../daemon/jobs/defineJobKind';
import { DAEMON_REQUESTS } from '../../daemon/protocol/daemon';
import { ErrorCode } from '../../daemon/protocol/message';
import { validate } from '../../daemon/protocol/validate';
import { FORBIDDEN_KEYS } from '../../daemon/security/jsonGuard';
import type { DaemonServer } from '../../daemon/server/server';
import { probeKinds, RawClient, seededRandom, startTestServer } from './harness';

const SEED = Number(process.env.FACEINV_FUZZ_SEED ?? 20261127);
const COUNT = Number(process.env.FACEINV_FUZZ_COUNT ?? 10000);

/** The daemon's real job kinds when they load (so their schemas are fuzzed too), else probe alone. */
function kindsUnderTest(): Map<string, JobKind> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require('../../daemon/jobs/registry') as typeof import('../../daemon/jobs/registry')).jobKindMap();
  } catch (err) {
    console.log(`      (fuzzing the probe kind only: the job kinds do not load: ${(err as Error).message.split('\n')[0]})`);
    return probeKinds();
  }
}

interface Case {
  frame: string | Buffer;
  binary?: boolean;
  /** Id the answer must carry; -1 when the frame's id cannot be read. */
  id: number;
  /** Error codes accepted; 'ok' = a result is acceptable (the params happened to be valid). */
  expect: number[] | 'ok-or-error';
}

const E = ErrorCode;
const METHODS = DAEMON_REQUESTS.map((r) => r.method);

class Gen {
  private nextId = 1;
  constructor(readonly rnd: () => number, readonly kinds: string[]) {}
  int(n: number): number { return Math.floor(this.rnd() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
  id(): number { return this.nextId++; }

  str(): string {
    const pools = ['abc', '\u0000\u0001\u001f', 'ü漢字🙂\u202e', '../../etc/passwd', '"\\\'{}[]', ' \t\n', 'NaN', 'Infinity', '__proto__', 'constructor'];
    let s = '';
    const len = this.int(4) === 0 ? this.int(2000) : this.int(12);
    for (let i = 0; i < len; i++) s += this.pick(pools);
    return s;
  }

  num(): number {
    return this.pick([0, -0, 1, -1, 0.5, 1e308, -1e308, 2 ** 53 + 2, -(2 ** 31), 5e-324, this.rnd() * 1e6, -this.int(100)]);
  }

  /** A random JSON value (never containing forbidden keys unless asked). */
  value(depth = 0): unknown {
    const r = this.int(depth > 4 ? 5 : 8);
    switch (r) {
      case 0: return null;
      case 1: return this.rnd() < 0.5;
      case 2: return this.num();
      case 3: case 4: return this.str();
      case 5: return Array.from({ length: this.int(6) }, () => this.value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) {
          const key = this.pick(['steps', 'size', 'kind', 'jobId', 'params', 'config', 'x', this.str().slice(0, 20) || 'k']);
          if (!FORBIDDEN_KEYS.has(key)) o[key] = this.value(depth + 1); // case 7 covers those keys
        }
        return o;
      }
    }
  }

  envelope(method: string, params: unknown, id: number): string {
    return JSON.stringify({ type: 'request', id, method, ...(params === undefined ? {} : { params }) });
  }

  next(): Case {
    const kind = this.int(14);
    const id = this.id();
    switch (kind) {
      case 0: { // random bytes in a binary frame
        const b = Buffer.alloc(this.int(512));
        for (let i = 0; i < b.length; i++) b[i] = this.int(256);
        return { frame: b, binary: true, id: -1, expect: [E.InvalidRequest] };
      }
      case 1: { // random text: not JSON or not an envelope
        const s = this.str() + this.pick(['{', '[', '}', '"', '', '{"type":"request"']);
        let parsed: unknown;
        try { parsed = JSON.parse(s); } catch { return { frame: s, id: -1, expect: [E.ParseError] }; }
        void parsed;
        return { frame: s, id: -1, expect: [E.InvalidRequest] };
      }
      case 2: { // deep nesting, up to 100k
        const n = this.pick([65, 1000, 10_000, 100_000]);
        const deep = this.rnd() < 0.5 ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
        return this.rnd() < 0.5
          ? { frame: `{"type":"request","id":${id},"method":"${this.pick(METHODS)}","params":${deep}}`, id, expect: [E.InvalidRequest] }
          : { frame: deep, id: -1, expect: [E.InvalidRequest] };
      }
      case 3: { // huge arrays where numbers or strings are expected
        const arr = `[${new Array(this.pick([1000, 10_000, 50_000, 200_000])).fill(this.pick(['0', '1.5', '"x"', 'null'])).join(',')}]`;
        const k = this.pick(this.kinds);
        return { frame: `{"type":"request","id":${id},"method":"daemon/submitJob","params":{"kind":"${k}","params":{"steps":${arr},"config":${arr}}}}`, id, expect: [E.InvalidParams] };
      }
      case 4: { // NaN / Infinity as bare tokens: not JSON
        const tok = this.pick(['NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '01']);
        return { frame: `{"type":"request","id":${id},"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":${tok}}}}`, id: -1, expect: [E.ParseError] };
      }
      case 5: { // NaN / Infinity as strings, and overflowing numbers that parse to Infinity
        const v = this.pick(['"NaN"', '"Infinity"', '"-Infinity"', '1e400', '-1e400', '"1"', '1.5', '-3', '1e-400']);
        // 1e-400 parses to 0, which `steps` (minimum 1) refuses as well.
        return { frame: `{"type":"request","id":${id},"method":"daemon/submitJob","params":{"kind":"probe","params":{"steps":${v}}}}`, id, expect: [E.InvalidParams] };
      }
      case 6: { // wrong-dimension / wrong-type embeddings for every kind
        const dim = this.pick([0, 1, 127, 129, 511, 513, 4096]);
        const emb = Array.from({ length: dim }, () => this.rnd() * 2 - 1);
        const k = this.pick(this.kinds);
        const params = this.rnd() < 0.5 ? { embeddings: [emb], encoder: 'arcface512-faceplugin' } : { embedding: emb, steps: 1 };
        return { frame: this.envelope('daemon/submitJob', { kind: k, params }, id), id, expect: [E.InvalidParams] };
      }
      case 7: { // prototype keys anywhere
        const key = this.pick(['__proto__', 'constructor', 'prototype']);
        const where = this.int(3);
        const inner = `{"${key}":{"polluted":true,"steps":1}}`;
        const frame = where === 0 ? `{"type":"request","id":${id},"method":"daemon/status","${key}":{"x":1}}`
          : where === 1 ? `{"type":"request","id":${id},"method":"daemon/submitJob","params":{"kind":"probe","params":${inner}}}`
            : `{"type":"request","id":${id},"method":"${this.pick(METHODS)}","params":{"a":[1,${inner}]}}`;
        return { frame, id, expect: [E.InvalidRequest] };
      }
      case 8: { // unknown methods
        const m = this.pick(['daemon/nope', 'toString', '__proto__', 'hasOwnProperty', 'daemon/', '', 'daemon/status ', this.str().slice(0, 100)]);
        if (METHODS.includes(m as never)) return this.next();
        return { frame: this.envelope(m, this.value(), id), id, expect: [E.MethodNotFound] };
      }
      case 9: { // broken envelopes
        const variants: [string, number][] = [
          [`{"type":"request","id":"${id}","method":"daemon/status"}`, -1],
          [`{"type":"request","id":${id}.5,"method":"daemon/status"}`, -1],
          [`{"type":"request","id":-${id},"method":"daemon/status"}`, -1],
          [`{"type":"request","id":${id}}`, id],
          [`{"type":"request","id":${id},"method":7}`, id],
          [`{"type":"req","id":${id},"method":"daemon/status"}`, id],
          [`{"type":"request","id":${id},"method":"daemon/status","x":${JSON.stringify(this.value())}}`, id],
          [`{"id":${id},"method":"daemon/status"}`, id],
          [`{"type":"request","id":${id},"method":"${'m'.repeat(200)}"}`, id],
        ];
        const [frame, vid] = this.pick(variants);
        return { frame, id: vid, expect: [E.InvalidRequest] };
      }
      case 10: { // response / notification frames sent to the daemon
        return this.rnd() < 0.5
          ? { frame: `{"type":"response","id":${id},"result":${JSON.stringify(this.value())}}`, id, expect: [E.InvalidRequest] }
          : { frame: `{"type":"notification","method":"daemon/jobProgress","params":${JSON.stringify(this.value())}}`, id: -1, expect: [E.InvalidRequest] };
      }
      default: { // real methods with garbage params
        const type = this.pick(DAEMON_REQUESTS);
        let params = this.rnd() < 0.1 ? undefined : this.value();
        if (type.method === 'daemon/submitJob' && this.rnd() < 0.7) params = { kind: this.pick(this.kinds), params: this.value() };
        const valid = validate(type.params, params === undefined ? {} : params).length === 0;
        if (valid) {
          // Never let the fuzzer stop the daemon or start/cancel real jobs: those must be refused.
          if (type.method === 'daemon/shutdown') return this.next();
          if (type.method === 'daemon/submitJob' || type.method === 'daemon/cancelJob' || type.method === 'daemon/getJob') {
            return { frame: this.envelope(type.method, params, id), id, expect: [E.InvalidParams, E.NotFound, E.PathNotAllowed] };
          }
          return { frame: this.envelope(type.method, params, id), id, expect: 'ok-or-error' };
        }
        return { frame: this.envelope(type.method, params, id), id, expect: [E.InvalidParams] };
      }
    }
  }
}

describe('robustness: protocol fuzz', function () {
  this.timeout(180_000);
  let server: DaemonServer;
  let url: string;
  before(async () => {
    await tf.setBackend('cpu');
    ({ server, url } = await startTestServer({ kinds: kindsUnderTest() }));
  });
  after(async () => server.close());

  it(`answers ${COUNT} hostile frames (seed ${SEED}) with structured errors and changes nothing`, async () => {
    const kinds = [...(server as unknown as { opts: { kinds: Map<string, JobKind> } }).opts.kinds.keys()];
    // One finished job to check against: its state must not change.
    const setup = await RawClient.connect(url);
    const sub = await setup.request(1, 'daemon/submitJob', { kind: 'probe', params: { steps: 2, size: 4 } });
    assert.equal(sub.error, undefined);
    await server.queue.idle();
    const jobsBefore = JSON.stringify(server.queue.list());
    const tensorsBefore = tf.memory().numTensors;
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).join();

    const gen = new Gen(seededRandom(SEED), kinds);
    const cases: Case[] = [];
    for (let i = 0; i < COUNT; i++) cases.push(gen.next());
    const t0 = Date.now();
    const timing = new Map<string, number>();
    const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(url)));
    const perClient: Case[][] = clients.map(() => []);
    cases.forEach((c, i) => perClient[i % clients.length].push(c));
    for (let k = 0; k < clients.length; k++) {
      // Send in batches so the daemon's socket buffers stay bounded.
      for (let i = 0; i < perClient[k].length; i += 200) {
        for (const c of perClient[k].slice(i, i + 200)) clients[k].send(c.frame, c.binary);
        await clients[k].waitFor(() => clients[k].responses().length >= Math.min(i + 200, perClient[k].length), 60_000, `answers ${i}..${i + 200}`);
      }
    }
    const seconds = (Date.now() - t0) / 1000;

    let errors = 0;
    const kindsSeen = new Map<number, number>();
    for (let k = 0; k < clients.length; k++) {
      const answers = clients[k].responses();
      assert.equal(answers.length, perClient[k].length, `client ${k}: one answer per frame`);
      assert.equal(clients[k].closeCode, undefined, `client ${k} connection stays open`);
      // Answers may overtake each other (handlers are async), so match by id; id -1 answers by count.
      const byId = new Map<number, typeof answers[number]>();
      const anonymous = answers.filter((a) => a.id === -1);
      for (const a of answers) if (a.id !== -1) { assert.ok(!byId.has(a.id!), `one answer per id (${a.id})`); byId.set(a.id!, a); }
      assert.equal(anonymous.length, perClient[k].filter((c) => c.id === -1).length, `client ${k}: answers without id`);
      for (const a of anonymous) assert.ok(a.error && [ErrorCode.ParseError, ErrorCode.InvalidRequest].includes(a.error.code as never), JSON.stringify(a).slice(0, 300));
      for (let i = 0; i < perClient[k].length; i++) {
        const c = perClient[k][i];
        if (c.id === -1) continue;
        const a = byId.get(c.id);
        const label = `case ${i} on client ${k}: ${String(c.frame).slice(0, 160)} → ${JSON.stringify(a).slice(0, 300)}`;
        assert.ok(a, `no answer: ${label}`);
        if (a.error) {
          assert.ok(Number.isInteger(a.error.code) && typeof a.error.message === 'string' && a.error.message.length > 0, label);
          assert.notEqual(a.error.code, ErrorCode.InternalError, label);
        }
        if (c.expect !== 'ok-or-error') assert.ok(a.error && c.expect.includes(a.error.code as never), `expected one of ${c.expect}: ${label}`);
      }
      for (const a of answers) {
        if (a.error) {
          errors++;
          kindsSeen.set(a.error.code, (kindsSeen.get(a.error.code) ?? 0) + 1);
        }
      }
    }
    console.log(`      ${COUNT} frames in ${seconds.toFixed(1)} s, ${errors} errors by code: ${JSON.stringify(Object.fromEntries(kindsSeen))}`);

    const status = await setup.request(2, 'daemon/status');
    assert.equal(status.error, undefined, 'status still answers');
    assert.equal(JSON.stringify(server.queue.list()), jobsBefore, 'no job created or changed');
    assert.equal(JSON.stringify((status.result as { jobs: unknown }).jobs), jobsBefore);
    assert.equal(Object.getOwnPropertyNames(Object.prototype).join(), protoBefore, 'Object.prototype untouched');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensor count back at baseline');
    await Promise.all([...clients, setup].map((c) => c.close()));
  });
});
