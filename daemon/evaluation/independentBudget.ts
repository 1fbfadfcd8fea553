/**
 * Whether the `independent` protocol still fits a run's wall-clock budget. It is decided after the other
 * protocols are scored, from what this machine has just shown: the detections the cache lacks are timed on a
 * few of them (protocols.ts independentCost), and scoring the protocol is taken to cost what scoring one of
 * the others did — the same images through the same encoders. A constant reserve did not hold: on a machine
 * 1.4–1.9× slower than the one it was measured on, the run overran its budget by 35 s (docs/search.md).
 */
import type { FaceApiAnalyzer } from '../data/faceApiDetector';
import type { DetectionCache } from './detectionCache';
import { independentCost } from './protocols';

/**
 * Seconds kept for what follows the scoring: the report files and grid.png (≈ 3 s measured on the main job's
 * 300 faces, slower 2-core machine), with room for a slower disk.
 */
export const WRITE_RESERVE_SECONDS = 10;

/**
 * Why `independent` does not fit before `deadline` (Date.now() units), or undefined when it does: its uncached
 * detections plus `scoringSeconds` of scoring plus WRITE_RESERVE_SECONDS. The detections timed to decide are
 * kept in `cache`.
 */
export async function independentOverBudget(analyzer: Pick<FaceApiAnalyzer, 'analyse'>, crops: readonly Uint8Array[], size: number, cache: DetectionCache, deadline: number, scoringSeconds: number): Promise<string | undefined> {
  const cost = await independentCost(analyzer, crops, size, cache, deadline - (scoringSeconds + WRITE_RESERVE_SECONDS) * 1000);
  if (cost.needSeconds <= cost.leftSeconds) return undefined;
  const min = (s: number) => (s / 60).toFixed(1);
  return `the run's time budget: ${cost.uncached} of its ${cost.images} images are not in the detection cache, ≈ ${min(cost.needSeconds)} min ` +
    `at ${cost.secondsPerImage.toFixed(2)} s each on this machine, and scoring them ≈ ${min(scoringSeconds)} min (as the other protocols did), ` +
    `${min(Math.max(0, cost.leftSeconds + scoringSeconds + WRITE_RESERVE_SECONDS))} min of the budget left; "faceinv evaluate RUN_DIR" scores it without a budget, and the detections made so far are kept`;
}
