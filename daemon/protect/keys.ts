/**
 * Keys of the protection schemes: each subject's key comes from a 32-bit seed, derived from the system's
 * master seed, the subject id and the key's generation (0 = first enrolment, 1 = after one renewal), so a
 * key can be renewed without touching anyone else's. The random streams use the project's seeded PRNG
 * (mulberry32, daemon/data/split.ts); normal deviates by Box–Muller.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../data/split';

/** The seed of `subject`'s key of `generation` under master seed `master`. */
export function subjectSeed(master: number, subject: string, generation = 0): number {
  return createHash('sha1').update(`${master >>> 0}\u0000${subject}\u0000${generation}`).digest().readUInt32LE(0);
}

/** A seeded stream of uniform [0, 1) and standard normal numbers. */
export class KeyStream {
  readonly uniform: () => number;
  private spare: number | null = null;
  constructor(seed: number) {
    this.uniform = mulberry32(seed);
  }
  normal(): number {
    if (this.spare !== null) { const s = this.spare; this.spare = null; return s; }
    let u = this.uniform();
    while (u <= 1e-12) u = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u)), a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
  /** A uniformly random permutation of 0..n−1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
  }
  /** [n] normal deviates. */
  normals(n: number, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal() * scale;
    return out;
  }
}
