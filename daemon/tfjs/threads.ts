/**
 * Thread counts for the compute engines (TF.js wasm, ONNX Runtime): the machine's cores, and requests clamped
 * to them. Shared by the encoders (ONNX sessions), the ONNX Runtime engine and the CLI's `--threads`.
 */
import * as os from 'node:os';

export function machineCores(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

/**
 * `requested` threads, at most the machine's cores: more threads than cores only time-slice one another (and
 * every other process) and make each op's barrier wait for a descheduled thread. A request above the cores
 * is clamped with a warning naming `what` (e.g. "--threads"); a request that is not an integer ≥ 1 throws.
 */
export function clampThreads(requested: number, what: string, warn: (msg: string) => void): number {
  if (!(Number.isInteger(requested) && requested >= 1)) throw new Error(`${what}: expected an integer ≥ 1, got ${requested}`);
  const cores = machineCores();
  if (requested <= cores) return requested;
  warn(`${what} ${requested} is above this machine's ${cores} cores: using ${cores}`);
  return cores;
}
