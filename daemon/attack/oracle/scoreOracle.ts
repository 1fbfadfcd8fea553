/**
 * What a verification system answers, as the attacks see it: `ScoreOracle.scores(subject, probes)` — the
 * similarity of each probe photo (a row of the attacker's photos) to the enrolled subject — from a simulation
 * over the template store (the audit's default: cosine, rounded and noised as the threat model says) or from a
 * live service (daemon/encoders/verifierClient.ts, `faceinv serve-verifier`). A failure that concerns one
 * subject (locked out, unknown id, an answer that is not a score) is a `SubjectOracleError`: that subject is
 * marked and the others go on; anything else stops the attack (the service as a whole is down).
 */
import { SubjectOracleError } from '../../protocol/verifierApi';
import sharp from 'sharp';
import { tf } from '../../tfjs/tf';
import { mulberry32 } from '../../data/split';
import { recoverTemplate, type ProbeDesign } from './scoreRecovery';
import { roundScore } from '../../math/roundScore';

export { SubjectOracleError };

export interface ScoreOracle {
  /** Scores of the probes (rows of the attacker's photos) against the enrolled `subject`, in order. */
  scores(subject: string, probes: readonly number[], signal?: AbortSignal): Promise<number[]>;
  /** Queries answered so far (a service's own log is the authority; this is the attacker's count). */
  readonly queries: number;
}

/** Checks an answer: a finite number in [-1, 1] (cosine scores), else a per-subject error. */
export function checkScore(value: unknown, subject: string, what = 'score'): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new SubjectOracleError('bad-score', subject, `the ${what} ${JSON.stringify(value)} is not a finite number`);
  if (value < -1 - 1e-6 || value > 1 + 1e-6) throw new SubjectOracleError('bad-score', subject, `the ${what} ${value} is outside [-1, 1] (a cosine score)`);
  return value;
}

/**
 * A simulated verification system over `templates` (id → unit template), answering cosine scores of the
 * attacker's photo embeddings `photos` ([n, dim]), rounded to `decimals` and with Gaussian `noise`.
 */
export function simulatedScoreOracle(templates: ReadonlyMap<string, Float32Array>, photos: Float32Array, dim: number, o: { decimals?: number; noise?: number; seed?: number } = {}): ScoreOracle {
  const rand = mulberry32(o.seed ?? 0);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  let queries = 0;
  return {
    get queries() { return queries; },
    async scores(subject, probes) {
      const t = templates.get(subject);
      if (!t) throw new SubjectOracleError('unknown-subject', subject, 'no such enrolled subject');
      return probes.map((p) => {
        queries++;
        let s = 0;
        for (let a = 0; a < dim; a++) s += photos[p * dim + a] * t[a];
        if (o.noise) s += o.noise * gauss();
        return roundScore(s, o.decimals);
      });
    },
  };
}

export interface Recovered {
  /** The recovered unit template, or null when its subject failed. */
  template: Float32Array | null;
  queries: number;
  /** The answers it was recovered from, in probe order. */
  scores: number[];
  error?: string;
}

/**
 * Recovers each subject's template from `design.indices.length` probe scores; a subject's own failure marks it
 * only (a lock-out mid-way still recovers from the answers before it).
 */
export async function recoverFromScores(design: ProbeDesign, oracle: ScoreOracle, subjects: readonly string[], signal?: AbortSignal): Promise<Recovered[]> {
  const out: Recovered[] = [];
  for (const subject of subjects) {
    if (signal?.aborted) break;
    try {
      const scores = await oracle.scores(subject, design.indices, signal);
      if (scores.length !== design.indices.length) throw new SubjectOracleError('bad-score', subject, `${scores.length} scores for ${design.indices.length} probes`);
      scores.forEach((s) => checkScore(s, subject));
      out.push({ template: recoverTemplate(design, scores), queries: scores.length, scores });
    } catch (err) {
      if (!(err instanceof SubjectOracleError)) throw err;
      // Locked out mid-way: the answers it got still count (the subject is marked either way).
      const got = err.code === 'locked-out' ? err.partial : [];
      out.push({ template: got.length ? recoverTemplate(design, got, got.length) : null, queries: got.length, scores: got, error: err.message });
    }
  }
  return out;
}

/** What a live service's client offers (daemon/encoders/verifierClient.ts). */
export interface ScoreClient { score(subject: string, image: string): Promise<number> }

/**
 * A live verification service as a score oracle: each probe goes as its aligned crop (`crops` [n, size, size, 3]
 * uint8, the attacker's photos in the encoder's frame), PNG-encoded once and reused for every subject.
 */
export function serviceScoreOracle(client: ScoreClient, crops: Uint8Array, size: number): ScoreOracle {
  const encode = cropPngs(crops, size);
  let queries = 0;
  return {
    get queries() { return queries; },
    async scores(subject, probes, signal) {
      const out: number[] = [];
      for (const p of probes) {
        if (signal?.aborted) throw new Error('cancelled');
        queries++;
        try {
          out.push(checkScore(await client.score(subject, await encode(p)), subject));
        } catch (err) {
          if (err instanceof SubjectOracleError) err.partial = out;
          throw err;
        }
      }
      return out;
    },
  };
}

/** Base64 PNG of crop `p` of `crops` ([n, size, size, 3] uint8), encoded once and reused for every subject. */
export function cropPngs(crops: Uint8Array, size: number): (p: number) => Promise<string> {
  const png = new Map<number, Promise<string>>();
  const S3 = size * size * 3;
  return (p) => {
    let v = png.get(p);
    if (!v) {
      v = pngBase64(crops.subarray(p * S3, (p + 1) * S3), size);
      png.set(p, v);
    }
    return v;
  };
}

export const pngBase64 = async (pixels: Uint8Array, size: number): Promise<string> =>
  (await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer()).toString('base64');

/** Rendered faces ([n, S, S, 3] in [0, 1]) made 8-bit, each a base64 PNG as a live service takes it. */
export async function renderedPngs(images: tf.Tensor4D): Promise<string[]> {
  const [n, size] = images.shape;
  const t = tf.tidy(() => tf.round(tf.mul(images, 255)));
  const px = Uint8Array.from(await t.data());
  t.dispose();
  const S3 = size * size * 3;
  return Promise.all(Array.from({ length: n }, (_, i) => pngBase64(px.subarray(i * S3, (i + 1) * S3), size)));
}

/**
 * A live service's answers to the score search's rendered faces ([n, S, S, 3] in [0, 1], made 8-bit and sent as
 * PNG) for the targets' subjects: a score each, or the subject's own error (which ends that target only).
 */
export function serviceSearchAnswers(client: ScoreClient, subjects: readonly string[]): (images: tf.Tensor4D, targets: readonly number[]) => Promise<(number | Error)[]> {
  return async (images, targets) => {
    const pngs = await renderedPngs(images);
    return Promise.all(targets.map(async (target, i) => {
      try {
        return checkScore(await client.score(subjects[target], pngs[i]), subjects[target]);
      } catch (e) {
        if (e instanceof SubjectOracleError) return e;
        throw e;
      }
    }));
  };
}
