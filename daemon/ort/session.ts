/**
 * ONNX Runtime sessions for the engine's own graphs: execution provider choice (CUDA where onnxruntime-node
 * was installed with its CUDA binaries, else CPU, with the reason logged), thread count, and the profiler
 * (`enableProfiling`; `readProfile` sums its per-node kernel times by op type).
 *
 * onnxruntime-node 1.30 ships the CPU provider inside the npm package; the CUDA provider
 * (libonnxruntime_providers_cuda.so) is downloaded by its install script from NuGet and is absent when the
 * install ran with ONNXRUNTIME_NODE_INSTALL=skip (see docs/engine.md).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { clampThreads, machineCores } from '../tfjs/threads';
import { envCount, envSwitch, envValue } from '../protocol/env';

export type ProviderChoice = 'auto' | 'cpu' | 'cuda';

export interface SessionSettings {
  /** 'auto' (default): CUDA when its binaries are installed and a session starts on it, else CPU. */
  provider?: ProviderChoice;
  /** Intra-op threads (CPU provider). Default: FACEINV_ORT_THREADS or the core count, at most 8. */
  threads?: number;
  /** ONNX Runtime graph optimisation level (default 'all': includes the NCHWc layout transform on x64). */
  optimization?: 'basic' | 'extended' | 'all';
  /**
   * Whether idle intra-op threads spin between ops (ONNX Runtime's default). Default here: only on a quiet
   * machine (1-minute load average below half the cores; FACEINV_ORT_SPIN=0/1 forces it) — on a machine shared
   * with other work, spinning threads fight the other processes and measured 2.3× slower (W1 step at load 4.5:
   * 1638 ms spinning, 702 ms not).
   */
  spinning?: boolean;
  /** Write an ONNX Runtime profile (JSON) for this session, under `profileDir` (default os.tmpdir()). */
  profile?: boolean;
  profileDir?: string;
  log?: (msg: string) => void;
}

export interface OrtSession {
  session: ort.InferenceSession;
  provider: 'cpu' | 'cuda';
  /** Why this provider (e.g. "cuda: libonnxruntime_providers_cuda.so not installed; cpu"). */
  reason: string;
  threads: number;
  profilePrefix?: string;
}

export { clampThreads, machineCores };

export function defaultThreads(): number {
  const env = envCount('FACEINV_ORT_THREADS');
  if (env !== undefined) return clampThreads(env, 'FACEINV_ORT_THREADS', (m) => console.warn(m));
  return Math.min(8, machineCores());
}

/** Whether onnxruntime-node has its CUDA provider library next to its binding; the reason when not. */
export function cudaAvailability(): { ok: boolean; reason: string } {
  let binDir: string;
  try {
    binDir = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
  } catch (e) {
    return { ok: false, reason: `onnxruntime-node not found (${(e as Error).message.split('\n')[0]})` };
  }
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!fs.existsSync(path.join(binDir, lib))) {
    return { ok: false, reason: `${lib} is not installed (onnxruntime-node was installed without its CUDA binaries; see docs/engine.md)` };
  }
  return { ok: true, reason: `${lib} present` };
}

let cudaFailure: string | null = null;

/** FACEINV_ORT_OPT, checked: a misspelt level is named rather than passed to ONNX Runtime. */
function ortOptimisation(): 'basic' | 'extended' | 'all' | undefined {
  const v = envValue('FACEINV_ORT_OPT');
  if (v === undefined) return undefined;
  if (v === 'basic' || v === 'extended' || v === 'all') return v;
  throw new Error(`environment variable FACEINV_ORT_OPT: expected basic, extended or all, got '${v}'`);
}

/** The spinning default (see SessionSettings.spinning). */
export function defaultSpinning(): boolean {
  const env = envSwitch('FACEINV_ORT_SPIN');
  if (env !== undefined) return env;
  return os.loadavg()[0] < 0.5 * (os.availableParallelism?.() ?? os.cpus().length);
}

function options(provider: 'cpu' | 'cuda', threads: number, s: SessionSettings, prefix?: string): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: s.optimization ?? ortOptimisation() ?? 'all',
    ...(s.profile ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
    ...((s.spinning ?? defaultSpinning()) ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}

/** Creates a session for `model` (serialised ModelProto). `what` names the graph in errors. */
export async function createSession(model: Uint8Array, what: string, s: SessionSettings = {}): Promise<OrtSession> {
  const threads = s.threads ?? defaultThreads();
  const want = s.provider ?? 'auto';
  const prefix = s.profile ? path.join(s.profileDir ?? os.tmpdir(), `faceinv-ort-${process.pid}-${Date.now()}`) : undefined;
  let reason = '';
  if (want !== 'cpu') {
    const cuda = cudaFailure ? { ok: false, reason: cudaFailure } : cudaAvailability();
    if (cuda.ok) {
      try {
        const session = await ort.InferenceSession.create(model, options('cuda', threads, s, prefix));
        return { session, provider: 'cuda', reason: `cuda: ${cuda.reason}`, threads, profilePrefix: prefix };
      } catch (e) {
        cudaFailure = `the CUDA provider did not start (${(e as Error).message.split('\n')[0]})`;
        reason = `cuda: ${cudaFailure}; `;
      }
    } else {
      reason = `cuda: ${cuda.reason}; `;
    }
    if (want === 'cuda') s.log?.(`ONNX Runtime: CUDA requested but unavailable — ${reason}falling back to CPU`);
  }
  try {
    const session = await ort.InferenceSession.create(model, options('cpu', threads, s, prefix));
    return { session, provider: 'cpu', reason: `${reason}cpu (${threads} threads${(s.spinning ?? defaultSpinning()) ? '' : ', no spinning'})`, threads, profilePrefix: prefix };
  } catch (e) {
    throw new Error(`ONNX Runtime could not load ${what}: ${(e as Error).message.split('\n')[0]}`);
  }
}

export interface OpTime { op: string; ms: number; nodes: number }

/**
 * Ends profiling of `s` and returns kernel time per op type per run (ms), largest first, plus the busiest
 * nodes. `runs` is how many `session.run` calls the profile covers. The profile file is deleted.
 */
export function readProfile(s: OrtSession, runs: number): { byOp: OpTime[]; byNode: Array<{ node: string; op: string; shape: string; ms: number }>; totalMs: number } {
  const file = s.session.endProfiling?.() as unknown as string | undefined;
  const dir = path.dirname(s.profilePrefix ?? path.join(os.tmpdir(), 'x'));
  const base = path.basename(s.profilePrefix ?? '');
  const candidates = typeof file === 'string' && fs.existsSync(file) ? [file]
    : fs.readdirSync(dir).filter((f) => base && f.startsWith(base)).map((f) => path.join(dir, f));
  if (!candidates.length) throw new Error('ONNX Runtime wrote no profile file');
  const events = JSON.parse(fs.readFileSync(candidates[0], 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string; output_type_shape?: unknown[] } }>;
  for (const f of candidates) fs.rmSync(f, { force: true });
  const byOp = new Map<string, OpTime>();
  const byNode = new Map<string, { node: string; op: string; shape: string; ms: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    const ms = e.dur / 1000 / runs;
    const o = byOp.get(op) ?? { op, ms: 0, nodes: 0 };
    o.ms += ms;
    byOp.set(op, o);
    const node = e.name.slice(0, -'_kernel_time'.length);
    const n = byNode.get(node) ?? { node, op, shape: JSON.stringify(e.args?.output_type_shape?.[0] ?? ''), ms: 0 };
    if (!byNode.has(node)) o.nodes += 1;
    n.ms += ms;
    byNode.set(node, n);
  }
  const ops = [...byOp.values()].sort((a, b) => b.ms - a.ms);
  return { byOp: ops, byNode: [...byNode.values()].sort((a, b) => b.ms - a.ms), totalMs: ops.reduce((a, o) => a + o.ms, 0) };
}
