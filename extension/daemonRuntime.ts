/**
 * Which JavaScript runtime starts the local daemon. Desktop VS Code users often have no Node.js on PATH, so
 * the editor's own runtime comes first, as language clients start their servers: `process.execPath` (the
 * editor's Electron) with ELECTRON_RUN_AS_NODE=1 (in code-server and tests it is Node itself). It is used
 * when the daemon's native modules load in it (`daemon/cli/runtimeCheck.ts`, run once); else `node` on
 * PATH; a `faceInversion.daemon.nodePath` setting replaces both. When nothing works, one message says what
 * was tried and what to install. Plain module (no vscode): unit tested with fake runtimes.
 */
import { spawn } from 'node:child_process';

/** Same literal as daemon/cli/runtimeCheck.ts (not imported: it is a script run in the candidate runtime). */
export const RUNTIME_PREFIX = 'FACEINV_RUNTIME ';

export interface DaemonRuntime {
  /** Executable to spawn. */
  command: string;
  /** Added to the environment (ELECTRON_RUN_AS_NODE=1 for the editor's Electron). */
  env: Record<string, string>;
  /** Where it came from. */
  source: 'setting' | 'editor' | 'path';
  /** For logs and messages, e.g. "the editor's own runtime (Electron 34.5.8)". */
  label: string;
}

export interface RuntimeChoice { runtime: DaemonRuntime; node: string; tried: string[] }
export interface RuntimeFailure { error: string; tried: string[] }

/** Candidates in order: the setting alone when set, else the editor's runtime, then `node` on PATH. */
export function runtimeCandidates(o: { nodePathSetting: string; execPath: string; versions: Partial<NodeJS.ProcessVersions> }): DaemonRuntime[] {
  const setting = o.nodePathSetting.trim();
  if (setting) return [{ command: setting, env: {}, source: 'setting', label: `faceInversion.daemon.nodePath (${setting})` }];
  const electron = o.versions.electron;
  return [
    {
      command: o.execPath, env: electron ? { ELECTRON_RUN_AS_NODE: '1' } : {}, source: 'editor',
      label: electron ? `the editor's own runtime (Electron ${electron}, Node ${o.versions.node})` : `the editor's own runtime (Node ${o.versions.node} at ${o.execPath})`,
    },
    { command: 'node', env: {}, source: 'path', label: '`node` on PATH' },
  ];
}

export type ProbeResult = { ok: true; node: string } | { ok: false; problem: string };

/** Runs the runtime check script in a candidate; never rejects. */
export function probeRuntime(c: DaemonRuntime, checkScript: string, opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let out = '';
    let err = '';
    let settled = false;
    const done = (r: ProbeResult) => { if (!settled) { settled = true; clearTimeout(timer); resolve(r); } };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(c.command, [checkScript], { env: { ...(opts.env ?? process.env), ...c.env }, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    } catch (e) {
      resolve({ ok: false, problem: `cannot run it: ${(e as Error).message}` });
      return;
    }
    const timer = setTimeout(() => { child.kill('SIGKILL'); done({ ok: false, problem: `no answer within ${(opts.timeoutMs ?? 20_000) / 1000} s` }); }, opts.timeoutMs ?? 20_000);
    child.stdout?.on('data', (d) => { out += String(d); });
    child.stderr?.on('data', (d) => { if (err.length < 4096) err += String(d); });
    child.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, problem: e.code === 'ENOENT' ? 'not found' : `cannot run it: ${e.message}` }));
    child.on('close', (code, signal) => {
      const line = out.split('\n').find((l) => l.startsWith(RUNTIME_PREFIX));
      if (!line) {
        const why = err.trim().split('\n')[0] || (signal ? `killed by ${signal}` : `exit code ${code}`);
        done({ ok: false, problem: `it is not a usable Node.js (${why})` });
        return;
      }
      try {
        const r = JSON.parse(line.slice(RUNTIME_PREFIX.length)) as { ok?: unknown; node?: unknown; problems?: unknown };
        const problems = Array.isArray(r.problems) ? r.problems.filter((p): p is string => typeof p === 'string') : [];
        if (r.ok === true && typeof r.node === 'string') done({ ok: true, node: r.node });
        else done({ ok: false, problem: problems.join('; ') || 'its check failed' });
      } catch {
        done({ ok: false, problem: 'its check printed an unreadable answer' });
      }
    });
  });
}

/** The first candidate that passes the check, or one message naming what was tried and what to install. */
export async function chooseRuntime(candidates: readonly DaemonRuntime[], checkScript: string,
  probe: (c: DaemonRuntime) => Promise<ProbeResult> = (c) => probeRuntime(c, checkScript)): Promise<RuntimeChoice | RuntimeFailure> {
  const tried: string[] = [];
  for (const c of candidates) {
    const r = await probe(c);
    if (r.ok) return { runtime: c, node: r.node, tried };
    tried.push(`${c.label}: ${r.problem}`);
  }
  return { error: noRuntimeMessage(candidates, tried), tried };
}

/** What to do when no runtime can run the daemon (one message). */
export function noRuntimeMessage(candidates: readonly DaemonRuntime[], tried: readonly string[]): string {
  const fromSetting = candidates.length === 1 && candidates[0].source === 'setting';
  const fix = fromSetting
    ? 'Point faceInversion.daemon.nodePath at a Node.js 20 (or newer) executable, or clear it to use the editor\'s own runtime or `node` on PATH.'
    : 'Install Node.js 20 or newer (https://nodejs.org) so that `node` is on PATH, then Retry — or set faceInversion.daemon.nodePath to a Node.js 20 executable.';
  return `Face Inversion: no runtime can start the daemon — ${tried.join('; ')}. ${fix}`;
}
