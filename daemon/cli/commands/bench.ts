/**
 * `faceinv bench`: what this machine can do, in one run — queries per second of the attacked encoder as the
 * project runs it and as a plain ONNX Runtime session of the same file (the ratio is the figure), LFW photos per
 * second through the face pipeline (both ways), and compute throughput of both engines — matmul 1024³ on the active TensorFlow.js
 * backend, the W1 decoder training step on TF.js and on ONNX Runtime (with ONNX Runtime's per-op profile on
 * request), face-api ResNet forward, the same W1 step in PyTorch where Debian's python3-torch is installed
 * (`apt-get install -y python3-torch`), and the white-box step (G + E forward and backward, 16 targets).
 * Machine load (1-minute load average) is printed with the numbers: figures taken under load say so. It ends
 * with one "bench line" summing the machine up, for the README to quote beside times measured on it.
 */
import * as os from 'os';
import { benchFaceApi } from '../../bench/faceApi';
import { benchMatmul } from '../../bench/matmul';
import { benchOrtW1Step, OrtW1Result } from '../../bench/ortW1';
import { compareLossCurves, CurveResult } from '../../bench/curve';
import { benchTorchW1 } from '../../bench/torch';
import { benchW1Step, W1StepResult } from '../../bench/w1Step';
import { benchWhiteboxStep, WhiteboxStepResult } from '../../bench/whiteboxStep';
import { benchEncoderQueries, EncoderQueryResult, PLAIN_THREADS } from '../../bench/encoderQueries';
import { benchPipeline, PipelineBenchResult } from '../../bench/pipeline';
import { benchLine } from '../../bench/line';
import { benchIndependentDetector, benchTransferScorer, IndependentDetectorResult, TransferScorerResult } from '../../bench/transferScorer';
import { clampThreads } from '../../tfjs/threads';
import { initEngine, parseBackendChoice } from '../../tfjs/backend';
import { cliOutput } from '../engineFlags';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { envValue } from '../../protocol/env';

const ENGINES = ['both', 'onnxruntime', 'tfjs'] as const;

export const command: CliCommand = {
  name: 'bench',
  summary: 'What this machine can do: attacked-encoder queries/s (project vs plain ONNX Runtime), LFW photos/s, transfer-scorer faces/s (ONNX Runtime import vs TF.js), W1 step on both engines and PyTorch, white-box step; ends with a bench line.',
  usage: `faceinv bench [--engine both|onnxruntime|tfjs] [--backend auto|tensorflow-gpu|tensorflow|webgpu|wasm|cpu]
                [--batch N] [--steps N] [--threads N] [--profile] [--no-torch] [--no-faceapi]
                [--no-whitebox] [--whitebox-targets N] [--whitebox-steps N] [--whitebox-tfjs] [--curve N] [--json]
                [--no-queries] [--queries N] [--no-pipeline] [--pipeline-images N] [--no-transfer]
  --queries N         faces per repetition of the attacked-encoder query bench (default 64; 3 repetitions)
  --pipeline-images N LFW photos per pipeline run (default 160; two runs each way)
  --no-transfer       skip the evaluation's scorers: human-faceres (ONNX Runtime import vs TF.js) and the
                      independent protocol's face-api SSD detector (network on ONNX Runtime vs TF.js)
  --engine E          W1 step on both engines (default), or one
  --batch N           W1 batch size (default 32)           --steps N   timed W1 steps (default 5, after 2 warm-up)
  --threads N         wasm XNNPACK threads / ONNX Runtime intra-op threads (default: cores; above the cores: clamped)
  --profile           per-kernel times of one TF.js W1 step and ONNX Runtime's per-op profile of its W1 step,
                      white-box step and the attacked encoder (plain and project sessions)
  --whitebox-targets  targets per white-box batch (default 16)   --whitebox-steps  timed steps (default 10)
  --whitebox-tfjs     also time the white-box step on TF.js (slow: about 1.5 s per step)
  --curve N           also train W1 N steps on both engines from the same start and compare the loss curves
  --json              print one JSON object instead of text`,
  async run(args) {
    const a = parseArgs(args, {
      values: ['backend', 'batch', 'steps', 'threads', 'engine', 'whitebox-targets', 'whitebox-steps', 'curve', 'queries', 'pipeline-images'],
      booleans: ['json', 'profile', 'no-torch', 'no-faceapi', 'no-whitebox', 'whitebox-tfjs', 'no-queries', 'no-pipeline', 'no-transfer'],
    });
    const batch = intFlag(a, 'batch', 32);
    const steps = intFlag(a, 'steps', 5);
    const threads = a.flags.has('threads') ? clampThreads(intFlag(a, 'threads', 1), '--threads', (m) => console.error(`warning: ${m}`)) : undefined;
    const engineFlag = a.flags.get('engine') ?? 'both';
    if (!(ENGINES as readonly string[]).includes(engineFlag)) throw new UsageError(`--engine must be one of ${ENGINES.join(', ')}, got '${engineFlag}'`);
    const wantTf = engineFlag !== 'onnxruntime';
    const wantOrt = engineFlag !== 'tfjs';
    const profile = a.booleans.has('profile');
    const json = a.booleans.has('json');
    const say = (s: string): void => { if (!json) console.log(s); };
    const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
    const backend = parseBackendChoice(a.flags.get('backend') ?? envValue('FACEINV_BACKEND') ?? 'auto', '--backend');
    const loadBefore = os.loadavg()[0];
    const engine = await initEngine({ backend, threads, log: cliOutput.verbose && !json ? (m) => console.error(m) : undefined });
    say(`TF.js backend: ${engine.backend} (${engine.threads} thread(s)${engine.simd ? ', SIMD' : ''}) — ${engine.reason}`);
    say(`machine: ${os.cpus().length} cores, load average ${load()} (1/5/15 min) before the run${loadBefore > 0.5 ? ' — the machine is busy: figures below are slowed by other work' : ''}`);

    let queries: EncoderQueryResult | { error: string } | null = null;
    if (!a.booleans.has('no-queries')) {
      try {
        const q = await benchEncoderQueries({ queries: intFlag(a, 'queries', 64), threads, profile, log: (m) => console.error(`warning: ${m}`) });
        queries = q;
        say(`attacked encoder ${q.encoder}, ${q.queries} queries × ${q.reps}: project path ${q.projectQps.toFixed(1)} queries/s (${q.graphNote}), ` +
          `plain ONNX Runtime session of the same file ${q.plainQps.toFixed(1)} queries/s (batch 1, ${PLAIN_THREADS} threads, 'all') → ` +
          `×${q.ratio.toFixed(2)} (target ≥ 4); templates agree to 1 − cos ≤ ${q.worstCosineGap.toExponential(1)} (tolerance 1e-4)  [load ${load()}]`);
        if (q.profile) {
          for (const [name, p] of [['plain session', q.profile.plain], ['project session', q.profile.project]] as const) {
            say(`  ONNX Runtime profile, ${name} (batch ${p.batch}): kernel time ${p.msPerFace.toFixed(2)} ms per face`);
            for (const o of p.byOp.slice(0, 8)) say(`    ${o.op.padEnd(24)} ${o.ms.toFixed(2).padStart(8)} ms/face  ${o.nodes} nodes`);
          }
        }
      } catch (e) {
        queries = { error: (e as Error).message };
        say(`attacked encoder queries: unavailable (${(e as Error).message})`);
      }
    }
    const pipeline = a.booleans.has('no-pipeline') ? null : await pipelineSection(intFlag(a, 'pipeline-images', 160), say, load);

    const { transfer, detector } = a.booleans.has('no-transfer') ? { transfer: null, detector: null } : { transfer: await transferSection(say, load), detector: await detectorSection(say, load) };

    const mm = benchMatmul(1024, 10);
    say(`matmul 1024³ (TF.js): ${mm.msPerMatmul.toFixed(1)} ms, ${mm.gflops.toFixed(1)} GFLOP/s`);

    let w1: W1StepResult | null = null;
    if (wantTf) {
      w1 = await benchW1Step(batch, steps, 2, profile);
      say(`W1 train step, batch ${batch}, TF.js ${engine.backend}: ${w1.msPerStep.toFixed(0)} ms (min ${w1.msMin.toFixed(0)}), ` +
        `${w1.imgPerSec.toFixed(1)} img/s, ${w1.gflops.toFixed(1)} GFLOP/s (3× forward FLOPs)  [load ${load()}]`);
      if (w1.profile) for (const k of w1.profile) say(`    ${k.kernel.padEnd(36)} ${k.ms.toFixed(1).padStart(8)} ms  ${k.calls} calls`);
      if (w1.innerKernels) {
        say('  inside our composite kernels:');
        for (const [k, ms] of Object.entries(w1.innerKernels)) say(`    ${k.padEnd(36)} ${ms.toFixed(1).padStart(8)} ms`);
      }
    }
    let ort: OrtW1Result | { error: string } | null = null;
    if (wantOrt) {
      try {
        const r = await benchOrtW1Step(batch, steps, 2, profile, undefined, threads);
        ort = r;
        say(`W1 train step, batch ${batch}, ONNX Runtime: ${r.msPerStep.toFixed(0)} ms (min ${r.msMin.toFixed(0)}; session.run ${r.runMs.toFixed(0)} ms, host Adam ${r.hostMs.toFixed(0)} ms), ` +
          `${r.imgPerSec.toFixed(1)} img/s, ${r.gflops.toFixed(1)} GFLOP/s, process CPU ${r.cpuMsPerStep.toFixed(0)} ms/step — ${r.provider}  [load ${load()}]`);
        if (w1) say(`  ONNX Runtime / TF.js = ${(r.msPerStep / w1.msPerStep).toFixed(3)}`);
        if (r.profile) {
          say(`  ONNX Runtime profile of one step (kernel time ${r.profile.totalMs.toFixed(0)} ms; the profiler adds overhead):`);
          for (const o of r.profile.byOp.slice(0, 14)) say(`    ${o.op.padEnd(24)} ${o.ms.toFixed(1).padStart(8)} ms  ${o.nodes} nodes`);
          say('  busiest nodes:');
          for (const n of r.profile.topNodes.slice(0, 8)) say(`    ${n.op.padEnd(16)} ${n.shape.padEnd(28)} ${n.ms.toFixed(1).padStart(8)} ms`);
        }
      } catch (e) {
        ort = { error: (e as Error).message };
        say(`W1 train step, ONNX Runtime: unavailable (${(e as Error).message})`);
      }
    }

    const fa = a.booleans.has('no-faceapi') ? { ok: false as const, reason: 'skipped (--no-faceapi)' } : await benchFaceApi(8);
    say(fa.ok ? `face-api ResNet forward, batch 8: ${fa.msPerBatch.toFixed(0)} ms, ${fa.imgPerSec.toFixed(1)} img/s (${fa.via})` : `face-api: unavailable (${fa.reason})`);

    const torch = a.booleans.has('no-torch') ? { ok: false as const, reason: 'skipped (--no-torch)' } : await benchTorchW1(batch, Math.min(steps, 5));
    const ortMs = ort && 'msPerStep' in ort ? ort.msPerStep : null;
    if (torch.ok) {
      say(`PyTorch ${torch.torch} W1 step, batch ${batch}, ${torch.threads} threads: ${torch.msPerStep.toFixed(0)} ms  [load ${load()}]`);
      if (w1) say(`  TF.js/PyTorch = ${(w1.msPerStep / torch.msPerStep).toFixed(2)}`);
      if (ortMs !== null) say(`  ONNX Runtime/PyTorch = ${(ortMs / torch.msPerStep).toFixed(3)} (target ≤ 0.1; W1 step target ≤ 300 ms)`);
    } else {
      say(`PyTorch: unavailable (${torch.reason}; on Debian: apt-get update && apt-get install -y python3-torch)`);
    }

    const wb: Array<WhiteboxStepResult | { engine: string; error: string }> = [];
    if (!a.booleans.has('no-whitebox')) {
      const targets = a.flags.has('whitebox-targets') ? intFlag(a, 'whitebox-targets', 16) : 16;
      const wsteps = a.flags.has('whitebox-steps') ? intFlag(a, 'whitebox-steps', 10) : 10;
      const engines: Array<'onnxruntime' | 'tfjs'> = [...(wantOrt ? ['onnxruntime' as const] : []), ...(a.booleans.has('whitebox-tfjs') || !wantOrt ? ['tfjs' as const] : [])];
      for (const e of engines) {
        try {
          const r = await benchWhiteboxStep(e, targets, e === 'tfjs' ? Math.min(wsteps, 2) : wsteps, profile && e === 'onnxruntime', threads);
          wb.push(r);
          say(`white-box step (W1 G + fr_feature E, forward + backward), ${targets} targets, ${e === 'onnxruntime' ? 'ONNX Runtime' : 'TF.js'}: ` +
            `${r.msPerStep.toFixed(0)} ms/step (process CPU ${r.cpuMsPerStep.toFixed(0)} ms) → 200 steps ≈ ${r.seconds200.toFixed(0)} s (target ≤ 60 s)  [load ${load()}]`);
          if (r.profile) for (const o of r.profile.byOp.slice(0, 8)) say(`    ${o.op.padEnd(24)} ${o.ms.toFixed(1).padStart(8)} ms  ${o.nodes} nodes`);
        } catch (err) {
          wb.push({ engine: e, error: (err as Error).message });
          say(`white-box step, ${e}: unavailable (${(err as Error).message})`);
        }
      }
    }
    let curve: CurveResult | null = null;
    if (a.flags.has('curve')) {
      const n = intFlag(a, 'curve', 50);
      curve = await compareLossCurves(n, batch);
      say(`W1 loss curve, ${n} steps of batch ${batch} on both engines from the same start: largest relative difference ${curve.maxRelDiff.toExponential(2)} ` +
        `(step ${curve.atStep}; stated tolerance 1e-3); loss ${curve.tfjs[0].toFixed(5)} → ${curve.tfjs[n - 1].toFixed(5)} (TF.js), ${curve.onnxruntime[0].toFixed(5)} → ${curve.onnxruntime[n - 1].toFixed(5)} (ONNX Runtime)`);
    }
    const loadAfter = os.loadavg()[0];
    say(`load average after: ${load()}`);
    const wbOrt = wb.find((r): r is WhiteboxStepResult => 'msPerStep' in r && r.engine === 'onnxruntime');
    const line = benchLine({
      loadBefore, loadAfter,
      queries: queries && 'ratio' in queries ? queries : null,
      pipeline: pipeline && 'projectIps' in pipeline ? pipeline : null,
      transfer: transfer && 'ratio' in transfer ? transfer : null,
      detector: detector && 'ratio' in detector ? detector : null,
      w1OrtMs: ortMs, torchMs: torch.ok ? torch.msPerStep : null,
      whitebox: wbOrt ? { targets: wbOrt.targets, msPerStep: wbOrt.msPerStep } : null,
    });
    say(line);
    if (json) {
      console.log(JSON.stringify({
        engine, machine: { cores: os.cpus().length, loadBefore, loadAfter }, queries, pipeline, transfer, detector, benchLine: line, matmul: mm, w1, w1Ort: ort, faceApi: fa, torch,
        ratioToTorch: torch.ok && w1 ? w1.msPerStep / torch.msPerStep : null,
        ortRatioToTorch: torch.ok && ortMs !== null ? ortMs / torch.msPerStep : null,
        whitebox: wb, curve,
      }));
    }
    return 0;
  },
};

/** The transfer scorer's faces/s on its ONNX Runtime import and on TF.js (printed), or why it could not run. */
async function transferSection(say: (s: string) => void, load: () => string): Promise<TransferScorerResult | { error: string }> {
  try {
    const t = await benchTransferScorer();
    say(`transfer scorer ${t.encoder}, ${t.faces} faces: project path ${t.projectFps.toFixed(1)} faces/s (${t.runtime}), TF.js ${t.tfjsFps.toFixed(1)} faces/s ` +
      `→ ×${t.ratio.toFixed(2)}; embeddings agree to 1 − cos ≤ ${t.worstCosineGap.toExponential(1)}  [load ${load()}]`);
    return t;
  } catch (e) {
    say(`transfer scorer: unavailable (${(e as Error).message})`);
    return { error: (e as Error).message };
  }
}

/** LFW photos/s through the face pipeline, project vs plain-ORT encoder (printed), or why it could not run. */
async function pipelineSection(images: number, say: (s: string) => void, load: () => string): Promise<PipelineBenchResult | { error: string }> {
  try {
    const p = await benchPipeline({ images });
    say(`LFW face pipeline (decode, detect, landmarks, align, embed), ${p.images} photos × 2 each way, ${p.workers} workers: ` +
      `${p.projectIps.toFixed(1)} photos/s (all ${p.datasetImages} ≈ ${p.lfwSeconds.toFixed(0)} s), plain-ORT encoder ${p.plainIps.toFixed(1)} photos/s ` +
      `(≈ ${p.lfwSecondsPlain.toFixed(0)} s) → ×${p.ratio.toFixed(2)}; steady state, worker start-up ${p.startupSeconds.toFixed(1)} s per run on top  [load ${load()}]`);
    return p;
  } catch (e) {
    say(`LFW face pipeline: unavailable (${(e as Error).message})`);
    return { error: (e as Error).message };
  }
}

/** The independent protocol's detector, ms per 448-px canvas with its network on ONNX Runtime and on TF.js. */
async function detectorSection(say: (s: string) => void, load: () => string): Promise<IndependentDetectorResult | { error: string }> {
  try {
    const d = await benchIndependentDetector();
    say(`independent detector (face-api SSD MobileNet v1 + 68 landmarks), ${d.images} 448-px canvases: network on ONNX Runtime ${d.ortMs.toFixed(0)} ms/image, ` +
      `face-api's TF.js forward ${d.tfjsMs.toFixed(0)} ms/image → ×${d.ratio.toFixed(2)}  [load ${load()}]`);
    return d;
  } catch (e) {
    say(`independent detector: unavailable (${(e as Error).message})`);
    return { error: (e as Error).message };
  }
}
