/**
 * Backend selection for the daemon's TensorFlow.js engine.
 *
 * `auto` tries, in order: `@tensorflow/tfjs-node-gpu` (CUDA libtensorflow), `@tensorflow/tfjs-node`
 * (CPU libtensorflow), WebGPU through npm `webgpu` (Dawn) + `@tensorflow/tfjs-backend-webgpu` (only when
 * `navigator.gpu.requestAdapter()` yields an adapter within a timeout), then `wasm` (XNNPACK, SIMD).
 * The pure-JS `cpu` backend is only used when asked for by name (it is ~300× slower; a test reference).
 * Each step reports why it was taken or skipped to `log` (the probe trail: callers show it only when asked,
 * e.g. `--verbose`); `EngineInfo.summary` is the one line that names the engine chosen. `FACEINV_BACKEND` or
 * an explicit option forces a backend.
 *
 * WebGPU is probed in a child process first: Dawn writes its own warnings (with paths of the machine the npm
 * package was built on, e.g. "Couldn't load Vulkan … BackendVk.cpp:368") straight to file descriptor 2, which
 * no in-process JavaScript can silence. The child's stderr is captured and reduced to its message; only when
 * the child found an adapter is Dawn loaded in this process.
 *
 * On `wasm`, the kernels in `./kernels` (missing or slow gradients) are registered, and the wasm binaries
 * are located explicitly in the installed `@tensorflow/tfjs-backend-wasm` package (`setWasmPaths`).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from './tf';
import { registerWasmKernels } from './kernels';
import { enableWasmThreads, finishWasmThreads, unrefWasmWorkers, WasmThreadsResult } from './wasmThreads';
import { envCount, envValue } from '../protocol/env';

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
  /** One line naming the engine chosen, e.g. "wasm (XNNPACK SIMD, 2 threads; auto)". */
  summary: string;
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
  } else if (envValue('FACEINV_BACKEND')) {
    choice = parseBackendChoice(envValue('FACEINV_BACKEND') as string, 'environment variable FACEINV_BACKEND');
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
      const how = choice === 'auto' ? 'auto' : `forced by ${forcedBy}`;
      const reason = `${how}: ${trail.join('; ')}`;
      const summary = `${name} (${attempt.short}; ${how})`;
      return { backend: name, reason, summary, threads: attempt.threads, versions: versions(), simd: attempt.simd };
    }
    note(`${name}: ${attempt.detail}`);
    if (choice !== 'auto') throw new Error(`backend '${name}' (forced by ${forcedBy}) unavailable: ${attempt.detail}`);
  }
  throw new Error(`no TensorFlow.js backend could start: ${trail.join('; ')}`);
}

/** `short`: what the summary line says about a started backend (the trail has `detail`). */
type Attempt = { ok: true; detail: string; short: string; threads: number; simd: boolean } | { ok: false; detail: string };

async function tryBackend(name: BackendName, opts: EngineOptions): Promise<Attempt> {
  switch (name) {
    case 'tensorflow-gpu': return tryNodeBinding('@tensorflow/tfjs-node-gpu');
    case 'tensorflow': return tryNodeBinding('@tensorflow/tfjs-node');
    case 'webgpu': return tryWebgpu(opts.webgpuTimeoutMs ?? 3000);
    case 'wasm': return tryWasm(opts.threads);
    case 'cpu': {
      await tf.setBackend('cpu');
      await tf.ready();
      // Its first tensor would print a "Hi, looks like you are running TensorFlow.js in Node.js…" banner:
      // asked for by name, the user knows; the summary line says what runs.
      const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
      if (cpu) cpu.firstUse = false;
      return { ok: true, detail: 'pure-JS reference backend (asked for by name)', short: 'pure JS, 1 thread', threads: 1, simd: false };
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
  return { ok: true, detail: `${pkg} (libtensorflow)`, short: `libtensorflow via ${pkg}`, threads: 0, simd: false };
}

/**
 * Whether a WebGPU adapter is available (npm `webgpu` + Dawn), asked in a child process so that Dawn's own
 * stderr output is captured instead of reaching the user. For tests, status and `tryWebgpu`:
 * `{ ok: false, detail }` says why not (Dawn's messages included, without its build paths).
 */
export async function probeWebgpu(timeoutMs = 3000): Promise<{ ok: boolean; detail: string }> {
  let entry: string;
  try {
    entry = require.resolve('webgpu');
  } catch {
    return { ok: false, detail: 'npm webgpu (Dawn) is not installed' };
  }
  const r = await runProbeChild(entry, timeoutMs + 2000);
  const said = cleanNativeMessages(r.stderr);
  const dawn = said.length ? ` (Dawn: ${said.join('; ')})` : '';
  if (r.timedOut) return { ok: false, detail: `requestAdapter() gave no answer within ${timeoutMs} ms${dawn}` };
  const answer = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{')).pop();
  let parsed: { adapter?: boolean; error?: string; timeout?: boolean } | undefined;
  try { parsed = answer ? JSON.parse(answer) as typeof parsed : undefined; } catch { parsed = undefined; }
  if (!parsed) return { ok: false, detail: `the WebGPU probe process ended without an answer (${r.code === null ? `signal ${r.signal}` : `exit ${r.code}`})${dawn}` };
  if (parsed.error !== undefined) return { ok: false, detail: `npm webgpu (Dawn) failed to load: ${parsed.error}${dawn}` };
  if (parsed.timeout) return { ok: false, detail: `requestAdapter() gave no answer within ${timeoutMs} ms${dawn}` };
  return parsed.adapter ? { ok: true, detail: `adapter found${dawn}` } : { ok: false, detail: `requestAdapter() returned no adapter (no usable GPU/Vulkan driver)${dawn}` };
}

/** The probe run by `probeWebgpu`'s child: argv[1] = the webgpu entry file, argv[2] = timeout in ms. */
const WEBGPU_PROBE_SCRIPT = `
const url = require('node:url').pathToFileURL(process.argv[1]).href;
const say = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); process.exit(0); };
import(url).then(async (m) => {
  const gpu = m.create([]);
  const timer = setTimeout(() => say({ timeout: true }), Number(process.argv[2]));
  const a = await gpu.requestAdapter().catch(() => null);
  clearTimeout(timer);
  say({ adapter: !!a });
}, (e) => say({ error: String((e && e.message) || e).split('\\n')[0] }));
`;

function runProbeChild(entry: string, killAfterMs: number): Promise<{ stdout: string; stderr: string; code: number | null; signal: string | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    // process.execPath with the same environment: under the editor's runtime ELECTRON_RUN_AS_NODE is inherited.
    const child = spawn(process.execPath, ['-e', WEBGPU_PROBE_SCRIPT, entry, String(Math.max(1, killAfterMs - 2000))], { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { if (stderr.length < 65536) stderr += String(d); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, killAfterMs);
    child.on('error', (err) => { clearTimeout(timer); resolve({ stdout, stderr: `${stderr}${err.message}`, code: null, signal: null, timedOut }); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ stdout, stderr, code, signal, timedOut }); });
  });
}

/**
 * A native library's stderr reduced to its messages: stack-like "at …" lines dropped, "Warning: " prefixes
 * and source locations of the library's build machine (`(/home/runner/…/BackendVk.cpp:368)`) removed,
 * duplicates dropped.
 */
export function cleanNativeMessages(stderr: string): string[] {
  const out: string[] = [];
  for (const raw of stderr.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || /^at\s/.test(line)) continue;
    line = line.replace(/^(warning|error|info):\s*/i, '')
      .replace(/\s*\((?:[A-Za-z]:)?[\\/][^()]*\.(?:c|cc|cpp|cxx|h|hpp|mm?):\d+\)/g, '')
      .replace(/(?:[A-Za-z]:)?[\\/]\S*[\\/]\S+\.(?:c|cc|cpp|cxx|h|hpp|mm?):\d+/g, '')
      .trim();
    if (line && !out.includes(line)) out.push(line);
  }
  return out;
}

/** Dynamic `import()` that TypeScript's CommonJS output leaves alone (npm `webgpu` is an ES module). */
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<Record<string, unknown>>;

interface GpuLike { requestAdapter(): Promise<unknown> }

async function tryWebgpu(timeoutMs: number): Promise<Attempt> {
  // Dawn only comes into this process once a child found an adapter (see the header).
  const probe = await probeWebgpu(timeoutMs);
  if (!probe.ok) return { ok: false, detail: probe.detail };
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
  return { ok: true, detail: 'Dawn adapter found', short: 'Dawn GPU adapter', threads: 0, simd: false };
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
  const envThreads = envCount('FACEINV_THREADS');
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
    return { ok: true, detail: `XNNPACK${simd ? ' SIMD' : ''}, ${actual} thread(s) (${threads.detail})`, short: `XNNPACK${simd ? ' SIMD' : ''}, ${actual} thread${actual === 1 ? '' : 's'}`, threads: actual, simd };
  }
  registerWasmKernels();
  // Started earlier (maybe by an earlier initEngine, or by tf auto-selection): make it the active one.
  if (!(await tf.setBackend('wasm'))) return { ok: false, detail: 'tfjs wasm backend failed to start' };
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
  const n = wasm.getThreadsCount();
  return { ok: true, detail: 'already started', short: `XNNPACK${simd ? ' SIMD' : ''}, ${n} thread${n === 1 ? '' : 's'}`, threads: n, simd };
}
