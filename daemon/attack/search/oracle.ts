/**
 * The black-box attacker's only access to the encoder: submit face images, read back templates. The oracle
 * renders latents through the face model, sends them to the encoder in large batches (one onnxruntime call
 * answers many candidates of many targets), scores each by cosine to its target, and counts every query
 * against its target's budget — the cost a real attacker pays, shown in the report. A candidate whose
 * template comes back non-finite, or a batch the encoder refuses, fails its target with the reason; the
 * other targets go on.
 */
import { tf } from '../../tfjs/tf';
import type { Encoder } from '../../encoders/types';
import type { FaceModel } from '../faceModel/types';
import { l2NormalizeInPlace } from '../../encoders/preprocess';
import { roundScore } from '../../math/roundScore';

export class QueryBudgetError extends Error {}

/** A remote system's answers for rendered faces [n, S, S, 3] in [0, 1] of the given targets: a score or an error each. */
export type RemoteAnswer = (images: tf.Tensor4D, targets: readonly number[]) => Promise<(number | Error)[]>;

export class QueryOracle {
  /** Queries spent per target. */
  readonly used: Int32Array;
  /** Why a target failed (encoder error, non-finite template), when it did. */
  readonly failure: (string | undefined)[];
  private readonly dim: number;
  private readonly configured: number;
  /** The system rounds each answered score to this many decimals (a score oracle's mitigation), when set. */
  private decimals: number | undefined;
  private remote: RemoteAnswer | undefined;

  constructor(
    private readonly encoder: Encoder,
    private readonly model: FaceModel,
    /** Unit-norm target templates. */
    private readonly targets: readonly Float32Array[],
    /** Queries allowed per target (the configured maximum; a wall-clock budget may lower it while searching). */
    private maxBudget: number,
    private readonly renderChunk = 128,
  ) {
    if (!targets.length) throw new Error('query search: no targets');
    this.configured = maxBudget;
    this.dim = targets[0].length;
    if (encoder.dim !== this.dim) throw new Error(`query search: encoder ${encoder.id} answers ${encoder.dim}-d templates, the targets are ${this.dim}-d`);
    this.used = new Int32Array(targets.length);
    this.failure = targets.map(() => undefined);
  }

  /**
   * Asks a remote system (a verification service) instead of the encoder: `answer` gets the rendered faces and
   * their targets and answers each one's score, or the error that ends that target (a lock-out, an unknown
   * subject, a bad score). The system rounds its own answers; the encoder is then only the input size's source.
   */
  answerBy(answer: RemoteAnswer): void { this.remote = answer; }

  /** Answers scores rounded to `decimals` from now on (undefined: exact), as a rounding score oracle would. */
  roundAnswers(decimals: number | undefined): void {
    if (decimals !== undefined && !(Number.isInteger(decimals) && decimals >= 0 && decimals <= 8)) throw new Error(`score rounding: decimals must be a whole number in 0…8, got ${decimals}`);
    this.decimals = decimals;
  }

  /** Target t's template (unit norm). */
  target(t: number): Float32Array { return this.targets[t]; }

  /** Queries allowed per target now. */
  get budget(): number { return this.maxBudget; }

  /** Lowers (or restores up to the first configured value) the queries allowed per target. */
  setBudget(queries: number): void {
    if (!(Number.isInteger(queries) && queries >= 0)) throw new Error(`query budget must be a whole number ≥ 0, got ${queries}`);
    this.maxBudget = Math.min(queries, this.configured);
  }

  remaining(t: number): number {
    return this.failure[t] ? 0 : Math.max(0, this.maxBudget - this.used[t]);
  }

  /**
   * Cosine to its owner's target for each latent row of `latents` ([m, latentDim]); NaN for rows of a failed
   * target. Throws QueryBudgetError if a target would exceed its budget (a caller bug).
   */
  async score(latents: Float32Array, owners: readonly number[]): Promise<Float32Array> {
    return (await this.answer(latents, owners, false)).cos;
  }

  /**
   * The same queries, and the whole template each answered ([m, dim], unit norm; zeros for a failed row): an
   * embedding oracle answers a template, not one score, and a search that reads all of it learns the encoder's
   * response in every output direction per query (./secant.ts). A score or decision system has no templates.
   */
  async templates(latents: Float32Array, owners: readonly number[]): Promise<{ cos: Float32Array; templates: Float32Array }> {
    this.refuseWithoutTemplates();
    const r = await this.answer(latents, owners, true);
    return { cos: r.cos, templates: r.templates! };
  }

  /**
   * Templates of rendered latents that belong to no target: the attacker's own queries (the secant search's
   * forward model is fitted on them), counted in `setupQueries`, never against a target's budget.
   */
  async setupTemplates(latents: Float32Array): Promise<Float32Array> {
    this.refuseWithoutTemplates();
    const k = this.model.latentDim;
    const m = latents.length / k;
    const out = new Float32Array(m * this.dim);
    for (let s = 0; s < m; s += this.renderChunk) {
      const rows = Math.min(this.renderChunk, m - s);
      const emb = await this.embedLatents(latents.subarray(s * k, (s + rows) * k), rows);
      emb.forEach((e, i) => { out.set(e, (s + i) * this.dim); l2NormalizeInPlace(out.subarray((s + i) * this.dim, (s + i + 1) * this.dim)); });
    }
    this.setupQueries += m;
    return out;
  }

  /** Queries the attacker spent on its own (not per target): the secant search's forward model. */
  setupQueries = 0;

  /** A remote system answers scores: there is no template to read. */
  private refuseWithoutTemplates(): void {
    if (this.remote) throw new Error('query search: the system answers scores, not templates; the secant search needs an embedding oracle');
  }

  private async embedLatents(z: Float32Array, rows: number): Promise<Float32Array[]> {
    const images = this.renderQueries(z, rows);
    try {
      return await this.encoder.embed(images);
    } finally {
      images.dispose();
    }
  }

  /** Latent rows rendered as the encoder's input: [rows, S, S, 3] in [0, 1]. */
  private renderQueries(z: Float32Array, rows: number): tf.Tensor4D {
    const S = this.encoder.inputSize;
    return tf.tidy(() => {
      const x = this.model.render(tf.tensor2d(z, [rows, this.model.latentDim]));
      return (x.shape[1] === S ? x : tf.image.resizeBilinear(x, [S, S], false, true)) as tf.Tensor4D;
    });
  }

  private async answer(latents: Float32Array, owners: readonly number[], keep: boolean): Promise<{ cos: Float32Array; templates?: Float32Array }> {
    const k = this.model.latentDim;
    const m = owners.length;
    if (latents.length !== m * k) throw new Error(`query search: ${latents.length} latent values are not ${m} rows of ${k}`);
    const want = new Map<number, number>();
    for (const o of owners) want.set(o, (want.get(o) ?? 0) + 1);
    for (const [o, c] of want) if (this.used[o] + c > this.budget) throw new QueryBudgetError(`target ${o}: ${this.used[o]} + ${c} queries exceed the budget of ${this.budget}`);
    const out = new Float32Array(m).fill(NaN);
    const kept = keep ? new Float32Array(m * this.dim) : undefined;
    const take = (r: number, e: Float32Array) => {
      out[r] = this.cos(e, owners[r]);
      if (kept) { kept.set(e, r * this.dim); l2NormalizeInPlace(kept.subarray(r * this.dim, (r + 1) * this.dim)); }
    };
    const S = this.encoder.inputSize;
    for (let s = 0; s < m; s += this.renderChunk) {
      const rows = Array.from({ length: Math.min(this.renderChunk, m - s) }, (_, i) => s + i).filter((r) => !this.failure[owners[r]]);
      if (!rows.length) continue;
      const z = new Float32Array(rows.length * k);
      rows.forEach((r, i) => z.set(latents.subarray(r * k, (r + 1) * k), i * k));
      const images = this.renderQueries(z, rows.length);
      if (this.remote) {
        try {
          const ans = await this.remote(images, rows.map((r) => owners[r]));
          rows.forEach((r, i) => { const a = ans[i]; if (typeof a === 'number') out[r] = a; else this.failure[owners[r]] ??= a.message; });
        } finally {
          images.dispose();
        }
        continue;
      }
      let emb: Float32Array[] | null = null;
      try {
        emb = await this.encoder.embed(images);
      } catch (err) {
        // One bad batch must not sink every target in it: retry one candidate at a time.
        emb = null;
        for (const [i, r] of rows.entries()) {
          const one = tf.slice(images, [i, 0, 0, 0], [1, S, S, 3]);
          try {
            take(r, (await this.encoder.embed(one))[0]);
          } catch (e1) {
            this.failure[owners[r]] ??= `encoder ${this.encoder.id} failed: ${(e1 as Error).message}`;
          } finally {
            one.dispose();
          }
        }
        void err;
      } finally {
        images.dispose();
      }
      if (emb) rows.forEach((r, i) => take(r, (emb as Float32Array[])[i]));
    }
    for (const o of owners) this.used[o]++;
    for (let r = 0; r < m; r++) {
      if (!Number.isFinite(out[r]) && !this.failure[owners[r]]) this.failure[owners[r]] = `encoder ${this.encoder.id} returned a non-finite template`;
    }
    return { cos: out, ...(kept ? { templates: kept } : {}) };
  }

  private cos(e: Float32Array, owner: number): number {
    const t = this.targets[owner];
    let s = 0;
    for (let i = 0; i < this.dim; i++) s += e[i] * t[i];
    return roundScore(s, this.decimals);
  }
}

