/**
 * Learning-rate schedules over a training budget (training.lrSchedule): the fraction f ∈ [0, 1] of the
 * governing budget used so far (steps of the planned epochs, or minutes of the time budget, whichever is
 * further along — the same budget that stops the run) sets the step size:
 *   constant  lr
 *   cosine    lr · (m + (1 − m) · ½(1 + cos πf)), m = 0.01 (Loshchilov & Hutter, SGDR, ICLR 2017, one cycle)
 *   step      lr, then lr·0.1 from f = ½, lr·0.01 from f = ¾
 * A run resumed in a new session with a time budget starts a new budget (as its deadline does), so a cosine
 * schedule restarts there: a warm restart in SGDR's sense.
 */
import type { LrSchedule } from '../protocol/runConfig';

export const COSINE_FLOOR = 0.01;

export function scheduledLearningRate(kind: LrSchedule, lr: number, fraction: number): number {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  switch (kind) {
    case 'constant': return lr;
    case 'cosine': return lr * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * f)));
    case 'step': return f < 0.5 ? lr : f < 0.75 ? lr * 0.1 : lr * 0.01;
  }
}
