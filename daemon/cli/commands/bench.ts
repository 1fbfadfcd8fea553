/**
 * `faceinv bench`: compute throughput of the active TensorFlow.js backend — matmul 1024³, the W1 decoder
 * training step, face-api ResNet forward — and, where Debian's python3-torch is installed, the same W1
 * step in PyTorch for comparison. Machine load (1-minute load average) is printed with the numbers.
 */
import * as os from 'os';
import { benchFaceApi } from '../../bench/faceApi';
import { benchMatmul } from '../../bench/matmul';
import { benchTorchW1 } from '../../bench/torch';
import { benchW1Step } from '../../bench/w1Step';
import { initEngine, parseBackendChoice } from '../../engine/backend';
import { cliOutput } from '../engineFlags';
import { intFlag, parseArgs } from '../args';
import { CliCommand } from '../command';

export const command: CliCommand = {
  name: 'bench',
  summary: 'Measure the compute engine: matmul GFLOP/s, W1 training step, face-api forward, PyTorch comparison.',
  usage: `faceinv bench [--backend auto|tensorflow-gpu|tensorflow|webgpu|wasm|cpu] [--batch N] [--steps N]
                [--threads N] [--profile] [--no-torch] [--no-faceapi] [--json]
  --batch N     W1 batch size (default 32)          --steps N   timed W1 steps (default 5, after 2 warm-up)
  --threads N   wasm XNNPACK threads (default: cores) --profile  per-kernel times of one W1 step
  --json        print one JSON object instead of text`,
  async run(args) {
    const a = parseArgs(args, { values: ['backend', 'batch', 'steps', 'threads'], booleans: ['json', 'profile', 'no-torch', 'no-faceapi'] });
    const batch = intFlag(a, 'batch', 32);
    const steps = intFlag(a, 'steps', 5);
    const threads = a.flags.has('threads') ? intFlag(a, 'threads', 1) : undefined;
    const json = a.booleans.has('json');
    const say = (s: string): void => { if (!json) console.log(s); };
    const backend = parseBackendChoice(a.flags.get('backend') ?? process.env.FACEINV_BACKEND ?? 'auto', '--backend');
    const loadBefore = os.loadavg()[0];
    const engine = await initEngine({ backend, threads, log: cliOutput.verbose && !json ? (m) => console.error(m) : undefined });
    say(`backend: ${engine.backend} (${engine.threads} thread(s)${engine.simd ? ', SIMD' : ''}) — ${engine.reason}`);
    say(`machine: ${os.cpus().length} cores, load average ${loadBefore.toFixed(2)} before the run`);

    const mm = benchMatmul(1024, 10);
    say(`matmul 1024³: ${mm.msPerMatmul.toFixed(1)} ms, ${mm.gflops.toFixed(1)} GFLOP/s`);

    const w1 = await benchW1Step(batch, steps, 2, a.booleans.has('profile'));
    say(`W1 train step, batch ${batch}: ${w1.msPerStep.toFixed(0)} ms (min ${w1.msMin.toFixed(0)}), ` +
      `${w1.imgPerSec.toFixed(1)} img/s, ${w1.gflops.toFixed(1)} GFLOP/s (3× forward FLOPs)`);
    if (w1.profile) for (const k of w1.profile) say(`    ${k.kernel.padEnd(36)} ${k.ms.toFixed(1).padStart(8)} ms  ${k.calls} calls`);
    if (w1.innerKernels) {
      say('  inside our composite kernels:');
      for (const [k, ms] of Object.entries(w1.innerKernels)) say(`    ${k.padEnd(36)} ${ms.toFixed(1).padStart(8)} ms`);
    }

    const fa = a.booleans.has('no-faceapi') ? { ok: false as const, reason: 'skipped (--no-faceapi)' } : await benchFaceApi(8);
    say(fa.ok ? `face-api ResNet forward, batch 8: ${fa.msPerBatch.toFixed(0)} ms, ${fa.imgPerSec.toFixed(1)} img/s (${fa.via})`
      : `face-api: unavailable (${fa.reason})`);

    const torch = a.booleans.has('no-torch') ? { ok: false as const, reason: 'skipped (--no-torch)' } : await benchTorchW1(batch, Math.min(steps, 5));
    say(torch.ok ? `PyTorch ${torch.torch} W1 step, batch ${batch}, ${torch.threads} threads: ${torch.msPerStep.toFixed(0)} ms → ours/PyTorch = ${(w1.msPerStep / torch.msPerStep).toFixed(2)}`
      : `PyTorch: unavailable (${torch.reason})`);
    const loadAfter = os.loadavg()[0];
    say(`load average after: ${loadAfter.toFixed(2)}`);
    if (json) {
      console.log(JSON.stringify({
        engine, machine: { cores: os.cpus().length, loadBefore, loadAfter }, matmul: mm, w1, faceApi: fa, torch,
        ratioToTorch: torch.ok ? w1.msPerStep / torch.msPerStep : null,
      }));
    }
    return 0;
  },
};
