import * as assert from 'node:assert/strict';
import { checkJsonShape } from '../../../daemon/security/jsonGuard';

describe('security: JSON shape guard', () => {
  it('accepts ordinary messages', () => {
    assert.equal(checkJsonShape({ type: 'request', id: 1, method: 'daemon/status', params: { a: [1, 2, { b: 'c' }] } }), undefined);
  });

  it('refuses deep nesting without recursion (100k-deep array)', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    assert.match(checkJsonShape(deep) ?? '', /nesting deeper than 64/);
    let ok: unknown = 1;
    for (let i = 0; i < 64; i++) ok = [ok]; // 64 nested arrays
    assert.equal(checkJsonShape(ok), undefined, '64 levels are fine');
    assert.match(checkJsonShape([ok]) ?? '', /deeper/);
  });

  it('refuses __proto__, constructor and prototype keys at any depth', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const msg = JSON.parse(`{"params":{"a":[{"${key}":{"polluted":true}}]}}`);
      assert.match(checkJsonShape(msg) ?? '', new RegExp(`forbidden key "${key}" at /params/a/0`));
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses more values than the limit', () => {
    assert.match(checkJsonShape(new Array(101).fill(0), { maxDepth: 64, maxNodes: 100 }) ?? '', /more than 100 values/);
  });
});
