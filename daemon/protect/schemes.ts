/** A scheme config (daemon/protocol/protectConfig.ts) → its scheme for `dim`-d embeddings. */
import type { SchemeConfig } from '../protocol/protectConfig';
import { BioHash } from './biohash';
import { IomGrp } from './iomGrp';
import { IomUrp } from './iomUrp';
import { MlpHash } from './mlpHash';
import { PolyProtect } from './polyprotect';
import type { ProtectionScheme } from './types';

export function makeScheme(c: SchemeConfig, dim: number): ProtectionScheme {
  let s: ProtectionScheme<never>;
  switch (c.scheme) {
    case 'biohash': s = new BioHash(dim, { bits: c.bits }) as unknown as ProtectionScheme<never>; break;
    case 'iom-grp': s = new IomGrp(dim, { hashes: c.hashes, projections: c.projections }) as unknown as ProtectionScheme<never>; break;
    case 'iom-urp': s = new IomUrp(dim, { hashes: c.hashes, window: c.window, permutations: c.permutations }) as unknown as ProtectionScheme<never>; break;
    case 'polyprotect': s = new PolyProtect(dim, { order: c.order, overlap: c.overlap, coefficientRange: c.coefficientRange }) as unknown as ProtectionScheme<never>; break;
    case 'mlphash': s = new MlpHash(dim, { hidden: c.hidden, bits: c.bits }) as unknown as ProtectionScheme<never>; break;
  }
  return c.label ? Object.assign(Object.create(Object.getPrototypeOf(s)), s, { label: c.label }) : s;
}
