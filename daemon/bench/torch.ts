/**
 * The same W1 step in PyTorch (w1_torch.py, Debian's python3-torch, 2 threads), run as a child process,
 * when `/usr/bin/python3 -c "import torch"` works.
 */
import { execFile } from 'child_process';
import * as path from 'path';

export type TorchResult = { ok: true; msPerStep: number; torch: string; threads: number } | { ok: false; reason: string };

const PYTHON = '/usr/bin/python3';

function run(args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(PYTHON, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err ? err.message : '') });
    });
  });
}

/** Script path: beside this file in the source tree (the compiled file lives in out/daemon/bench). */
export function torchScriptPath(): string {
  const here = path.join(__dirname, 'w1_torch.py');
  const src = path.resolve(__dirname, '..', '..', '..', 'daemon', 'bench', 'w1_torch.py');
  return require('fs').existsSync(here) ? here : src;
}

export async function benchTorchW1(batch: number, steps: number, threads = 2, timeoutMs = 600000): Promise<TorchResult> {
  const probe = await run(['-c', 'import torch'], 60000);
  if (probe.code !== 0) return { ok: false, reason: `${PYTHON} -c "import torch" failed (apt-get install python3-torch)` };
  const r = await run([torchScriptPath(), '--batch', String(batch), '--steps', String(steps), '--threads', String(threads)], timeoutMs);
  if (r.code !== 0) return { ok: false, reason: `w1_torch.py exited ${r.code}: ${r.stderr.trim().split('\n').pop()}` };
  try {
    const j = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { ms_per_step: number; torch: string; threads: number };
    return { ok: true, msPerStep: j.ms_per_step, torch: j.torch, threads: j.threads };
  } catch {
    return { ok: false, reason: `w1_torch.py printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}
