/** Per-kernel time of one call, summed by kernel name (tf.profile), largest first. */
import { tf } from '../tfjs/tf';

export interface KernelTime { kernel: string; ms: number; calls: number }

export async function profileKernels(fn: () => void, top = 15): Promise<KernelTime[]> {
  const info = await tf.profile(() => { fn(); });
  const agg = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const e = agg.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    agg.set(k.name, e);
  }
  return [...agg.values()].sort((a, b) => b.ms - a.ms).slice(0, top);
}
