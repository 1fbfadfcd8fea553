/**
 * The decision search's second phase in an attack run (the audit's): after a subject's first accept
 * (./decisionSearch.ts `firstAccepts`), the boundary walk from the accepted photo (./walkFaces.ts, with the
 * settings chosen on the attacker's own identities, `DEFAULT_WALK`) with the queries the first phase left, and
 * the face the attacker holds at each query checkpoint — counted in the subject's total oracle queries, so the
 * checkpoints are the success curve's. A subject's error during the walk (a lock-out, say) ends its walk only;
 * it keeps its last accepted face.
 */
import type { PcaFaceModel } from '../faceModel/pca';
import { SubjectOracleError } from '../../protocol/verifierApi';
import { DEFAULT_WALK } from './boundaryWalk';
import type { FirstAccept } from './decisionSearch';
import { walkFromPhoto, type AcceptFaces } from './walkFaces';

/** The system's accept / reject of rendered faces for one subject, and how many it answered (a refused query included). */
export interface SubjectAccepts { accepts: AcceptFaces; readonly queries: number }

export interface DecisionWalk {
  model: PcaFaceModel;
  /** The attacker's photos' aligned crops ([n, S, S, 3] uint8, indexed as the submission order), in the model's frame. */
  crops: Uint8Array;
  /** The system's answers for `subject` (a subject's own failure thrown as a SubjectOracleError). */
  accepts(subject: string): SubjectAccepts;
  /** At most this many walk queries per subject (attacker.walkQueries); default: all the first phase left. */
  limit?: number;
  /** Total oracle queries per subject (the first phase's included) at which the face held is kept, ascending. */
  checkpoints: readonly number[];
  seed: number;
}

export interface WalkedSubject {
  /** The face the attacker ends with: the last one the system accepted (uint8 [S, S, 3]). */
  face: Uint8Array;
  /** The face held at each checkpoint from the first accept on (total queries, the first phase's included). */
  held: { queries: number; face: Uint8Array }[];
  /** Walk queries the system answered (a refused one included). */
  queries: number;
  /** The subject's error that ended the walk, if one did. */
  error?: string;
}

/** The walk of one subject after its first accept within `budget` total queries; null when it has no accepted face. */
export async function walkAfterFirstAccept(first: FirstAccept, budget: number, w: DecisionWalk): Promise<WalkedSubject | null> {
  if (first.photo < 0 || first.error) return null;
  const S3 = w.model.frame.size ** 2 * 3;
  if (w.crops.length < (first.photo + 1) * S3) throw new Error(`decision walk: photo ${first.photo} is not among the ${Math.floor(w.crops.length / S3)} crops of the face model's frame`);
  const crop = w.crops.slice(first.photo * S3, (first.photo + 1) * S3);
  const left = Math.max(0, Math.min(w.limit ?? Infinity, budget - first.queries));
  const marks = w.checkpoints.filter((c) => c >= first.queries);
  if (left === 0) return { face: crop, held: marks.map((q) => ({ queries: q, face: crop })), queries: 0 };
  // Walk budgets: each checkpoint's share after the first accept (capped at the walk's), then the whole walk last.
  const budgets = [...marks.map((c) => Math.min(c - first.queries, left)), left];
  const system = w.accepts(first.subject);
  const res = await walkFromPhoto(w.model, crop, system.accepts, { ...DEFAULT_WALK, budgets, seed: subjectSeed(w.seed, first.subject), stopOn: (e) => e instanceof SubjectOracleError });
  return {
    face: res.faces[res.faces.length - 1], held: marks.map((q, k) => ({ queries: q, face: res.faces[k] })), queries: system.queries,
    ...(res.error !== undefined ? { error: res.error } : {}),
  };
}

/** A walk's seed from the run's and the subject's id: a subject walks alike whichever chunk or worker runs it. */
function subjectSeed(seed: number, subject: string): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < subject.length; i++) h = Math.imul(h ^ subject.charCodeAt(i), 16777619);
  return h >>> 0;
}
