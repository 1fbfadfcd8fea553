/**
 * `probe`: a small, real compute job (matrix products on the active backend) of a chosen number of steps.
 * Used to check a daemon end to end — queueing, progress streaming, cancellation, memory — without a
 * dataset, and by the soak benchmark.
 */
import { ProbeJob } from '../../protocol/jobKinds';
import { tf } from '../../tfjs/tf';
import { throwIfCancelled, yieldToEventLoop } from '../context';
import { defineJobKind } from '../defineJobKind';

export const probeJob = defineJobKind(ProbeJob, {
  summary: 'Runs N small matrix products on the active backend, reporting each step (daemon self-check).',
  label: (p) => `probe ×${p.steps}`,
  async run(p, ctx) {
    const size = p.size ?? 64;
    let checksum = 0;
    for (let step = 1; step <= p.steps; step++) {
      throwIfCancelled(ctx);
      if (p.failAtStep === step) throw new Error(`probe failed on purpose at step ${step}`);
      const value = tf.tidy(() => {
        const a = tf.randomUniform([size, size], -1, 1, 'float32', step);
        return tf.matMul(a, a).mean().dataSync()[0];
      });
      checksum += value;
      ctx.progress(step, p.steps, { value });
      await yieldToEventLoop();
    }
    return { steps: p.steps, checksum };
  },
});
