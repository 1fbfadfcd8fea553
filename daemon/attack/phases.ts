/**
 * The phases of a run job, announced through the job's progress (protocol/budget.ts `JobPhase`), so the
 * dashboard, the status bar and the notifications show the run from its first second ("1/3 setup: embedding
 * the attacker's photos 3,200 / 10,678") and never call a run done while its evaluation still runs.
 */
import { phaseText, type JobPhase } from '../protocol/budget';
import type { ProgressSink } from '../data/progress';
import type { AttackContext } from '../runs/attackContext';

export type RunPhaseId = 'setup' | 'attack' | 'evaluation';

/** The phases of a run: setup, attack, and evaluation unless it is left out. */
export function runPhases(evaluate: boolean): (id: RunPhaseId, label: string) => JobPhase {
  const order: RunPhaseId[] = evaluate ? ['setup', 'attack', 'evaluation'] : ['setup', 'attack'];
  return (id, label) => {
    const index = order.indexOf(id) + 1;
    if (index === 0) throw new Error(`runPhases: no phase "${id}" in ${order.join(', ')}`);
    return { id, label, index, count: order.length };
  };
}

/** Reports the start of a phase (or its count so far) as one progress report of it. */
export function announcePhase(ctx: Pick<AttackContext, 'progress'>, phase: JobPhase): void {
  ctx.progress(phase.done ?? 0, phase.total ?? 0, {}, phaseText(phase), { phase });
}

/** A dataset pass's progress (images embedded, aligned) as reports of `phase`, at most every `everyMs`. */
export function phaseSink(ctx: Pick<AttackContext, 'progress'>, phase: JobPhase, everyMs = 1000): ProgressSink {
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      announcePhase(ctx, { ...phase, done, total });
    },
    finish(done, total) { announcePhase(ctx, { ...phase, done, total }); },
  };
}
