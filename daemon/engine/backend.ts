/**
 * Backend selection for the daemon's TensorFlow.js engine.
 *
 * `auto` tries, in order: `@tensorflow/tfjs-node-gpu` (CUDA libtensorflow), `@tensorflow/tfjs-node`
 * (CPU libtensorflow), WebGPU through npm `webgpu` (Dawn) + `@tensorflow/tfjs-backend-webgpu` (only when
 * `navigator.gpu.requestAdapter()` yields an adapter within a timeout), then `wasm` (XNNPACK, SIMD).
 * The pure-JS `cpu` backend is only used when asked for by name (it is ~300× slower; a test reference).
 * Each step logs why it was taken or skipped. `FACEINV_BACKEND` or an explicit option forces a backend.
 *
 * On `wasm`, the kernels in `./kernels` (missing or slow gradients) are registered, and the wasm binaries
 * are located explicitly in the installed `@tensorflow/tfjs-backend-wasm` package (`setWasmPaths`).
 */
import * as fs from 'fs';
import * as path from 'path';
import { tf } from './tf';
import { registerWasmKernels } from './kernels';
import { enableWasmThreads, finishWasmThreads, unrefWasmWorkers, WasmThreadsResult } from './wasmThreads';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface EngineOptions {
  backend?: BackendChoice;
  /** wasm only: XNNPACK threads (1 = single-threaded build). Default: FACEINV_THREADS or the core count (≤ 8). */
  threads?: number;
  log?: (msg: string) => void;
  /** WebGPU adapter request timeout, ms (default 3000). */
  webgpuTimeoutMs?: number;
}

export interface EngineInfo {
  /** The backend actually running. */
  backend: BackendName;
  /** Why this backend: the selection trail, e.g. "auto: tfjs-node-gpu: not installed; ...; wasm: ok". */
  reason: string;
  /** Compute threads the backend uses (wasm: XNNPACK pool size; others: best knowledge). */
  threads: number;
  versions: Record<string, string>;
  /** wasm SIMD in use (false on other backends). */
  simd: boolean;
}

/** tfjs backend registry name for each of our names. */
const TF_NAME: Record<BackendName, string> = {
  'tensorflow-gpu': 'tensorflow', tensorflow: 'tensorflow', webgpu: 'webgpu', wasm: 'wasm', cpu: 'cpu',
};

let current: EngineInfo | null = null;
let initPromise: Promise<EngineInfo> | null = null;

/** The engine's current info, or null before `initEngine` has finished. */
export function getEngineInfo(): EngineInfo | null {
  return current;
}

function pkgVersion(name: string): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function versions(): Record<string, string> {
  const v: Record<string, string> = { node: process.versions.node, 'tfjs-core': tf.version_core };
  for (const p of ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'webgpu',
    '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    const ver = pkgVersion(p);
    if (ver) v[p.replace('@tensorflow/', '')] = ver;
  }
  return v;
}

/** Parses a backend name from a user (env var, CLI flag); throws listing the valid names. */
export function parseBackendChoice(name: string, where: string): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(name)) return name as BackendChoice;
  throw new Error(`${where}: unknown backend '${name}'; available: ${BACKEND_CHOICES.join(', ')}`);
}

/**
 * Initialises the engine once per process. A second call with the same (or no) forced backend returns
 * the first result; asking for a different backend afterwards switches to it.
 */
export async function initEngine(opts: EngineOptions = {}): Promise<EngineInfo> {
  const log = opts.log ?? (() => undefined);
  let choice: BackendChoice = 'auto';
  let forcedBy = '';
  if (opts.backend !== undefined) {
    choice = parseBackendChoice(opts.backend, 'initEngine option backend');
    forcedBy = 'option';
  } else if (process.env.FACEINV_BACKEND) {
    choice = parseBackendChoice(process.env.FACEINV_BACKEND, 'environment variable FACEINV_BACKEND');
    forcedBy = 'FACEINV_BACKEND';
  }
  if (current && initPromise && (choice === 'auto' || choice === current.backend)) return initPromise;
  if (initPromise) await initPromise.catch(() => undefined);
  initPromise = select(choice, forcedBy, opts, log);
  try {
    current = await initPromise;
  } catch (e) {
    initPromise = null;
    throw e;
  }
  return current;
}

async function select(choice: BackendChoice, forcedBy: string, opts: EngineOptions,
  log: (m: string) => void): Promise<EngineInfo> {
  const trail: string[] = [];
  const note = (m: string): void => { trail.push(m); log(`engine: ${m}`); };
  const order: BackendName[] = choice === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm'] : [choice];
  for (const name of order) {
    const attempt = await tryBackend(name, opts);
    if (attempt.ok) {
      note(`${name}: ${attempt.detail}`);
      const reason = `${choice === 'auto' ? 'auto' : `forced by ${forcedBy}`}: ${trail.join('; ')}`;
      return { backend: name, reason, threads: attempt.threads, versions: versions(), simd: attempt.simd };
    }
    note(`${name}: ${attempt.detail}`);
    if (choice !== 'auto') throw new Error(`backend '${name}' (forced by ${forcedBy}) unavailable: ${attempt.detail}`);
  }
  throw new Error(`no TensorFlow.js backend could start: ${trail.join('; ')}`);
}

type Attempt = { ok: true; detail: string; threads: number; simd: boolean } | { ok: false; detail: string };

async function tryBackend(name: BackendName, opts: EngineOptions): Promise<Attempt> {
  switch (name) {
    case 'tensorflow-gpu': return tryNodeBinding('@tensorflow/tfjs-node-gpu');
    case 'tensorflow': return tryNodeBinding('@tensorflow/tfjs-node');
    case 'webgpu': return tryWebgpu(opts.webgpuTimeoutMs ?? 3000);
    case 'wasm': return tryWasm(opts.threads);
    case 'cpu': {
      await tf.setBackend('cpu');
      await tf.ready();
      return { ok: true, detail: 'pure-JS reference backend (asked for by name)', threads: 1, simd: false };
    }
  }
}

async function tryNodeBinding(pkg: string): Promise<Attempt> {
  try {
    require.resolve(pkg);
  } catch {
    return { ok: false, detail: `${pkg} not installed` };
  }
  try {
    // The binding registers the 'tensorflow' backend on the shared tfjs-core instance.
    require(pkg);
  } catch (e) {
    return { ok: false, detail: `${pkg} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!(await tf.setBackend('tensorflow'))) return { ok: false, detail: `${pkg} loaded but backend 'tensorflow' did not start` };
  await tf.ready();
  return { ok: true, detail: `${pkg} (libtensorflow)`, threads: 0, simd: false };
}

/**
 * Whether a WebGPU adapter is available (npm `webgpu` + Dawn), without switching backends. For tests and
 * status: `{ ok: false, detail }` says why not.
 */
export async function probeWebgpu(timeoutMs = 3000): Promise<{ ok: boolean; detail: string }> {
  try {
    const mod = await importEsm('webgpu') as { create(o: string[]): GpuLike; globals: Record<string, unknown> };
    const gpu = mod.create([]);
    let timer: NodeJS.Timeout | undefined;
    const adapter = await Promise.race([gpu.requestAdapter().catch(() => null),
      new Promise<'timeout'>((res) => { timer = setTimeout(() => res('timeout'), timeoutMs); })]);
    if (timer) clearTimeout(timer);
    if (adapter === 'timeout') return { ok: false, detail: `requestAdapter() gave no answer within ${timeoutMs} ms` };
    return adapter ? { ok: true, detail: 'adapter found' } : { ok: false, detail: 'requestAdapter() returned no adapter' };
  } catch (e) {
    return { ok: false, detail: `npm webgpu (Dawn) failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** Dynamic `import()` that TypeScript's CommonJS output leaves alone (npm `webgpu` is an ES module). */
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<Record<string, unknown>>;

interface GpuLike { requestAdapter(): Promise<unknown> }

async function tryWebgpu(timeoutMs: number): Promise<Attempt> {
  let gpu: GpuLike;
  try {
    const mod = await importEsm('webgpu') as { create(o: string[]): GpuLike; globals: Record<string, unknown> };
    Object.assign(globalThis, mod.globals);
    gpu = mod.create([]);
  } catch (e) {
    return { ok: false, detail: `npm webgpu (Dawn) failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  let timer: NodeJS.Timeout | undefined;
  const adapter = await Promise.race([
    gpu.requestAdapter().catch(() => null),
    new Promise<'timeout'>((res) => { timer = setTimeout(() => res('timeout'), timeoutMs); }),
  ]);
  if (timer) clearTimeout(timer);
  if (adapter === 'timeout') return { ok: false, detail: `requestAdapter() gave no answer within ${timeoutMs} ms` };
  if (!adapter) return { ok: false, detail: 'requestAdapter() returned no adapter (no usable GPU/Vulkan driver)' };
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  try {
    require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    return { ok: false, detail: `@tensorflow/tfjs-backend-webgpu failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  if (!(await tf.setBackend('webgpu'))) return { ok: false, detail: 'adapter found but the tfjs webgpu backend did not start' };
  await tf.ready();
  return { ok: true, detail: 'Dawn adapter found', threads: 0, simd: false };
}

/** The wasm binaries shipped in the installed package, checked to exist. */
export function wasmBinaryPaths(distDir?: string): Record<string, string> {
  const dist = distDir ?? path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const files = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  const map: Record<string, string> = {};
  for (const f of files) {
    const p = path.join(dist, f);
    if (!fs.existsSync(p)) throw new Error(`wasm backend: binary ${p} is missing (reinstall @tensorflow/tfjs-backend-wasm)`);
    map[f] = p;
  }
  return map;
}

async function tryWasm(threadsOpt: number | undefined): Promise<Attempt> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const envThreads = process.env.FACEINV_THREADS ? Number(process.env.FACEINV_THREADS) : undefined;
  if (envThreads !== undefined && !(Number.isInteger(envThreads) && envThreads >= 1)) {
    throw new Error(`environment variable FACEINV_THREADS: expected an integer ≥ 1, got '${process.env.FACEINV_THREADS}'`);
  }
  const wanted = threadsOpt ?? envThreads ?? Math.min(8, require('os').availableParallelism?.() ?? require('os').cpus().length);
  if (!(Number.isInteger(wanted) && wanted >= 1)) throw new Error(`initEngine: threads must be an integer ≥ 1, got ${threadsOpt}`);
  // Not tf.findBackend: it would initialise the backend before the paths and thread count are set.
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  if (!registry.wasm) {
    const paths = wasmBinaryPaths();
    let threads: WasmThreadsResult = { enabled: false, detail: 'single-threaded build (threads = 1)' };
    if (wanted > 1) threads = enableWasmThreads(paths['tfjs-backend-wasm-threaded-simd.wasm'], Math.min(4, wanted));
    wasm.setWasmPaths(paths);
    if (threads.enabled) wasm.setThreadsCount(wanted);
    registerWasmKernels();
    let started: boolean;
    try {
      started = await tf.setBackend('wasm');
      await tf.ready();
    } finally {
      finishWasmThreads();
    }
    if (!started) return { ok: false, detail: 'tfjs wasm backend failed to start' };
    if (threads.enabled) unrefWasmWorkers((tf.backend() as unknown as { wasm: unknown }).wasm);
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    const actual = wasm.getThreadsCount();
    return { ok: true, detail: `XNNPACK${simd ? ' SIMD' : ''}, ${actual} thread(s) (${threads.detail})`, threads: actual, simd };
  }
  registerWasmKernels();
  // Started earlier (maybe by an earlier initEngine, or by tf auto-selection): make it the active one.
  if (!(await tf.setBackend('wasm'))) return { ok: false, detail: 'tfjs wasm backend failed to start' };
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  return { ok: true, detail: 'already started', threads: wasm.getThreadsCount(), simd };
}
