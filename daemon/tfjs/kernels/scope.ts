/**
 * Calling existing wasm kernels from inside our own wasm kernels.
 *
 * A kernel function receives `TensorInfo`s (no engine tensors), so the building blocks are the wasm
 * backend's own kernel functions (looked up in tfjs's kernel registry), run directly against the backend.
 * Every intermediate they return is tracked here and released with `backend.disposeData` (the wasm backend
 * reference-counts data ids: Reshape/Identity share their input's buffer and bump its count).
 */
import { tf } from '../tf';

export type TensorInfo = tf.TensorInfo;
export type NamedAttrs = Record<string, unknown>;

/**
 * When set (bench --profile), milliseconds spent in each inner kernel, keyed `Owner/Kernel`: tf.profile
 * sees our kernels only as a whole.
 */
export let kernelTimes: Map<string, number> | null = null;
export function collectInnerKernelTimes(on: boolean): Map<string, number> | null {
  kernelTimes = on ? new Map() : null;
  return kernelTimes;
}

export class KernelScope {
  private temps: TensorInfo[] = [];

  constructor(readonly backend: tf.KernelBackend, private readonly owner: string) {}

  /** Runs the registered wasm kernel `name`; the result is an intermediate unless passed to `keep`. */
  run(name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: NamedAttrs = {}): TensorInfo {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`${this.owner}: needs the wasm kernel '${name}', which is not registered`);
    const t0 = kernelTimes ? performance.now() : 0;
    const out = k.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs: attrs as tf.NamedAttrMap });
    if (kernelTimes) kernelTimes.set(`${this.owner}/${name}`, (kernelTimes.get(`${this.owner}/${name}`) ?? 0) + performance.now() - t0);
    if (Array.isArray(out)) throw new Error(`${this.owner}: kernel '${name}' returned several outputs`);
    this.temps.push(out);
    return out;
  }

  /** Registers a result produced outside `run` (e.g. a wrapped stock kernel) as an intermediate. */
  track(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Slice `x` from `begin` with `size` (-1 = to the end), skipped when it is the whole tensor. */
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    const whole = begin.every((b, i) => b === 0 && (size[i] === -1 || size[i] === x.shape[i]));
    if (whole) return x;
    return this.run('Slice', { x }, { begin, size });
  }

  /** Zero padding, `paddings` = [[before, after], …] per axis (all ≥ 0), skipped when all zero. */
  pad(x: TensorInfo, paddings: Array<[number, number]>): TensorInfo {
    if (paddings.every(([a, b]) => a === 0 && b === 0)) return x;
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }

  /** Takes `t` out of the intermediates (it becomes the kernel's output). */
  keep(t: TensorInfo): TensorInfo {
    const i = this.temps.lastIndexOf(t);
    if (i >= 0) this.temps.splice(i, 1);
    else {
      // An input or a shared buffer: the output must hold its own reference.
      (this.backend as unknown as { incRef(d: object): void }).incRef(t.dataId);
    }
    return t;
  }

  dispose(): void {
    for (const t of this.temps) this.backend.disposeData(t.dataId);
    this.temps = [];
  }
}

/** Runs `body` with a scope whose intermediates are released afterwards, even on error. */
export function withScope(backend: tf.KernelBackend, owner: string, body: (s: KernelScope) => TensorInfo): TensorInfo {
  const s = new KernelScope(backend, owner);
  try {
    return s.keep(body(s));
  } finally {
    s.dispose();
  }
}
