/**
 * Multi-threaded XNNPACK for the tfjs wasm backend under Node.
 *
 * tfjs reports `WASM_HAS_MULTITHREAD_SUPPORT = false` under Node (tfjs#3830): its threaded build hands
 * Emscripten's pthread workers a Blob URL for the worker script and a Blob for the main script, and Node's
 * `worker_threads` can load neither. Here the flag is forced on, the worker script from the installed
 * package (`wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`) is written to a real file with its
 * "import the main script from the Blob" step pointed at a real copy of the threaded factory, and
 * `URL.createObjectURL` answers with that file's path while the backend initialises.
 *
 * XNNPACK's pool size is fixed when the module starts (at most 4; see below).
 * Call before `tf.setBackend('wasm')`, and `finishWasmThreads()` after it. Returns whether threads were enabled and why not otherwise.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from './tf';

export interface WasmThreadsResult { enabled: boolean; detail: string }

const BLOB_BRANCH = /if\(typeof e\.data\.urlOrBlob=="string"\)\{importScripts\(e\.data\.urlOrBlob\)\}else\{[^}]*\}/;

let prepared: WasmThreadsResult | null = null;

export function enableWasmThreads(threadedWasmPath: string, threads: number): WasmThreadsResult {
  if (prepared) return prepared;
  const wasmOut = path.join(path.dirname(threadedWasmPath), '..', 'wasm-out');
  const workerSrcPath = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js');
  const factoryPath = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  if (!fs.existsSync(workerSrcPath) || !fs.existsSync(factoryPath)) {
    return { enabled: false, detail: `threaded wasm scripts missing (${workerSrcPath}); single thread` };
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const workerContents = (require(workerSrcPath) as { wasmWorkerContents: string }).wasmWorkerContents;
  const version = (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
  const dir = path.join(os.tmpdir(), `faceinv-wasm-threads-${version}-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(dir, { recursive: true });
  const mainFile = path.join(dir, 'threaded-simd-main.js');
  const workerFile = path.join(dir, 'threaded-simd-worker.js');
  if (!BLOB_BRANCH.test(workerContents)) {
    return { enabled: false, detail: 'unexpected worker script layout in this tfjs-backend-wasm version; single thread' };
  }
  // As tfjs does for its Blob: a literal newline inside the script's strings must stay an escape.
  const patched = workerContents.replace(/\n/g, '\\n').replace(BLOB_BRANCH, `importScripts(${JSON.stringify(mainFile)});`);
  writeIfChanged(mainFile, fs.readFileSync(factoryPath, 'utf8'));
  writeIfChanged(workerFile, patched);

  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  // Emscripten asks for the worker script through locateFile → URL.createObjectURL(Blob); answer with the file.
  const original = URL.createObjectURL;
  URL.createObjectURL = ((obj: Blob) => {
    if (obj && (obj as Blob).type === 'application/javascript') return workerFile;
    return original.call(URL, obj);
  }) as typeof URL.createObjectURL;
  // Thread count: the module's static initialiser sizes XNNPACK's pthreadpool as
  // clamp(emscripten_num_logical_cores() / 2, 1, 4) (it assumes 2 hyper-threads per core) and later
  // `init_with_threads_count` calls do not resize it; under Node that count is os.cpus().length, so for the
  // initialisation os.cpus() reports 2 × the wanted threads.
  // The real module object (a TypeScript `import *` namespace is read-only), as the wasm bundle sees it.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const osModule = require('os') as { cpus: typeof os.cpus };
  const originalCpus = osModule.cpus;
  const fake = originalCpus.call(osModule);
  osModule.cpus = () => Array.from({ length: 2 * threads }, (_, i) => fake[i % fake.length]);
  // Both restored once the backend has started (tf.ready) — see finishWasmThreads.
  restore = () => { URL.createObjectURL = original; osModule.cpus = originalCpus; };
  prepared = { enabled: true, detail: `pthreads via ${workerFile}` };
  return prepared;
}

let restore: (() => void) | null = null;

/** Undoes the URL.createObjectURL / os.cpus redirects (call after the wasm backend is ready). */
export function finishWasmThreads(): void {
  restore?.();
  restore = null;
}

function writeIfChanged(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) return;
  } catch { /* not there yet */ }
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * Lets the process exit while XNNPACK's pthread workers are idle: Emscripten keeps them ref'd, so a CLI or
 * a mocha run would otherwise never end. Compute still waits for them synchronously.
 */
export function unrefWasmWorkers(wasmModule: unknown): number {
  const pt = (wasmModule as { PThread?: { unusedWorkers: Array<{ unref?(): void }>; runningWorkers: Array<{ unref?(): void }> } }).PThread;
  if (!pt) return 0;
  const all = [...pt.unusedWorkers, ...pt.runningWorkers];
  for (const w of all) w.unref?.();
  return all.length;
}
