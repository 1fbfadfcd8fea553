/**
 * The faces the attack held at each query checkpoint — a decision walk's (attack/oracle/decisionWalk.ts), the
 * score search's best latent at each checkpoint (`HeldLatents`, rendered at the end), or the encoder-copy least
 * squares' template recovered by each checkpoint, inverted (`invertHeldTemplates`) — scored by the chunk's
 * own scorers (score.ts: the audited encoder against the enrolled template, each transfer encoder against its
 * template; both protocols) and, for type II, by the audited encoder against the subject's other photo where the
 * audit has one — so the report can say what the face found by each budget is worth, not only the final one.
 */
import { renderFaces } from '../attack/inversion';
import type { FaceModel } from '../attack/faceModel/types';
import type { HeldTemplate } from '../attack/oracle/scoreRecovery';
import type { FaceGeometry } from '../data/align';
import type { FaceAnalyzer } from '../data/faceAnalysis';
import type { AlignmentSpec } from '../data/templates';
import type { ReferenceEmbeddings } from './reference';
import type { Held } from './reportSchema';
import { scoreChunk, type Scorer } from './score';
import type { TemplateStore } from './templateStore';

/** A face held at a checkpoint: `queries` is the checkpoint (total oracle queries per subject). */
export interface HeldFace { queries: number; face: Uint8Array }

/**
 * score-search: each subject's best latent at each checkpoint of the curve, kept as the query search reports its
 * steps. A checkpoint is taken at the end of the step at which the subject's total spend (its probes included, as in
 * the curve) first reaches or passes it; checkpoints below the probes hold nothing (the start needs every probe's
 * answer), one equal to them holds the start; checkpoints past what the subject spent (its budget, or an error that
 * stopped it) hold its final face, found before the error.
 */
export class HeldLatents {
  private readonly marks: number[][];
  private readonly kept: Float32Array[][];

  /** `probes[i]`: subject i's queries before the search; `start`: [n, latentDim] the search's start. */
  constructor(checkpoints: readonly number[], private readonly probes: readonly number[], start: Float32Array, private readonly latentDim: number) {
    this.marks = probes.map((p) => checkpoints.filter((c) => c >= p));
    this.kept = probes.map((p, i) => (this.marks[i][0] === p ? [this.row(start, i)] : []));
  }

  /** After a search step: `best` the bests' latents [n, latentDim], `used` each subject's search queries so far. */
  step(best: Float32Array, used: ArrayLike<number>): void {
    this.marks.forEach((m, i) => {
      const spent = this.probes[i] + used[i];
      while (this.kept[i].length < m.length && m[this.kept[i].length] <= spent) this.kept[i].push(this.row(best, i));
    });
  }

  /** The faces held per subject, rendered by `model` (`final`: the search's last bests, for checkpoints past its end). */
  async faces(model: FaceModel, final: Float32Array): Promise<HeldFace[][]> {
    this.marks.forEach((m, i) => { while (this.kept[i].length < m.length) this.kept[i].push(this.row(final, i)); });
    const all = this.kept.flat();
    if (!all.length) return this.marks.map(() => []);
    const latents = new Float32Array(all.length * this.latentDim);
    all.forEach((z, k) => latents.set(z, k * this.latentDim));
    const pixels = await renderFaces(model, latents, all.length);
    const S3 = model.frame.size ** 2 * 3;
    let k = 0;
    return this.marks.map((m) => m.map((q) => ({ queries: q, face: pixels.slice(S3 * k, S3 * ++k) })));
  }

  private row(latents: Float32Array, i: number): Float32Array { return latents.slice(i * this.latentDim, (i + 1) * this.latentDim); }
}

/**
 * score-least-squares: the template each subject held at each checkpoint (`held[i]`, attack/oracle/scoreRecovery.ts
 * `recoveredAt`), inverted the way its final template was (`invert`: templates → latents [n, latentDim]) and
 * rendered by `model`. A checkpoint that had every answer of its subject holds the final template: its final
 * latent (`final` [subjects, latentDim]) is reused, not inverted again, so only budgets below a subject's answers
 * cost an inversion each.
 */
export async function invertHeldTemplates(held: readonly HeldTemplate[][], final: Float32Array, model: FaceModel,
  invert: (targets: Float32Array[]) => Promise<Float32Array>): Promise<HeldFace[][]> {
  const d = model.latentDim;
  const todo: Float32Array[] = [];
  // Per held template: the row of `todo` it is inverted as, or -1 for the final template.
  const slots = held.map((h) => h.map((x) => (x.answers < h[h.length - 1].answers ? todo.push(x.template) - 1 : -1)));
  const inverted = todo.length ? await invert(todo) : new Float32Array(0);
  const count = slots.reduce((a, s) => a + s.length, 0);
  if (!count) return held.map(() => []);
  const latents = new Float32Array(count * d);
  let k = 0;
  slots.forEach((s, i) => s.forEach((slot) => {
    latents.set(slot < 0 ? final.subarray(i * d, (i + 1) * d) : inverted.subarray(slot * d, (slot + 1) * d), k++ * d);
  }));
  const pixels = await renderFaces(model, latents, count);
  const S3 = model.frame.size ** 2 * 3;
  k = 0;
  return held.map((h) => h.map((x) => ({ queries: x.queries, face: pixels.slice(S3 * k, S3 * ++k) })));
}

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
export async function scoreHeld(held: readonly HeldFace[][], scorers: readonly Scorer[], typeII: readonly (Float32Array | null)[],
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
