/**
 * Several white-box searches per target, and the choice among them. Gradient descent through E finds *a*
 * latent the encoder accepts, not necessarily a face the detector finds or another encoder recognises:
 * restarts from perturbed starts give candidates, and the answer is the best-scoring one the face detector
 * still finds (daemon/attack/faceCheck.ts places it exactly as the `redetect` protocol does), so answers stay
 * faces a re-detecting system accepts. (Restarts with a detector-ranked choice: the "candidates
 * selected by the face detector"; cf. Razzhigaev et al. 2020, who keep a critic in the loop.)
 */
import { mulberry32 } from '../../data/split';
import type { EncoderConfig } from '../../protocol/encoderConfig';
import type { WhiteboxConfig } from '../../protocol/runConfig';
import type { FaceModel } from '../faceModel/types';
import { gradientSearch, GradientSearchOptions, GradientSearchResult } from './gradientSearch';

export interface RestartResult extends GradientSearchResult {
  /** Whether each answer is one the face detector finds (true everywhere without a detector). */
  detected: boolean[];
  /** Which restart each answer came from. */
  chosen: number[];
}

function gaussian(seed: number): () => number {
  const rand = mulberry32(seed);
  return () => {
    let u = 0;
    while (u === 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/**
 * Per target, the restart to answer with: the highest cosine among those the detector finds, else the
 * highest cosine overall (non-finite cosines rank last).
 */
export function pickRestarts(runs: readonly { cosine: readonly number[]; found: readonly boolean[] }[], n: number): number[] {
  return Array.from({ length: n }, (_, t) => {
    const score = (r: number) => (Number.isFinite(runs[r].cosine[t]) ? runs[r].cosine[t] : -Infinity);
    const best = (only: (r: number) => boolean) => runs.map((_, r) => r).filter(only).sort((a, b) => score(b) - score(a))[0];
    return best((r) => runs[r].found[t]) ?? best(() => true);
  });
}

export async function whiteboxWithRestarts(model: FaceModel, enc: EncoderConfig, targets: readonly Float32Array[], start: Float32Array, wb: WhiteboxConfig,
  o: GradientSearchOptions & { detect?: (latents: Float32Array, n: number) => Promise<boolean[]> } = {}): Promise<RestartResult> {
  const n = targets.length;
  const k = model.latentDim;
  const R = wb.restarts;
  const randn = gaussian((o.seed ?? 0) ^ 0x7e57);
  const runs: { res: GradientSearchResult; found: boolean[] }[] = [];
  for (let r = 0; r < R; r++) {
    const s = Float32Array.from(start);
    if (r > 0) {
      for (let i = 0; i < s.length; i++) s[i] += wb.restartSigma * model.latentScale * randn();
      model.clampLatents(s);
    }
    const res = await gradientSearch(model, enc, targets, s, wb, {
      ...o,
      onStep: o.onStep ? (b, batches, step) => o.onStep?.(r * batches + b, R * batches, step) : undefined,
    });
    const found = wb.select === 'detected' && o.detect ? await o.detect(res.latents, n) : new Array<boolean>(n).fill(true);
    runs.push({ res, found });
    if (res.aborted) break;
  }
  const latents = new Float32Array(n * k);
  const cosine: number[] = [];
  const diverged: boolean[] = [];
  const detected: boolean[] = [];
  const chosen: number[] = [];
  const picks = pickRestarts(runs.map((x) => ({ cosine: x.res.cosine, found: x.found })), n);
  for (let t = 0; t < n; t++) {
    const r = picks[t];
    latents.set(runs[r].res.latents.subarray(t * k, (t + 1) * k), t * k);
    cosine.push(runs[r].res.cosine[t]);
    diverged.push(runs.every((x) => x.res.diverged[t]));
    detected.push(runs[r].found[t]);
    chosen.push(r);
  }
  return { latents, cosine, diverged, aborted: runs.some((x) => x.res.aborted), engine: runs[0].res.engine, detected, chosen };
}
