/**
 * The faces a decision walk held at each query checkpoint (attack/oracle/decisionWalk.ts), scored by the chunk's
 * own scorers (score.ts: the audited encoder against the enrolled template, each transfer encoder against its
 * template; both protocols) and, for type II, by the audited encoder against the subject's other photo where the
 * audit has one — so the report can say what the face found by each budget is worth, not only the final one.
 */
import type { FaceGeometry } from '../data/align';
import type { FaceAnalyzer } from '../data/faceAnalysis';
import type { AlignmentSpec } from '../data/templates';
import type { ReferenceEmbeddings } from './reference';
import type { Held } from './reportSchema';
import { scoreChunk, type Scorer } from './score';
import type { TemplateStore } from './templateStore';

/**
 * Row `r`'s other photo, for type II: another usable row of the store under the same id, else a reference photo
 * of that identity (the audited encoder's template of it); null when the audit has neither.
 */
export function otherPhotoOf(store: TemplateStore, ref: ReferenceEmbeddings, r: number): Float32Array | null {
  const id = store.ids[r];
  for (let o = 0; o < store.rows; o++) {
    if (o === r || store.ids[o] !== id || (store.flags[o] && !store.flags[o]?.usable)) continue;
    return store.vectors.subarray(o * store.dim, (o + 1) * store.dim);
  }
  const k = ref.identities.indexOf(id);
  return k >= 0 ? ref.embeddings.subarray(k * ref.dim, (k + 1) * ref.dim) : null;
}

/** `held[i]` (faces of template i, uint8 in `frame`) scored: `scorers` as the chunk's (0 = the audited encoder), `typeII[i]` the other photo or null. */
export async function scoreHeld(held: readonly { queries: number; face: Uint8Array }[][], scorers: readonly Scorer[], typeII: readonly (Float32Array | null)[],
  frame: AlignmentSpec, analyzer: FaceAnalyzer, meanGeometry: FaceGeometry | null): Promise<{ held: Held[][]; queries: number }> {
  const owner = held.flatMap((h, i) => h.map(() => i));
  const faces = held.flatMap((h) => h.map((x) => x.face));
  if (!faces.length) return { held: held.map(() => []), queries: 0 };
  const per = (targets: readonly (Float32Array | null)[]) => owner.map((i) => targets[i]);
  const all: Scorer[] = [...scorers.map((s) => ({ ...s, targets: per(s.targets) })), { ...scorers[0], targets: per(typeII) }];
  const s = await scoreChunk(faces, [], owner.map(() => -1), frame, all, analyzer, meanGeometry);
  const out: Held[][] = held.map(() => []);
  faces.forEach((_, f) => {
    const i = owner[f];
    const second = s.attack[all.length - 1][f];
    out[i].push({
      queries: held[i][out[i].length].queries, attack: s.attack[0][f]!,
      ...(second ? { typeII: second } : {}), ...(scorers.length > 1 ? { transfer: scorers.slice(1).map((_, t) => s.attack[t + 1][f]) } : {}),
    });
  });
  return { held: out, queries: s.queries };
}
