/**
 * The protection schemes (daemon/protect/*.ts) on small cases with known answers: determinism per key,
 * unrelated keys give unrelated templates, the comparators' ranges, the stolen-key inversions recovering
 * what they should, and clear errors for bad keys, templates and parameters.
 */
import * as assert from 'node:assert/strict';
import { BioHash } from '../../../daemon/protect/biohash';
import { IomGrp } from '../../../daemon/protect/iomGrp';
import { IomUrp } from '../../../daemon/protect/iomUrp';
import { subjectSeed, KeyStream } from '../../../daemon/protect/keys';
import { MlpHash } from '../../../daemon/protect/mlpHash';
import { minimiseOnSphere } from '../../../daemon/protect/optimise';
import { PolyProtect } from '../../../daemon/protect/polyprotect';
import { makeScheme } from '../../../daemon/protect/schemes';
import { ProtectionInputError, type ProtectionScheme } from '../../../daemon/protect/types';

function unit(d: number, seed: number): Float32Array {
  const v = new KeyStream(seed).normals(d);
  let n = 0;
  for (const x of v) n += x * x;
  return v.map((x) => x / Math.sqrt(n));
}
function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}
/** e plus a little noise, renormalised (a second photo of the same person). */
function near(e: Float32Array, noise: number, seed: number): Float32Array {
  const n = new KeyStream(seed).normals(e.length, noise / Math.sqrt(e.length));
  const v = e.map((x, i) => x + n[i]);
  let s = 0;
  for (const x of v) s += x * x;
  return v.map((x) => x / Math.sqrt(s));
}

const D = 64;
const SCHEMES: ProtectionScheme<unknown>[] = [
  new BioHash(D, { bits: 48 }) as ProtectionScheme<unknown>,
  new IomGrp(D, { hashes: 64, projections: 8 }) as ProtectionScheme<unknown>,
  new IomUrp(D, { hashes: 64, window: 8, permutations: 2 }) as ProtectionScheme<unknown>,
  new PolyProtect(D, { order: 5, overlap: 3, coefficientRange: 50 }) as ProtectionScheme<unknown>,
  new MlpHash(D, { hidden: [96], bits: 64 }) as ProtectionScheme<unknown>,
];

describe('protect: schemes', function () {
  this.timeout(60_000);

  for (const s of SCHEMES) {
    it(`${s.label}: same embedding + same key → identical template; compare = 1 with itself, lower across keys and people`, () => {
      const e = unit(D, 1), other = unit(D, 2);
      const k1 = s.keyFromSeed(11), k1b = s.keyFromSeed(11), k2 = s.keyFromSeed(12);
      const t = s.enrol(e, k1);
      assert.deepEqual(s.enrol(e, k1b), t);
      assert.equal(s.compare(t, t), 1);
      assert.equal(s.output, t.kind);
      const sameKeyOther = s.compare(t, s.enrol(other, k1));
      const samePersonOtherKey = s.compare(t, s.enrol(e, k2));
      const genuine = s.compare(t, s.enrol(near(e, 0.3, 5), k1));
      assert.ok(genuine > sameKeyOther, `genuine ${genuine} vs impostor ${sameKeyOther}`);
      assert.ok(samePersonOtherKey < genuine, `other key ${samePersonOtherKey} vs genuine ${genuine}`);
      assert.equal(s.features(t).length, s.featureDim);
    });
  }

  it('BioHashing: the key matrix has orthonormal rows', () => {
    const b = new BioHash(16, { bits: 10 });
    const W = b.keyFromSeed(3).matrix;
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) {
      let s = 0;
      for (let k = 0; k < 16; k++) s += W[i * 16 + k] * W[j * 16 + k];
      assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-5, `W Wᵀ[${i},${j}] = ${s}`);
    }
  });

  it('BioHashing stolen-key inversion: reproduces every bit, and with bits = d recovers the embedding direction closely', () => {
    const b = new BioHash(D, { bits: D });
    const e = unit(D, 4), key = b.keyFromSeed(9);
    const t = b.enrol(e, key);
    const { start, loss } = b.attack(t, key, new Float32Array(D));
    const r = minimiseOnSphere(start, loss, 20, 0.01);
    assert.deepEqual(b.enrol(Float32Array.from(r.e), key), t);
    // The signs of all d orthonormal projections pin e to an orthant of the rotated space: cos ≈ √(2/π)·… ≥ 0.7.
    assert.ok(cos(r.e, e) > 0.7, `cos ${cos(r.e, e)}`);
  });

  it('least squares recovers a linearly projected embedding exactly (PolyProtect with order 1: P(e) = c·e)', () => {
    const p = new PolyProtect(D, { order: 1, overlap: 0, coefficientRange: 3 });
    const e = unit(D, 6), key = p.keyFromSeed(2);
    const t = p.enrol(e, key);
    const { start, loss } = p.attack(t, key, new Float32Array(D).fill(1 / Math.sqrt(D)));
    const r = minimiseOnSphere(start, loss, 400, 0.05);
    assert.ok(cos(r.e, e) > 0.999, `cos ${cos(r.e, e)}`);
  });

  it('PolyProtect: windows, padding and the polynomial on a hand-made case', () => {
    // d = 7, m = 3, step 2: windows at 0, 2, 4 cover it exactly → 3 values, no padding.
    assert.equal(new PolyProtect(7, { order: 3, overlap: 1, coefficientRange: 5 }).outputDim, 3);
    // d = 8: one zero of padding → windows at 0, 2, 4, 6 → 4 values, the last [7, 8, 0].
    const p = new PolyProtect(8, { order: 3, overlap: 1, coefficientRange: 5 });
    assert.equal(p.outputDim, 4);
    const key = { coefficients: Float32Array.from([2, -1, 3]), exponents: Int32Array.from([1, 2, 3]) };
    const e = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const t = p.enrol(e, key);
    assert.deepEqual(Array.from((t as { values: Float32Array }).values), [2 * 1 - 4 + 3 * 27, 2 * 3 - 16 + 3 * 125, 2 * 5 - 36 + 3 * 343, 2 * 7 - 64]);
  });

  it('IoM-GRP and MLP-Hash stolen-key inversions land much closer to the embedding than a random guess', () => {
    for (const s of [new IomGrp(D, { hashes: 128, projections: 8 }), new MlpHash(D, { hidden: [128], bits: 128 })] as ProtectionScheme<unknown>[]) {
      const e = unit(D, 8), key = s.keyFromSeed(5);
      const t = s.enrol(e, key);
      const { start, loss } = s.attack(t, key, new Float32Array(D));
      const r = minimiseOnSphere(start, loss, 150, 0.05);
      assert.ok(cos(r.e, e) > 0.6, `${s.label}: cos ${cos(r.e, e)}`);
      assert.ok(s.compare(s.enrol(Float32Array.from(r.e), key), t) > 0.8, `${s.label}: recovered template similarity`);
    }
  });

  it('per-subject seeds: deterministic, distinct across subjects and generations', () => {
    assert.equal(subjectSeed(1, 'Ann'), subjectSeed(1, 'Ann'));
    assert.notEqual(subjectSeed(1, 'Ann'), subjectSeed(1, 'Bob'));
    assert.notEqual(subjectSeed(1, 'Ann', 0), subjectSeed(1, 'Ann', 1));
    assert.notEqual(subjectSeed(1, 'Ann'), subjectSeed(2, 'Ann'));
  });

  it('makeScheme builds each configured scheme and keeps a custom label', () => {
    const s = makeScheme({ scheme: 'iom-urp', hashes: 8, window: 4, permutations: 2, keySeed: 1, label: 'URP small' }, 32);
    assert.equal(s.label, 'URP small');
    assert.equal(s.outputDim, 8);
    assert.equal(s.enrol(unit(32, 1), s.keyFromSeed(1)).kind, 'indices');
  });

  describe('bad input', () => {
    const e = unit(D, 1);
    it('a key of the wrong length names the scheme, the key and the expected shape', () => {
      const b = new BioHash(D, { bits: 48 });
      assert.throws(() => b.enrol(e, { matrix: new Float32Array(10) }), (err: Error) => err instanceof ProtectionInputError && /BioHashing key matrix: 10 values, expected 48 bits × 64 dimensions = 3072/.test(err.message));
      const p = new PolyProtect(D, { order: 5, overlap: 3, coefficientRange: 50 });
      assert.throws(() => p.enrol(e, { coefficients: Float32Array.from([1, 2, 3]), exponents: Int32Array.from([1, 2, 3, 4, 5]) }), /PolyProtect key coefficients: 3 values, expected order 5 = 5/);
      assert.throws(() => p.enrol(e, { coefficients: Float32Array.from([1, 2, 3, 4, 5]), exponents: Int32Array.from([1, 1, 3, 4, 5]) }), /PolyProtect key exponents: must be a permutation of 1..5/);
      const g = new IomGrp(D, { hashes: 4, projections: 4 });
      assert.throws(() => g.enrol(e, g.keyFromSeed(1) && { projections: new Float32Array(5) }), /IoM-GRP key projections: 5 values, expected 4 hashes × 4 projections × 64 dimensions/);
      const mh = new MlpHash(D, { hidden: [32], bits: 16 });
      assert.throws(() => mh.enrol(e, { layers: [new Float32Array(32 * 64)] }), /MLP-Hash key: 1 weight matrices, expected 2/);
    });

    it('a template of the wrong kind or dimension names both', () => {
      const b = new BioHash(D, { bits: 48 });
      const key = b.keyFromSeed(1);
      const t = b.enrol(e, key);
      assert.throws(() => b.compare(t, { kind: 'floats', values: new Float32Array(48) }), /BioHashing: the second template holds floats, this scheme compares bits/);
      assert.throws(() => b.compare({ kind: 'bits', bits: new Uint8Array(47) }, t), /BioHashing: the first template has 47 bits, this scheme makes 48/);
      const p = new PolyProtect(D, { order: 5, overlap: 3, coefficientRange: 50 });
      assert.throws(() => p.compare({ kind: 'bits', bits: new Uint8Array(31) }, p.enrol(e, p.keyFromSeed(1))), /PolyProtect: the first template holds bits, this scheme compares floats/);
      const g = new IomGrp(D, { hashes: 4, projections: 4 });
      assert.throws(() => g.compare({ kind: 'indices', values: Int32Array.from([0, 1, 9, 2]), range: 4 }, g.enrol(e, g.keyFromSeed(1))), /IoM-GRP: first template index 2 is 9, outside \[0, 4\)/);
      assert.throws(() => b.enrol(new Float32Array(63), key), /BioHashing: the embedding has 63 values, this scheme was set up for 64-d embeddings/);
    });

    it('degenerate parameters name the parameter and the limit', () => {
      assert.throws(() => new BioHash(512, { bits: 600 }), /BioHashing: 600 bits need 600 orthonormal projections, a 512-d embedding supports at most 512/);
      assert.throws(() => new IomGrp(512, { hashes: 10, projections: 1 }), /IoM-GRP: projections \(q\) must be a whole number ≥ 2/);
      assert.throws(() => new IomUrp(64, { hashes: 10, window: 100, permutations: 2 }), /IoM-URP: a window of 100 elements is longer than the 64-d embedding/);
      assert.throws(() => new PolyProtect(512, { order: 5, overlap: 5, coefficientRange: 50 }), /PolyProtect: overlap must be a whole number in \[0, 4\] for order 5/);
      assert.throws(() => new PolyProtect(512, { order: 5, overlap: 1, coefficientRange: 2 }), /5 distinct non-zero coefficients need a coefficientRange of at least 3/);
      assert.throws(() => new MlpHash(512, { hidden: [128], bits: 256 }), /MLP-Hash: 256 bits from a 128-wide last hidden layer/);
    });
  });
});
