/**
 * kill -9 during training: `faceinv train` on a tiny run config (64×64 decoder without residual layers,
 * batch 2, a checkpoint every step, a fresh embedding cache) is killed with SIGKILL at ≥ 20 random moments
 * — during start-up, embedding/caching, training steps and checkpoint writes — and restarted each time.
 * After every kill all run files must load: run.json / config.json / split.json parse, every metrics.jsonl
 * line parses, the checkpoint's decoder.json parses and its weights.bin has exactly the bytes it lists, cache
 * record logs open (a torn tail is dropped by design, never an error). Each restart must resume from the
 * step of the checkpoint on disk; checkpoint steps never go back. Finally the run completes with the expected
 * step count and the metrics hold each training step exactly once.
 *
 * Seed: FACEINV_KILL9_SEED (default 7); kills: FACEINV_KILL9_KILLS (default 20).
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordLog } from '../../daemon/data/recordLog';
import { lfwAvailable, makeTinyWorkspace, TinyWorkspace } from '../fixtures/tinyWorkspace';
import { FACEINV_BIN, REPO_ROOT, seededRandom } from './harness';

const SEED = Number(process.env.FACEINV_KILL9_SEED ?? 7);
const KILLS = Number(process.env.FACEINV_KILL9_KILLS ?? 20);

interface RunResult { code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string; ms: number; /** ms until training began, if it did. */ trainingAtMs?: number }

/** Runs `faceinv train`, killing it with SIGKILL after `killAfterMs` (if it is still running then). */
function runTrain(ws: TinyWorkspace, cacheDir: string, killAfterMs: number | undefined, timeoutMs: number): Promise<RunResult> {
  const t0 = Date.now();
  const p = spawn(process.execPath, [FACEINV_BIN, 'train', ws.configFile, '--workspace', ws.dir, '--cache', cacheDir, '--backend', 'wasm', '--workers', '0'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FACEINV_THREADS: '1' } });
  let stdout = '';
  let stderr = '';
  let trainingAtMs: number | undefined;
  p.stdout.on('data', (d) => { stdout += String(d); });
  p.stderr.on('data', (d) => {
    stderr += String(d);
    if (trainingAtMs === undefined && /\n(resumed from checkpoint|training on)/.test(stderr)) trainingAtMs = Date.now() - t0;
  });
  const killer = killAfterMs !== undefined ? setTimeout(() => p.kill('SIGKILL'), killAfterMs) : undefined;
  const guard = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => p.once('exit', (code, signal) => {
    if (killer) clearTimeout(killer);
    clearTimeout(guard);
    resolve({ code, signal, stderr, stdout, ms: Date.now() - t0, trainingAtMs });
  }));
}

/** Checks every file of the run folder and the cache; returns the checkpoint step (0 when none yet). */
function checkFiles(runDir: string, cacheDir: string, when: string): number {
  for (const f of ['run.json', 'config.json', 'split.json']) {
    const file = path.join(runDir, f);
    if (fs.existsSync(file)) assert.doesNotThrow(() => JSON.parse(fs.readFileSync(file, 'utf8')), `${when}: ${f} must parse`);
  }
  const metrics = path.join(runDir, 'metrics.jsonl');
  if (fs.existsSync(metrics)) {
    const lines = fs.readFileSync(metrics, 'utf8').split('\n').filter((l) => l.length);
    lines.forEach((l, i) => assert.doesNotThrow(() => JSON.parse(l), `${when}: metrics.jsonl line ${i + 1} must parse: ${l.slice(0, 120)}`));
  }
  let step = 0;
  const ckpt = path.join(runDir, 'checkpoints', 'latest');
  if (fs.existsSync(ckpt)) {
    const manifest = JSON.parse(fs.readFileSync(path.join(ckpt, 'decoder.json'), 'utf8')) as { step: number; tensors: { length: number }[] };
    const floats = manifest.tensors.reduce((a, t) => a + t.length, 0);
    assert.equal(fs.statSync(path.join(ckpt, 'weights.bin')).size, floats * 4, `${when}: weights.bin holds the listed tensors`);
    step = manifest.step;
  } else {
    const leftovers = fs.existsSync(path.dirname(ckpt)) ? fs.readdirSync(path.dirname(ckpt)).filter((f) => f.startsWith('latest.old-')) : [];
    assert.equal(leftovers.length, 0, `${when}: checkpoint "latest" missing while ${leftovers.join(', ')} exists: a restart would begin from step 0`);
  }
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]);
  if (fs.existsSync(cacheDir)) {
    for (const file of walk(cacheDir)) {
      if (file.endsWith('.log')) {
        const log = RecordLog.open(file); // verifies every CRC; a torn tail is truncated, not an error
        log.close();
      } else if (file.endsWith('.json')) {
        assert.doesNotThrow(() => JSON.parse(fs.readFileSync(file, 'utf8')), `${when}: ${file} must parse`);
      } else if (file.endsWith('.f32')) {
        assert.equal(fs.statSync(file).size % 4, 0, `${when}: ${file} holds whole float32s`);
      }
    }
  }
  return step;
}

describe('robustness: kill -9 during training', function () {
  this.timeout(600_000);
  let ws: TinyWorkspace | undefined;
  before(function () {
    if (!lfwAvailable()) {
      console.log('      (skipped: LFW not found at ../shared/data/lfw)');
      this.skip();
    }
  });
  after(() => ws?.cleanup());

  it(`resumes from the last checkpoint after ${KILLS} random SIGKILLs (seed ${SEED}) and completes`, async () => {
    ws = makeTinyWorkspace({ name: 'kill9', identities: 4, imagesPerIdentity: 3, training: { epochs: 24, batchSize: 2, checkpointEvery: 1, evalEvery: 100000 } });
    fs.writeFileSync(ws.configFile, JSON.stringify({ ...ws.config, decoder: { ...ws.config.decoder, residualLayers: 0 } }, null, 2));
    const cacheDir = path.join(ws.dir, 'cache'); // fresh: early kills land in embedding and cache writes
    const runDir = path.join(ws.dir, 'runs', 'kill9');
    const rnd = seededRandom(SEED);
    let horizonMs = 4000;
    let startupMs = 2000;
    let total = 0;
    let lastStep = 0;
    let cacheFiles = 0;
    const log: string[] = [];
    let kills = 0;
    for (let attempt = 0; kills < KILLS; attempt++) {
      assert.ok(attempt < KILLS * 4, `too many attempts without reaching ${KILLS} kills:\n${log.join('\n')}`);
      // Near the end of the run, kill within start-up / resume so that the run outlives every kill.
      const nearEnd = total > 0 && total - lastStep < 4 * (KILLS - kills);
      const delay = Math.round(nearEnd ? 200 + rnd() * Math.max(0, 0.9 * startupMs - 200) : 300 + rnd() * horizonMs);
      const r = await runTrain(ws, cacheDir, delay, 120_000);
      const resumed = /resumed from checkpoint at step (\d+)/.exec(r.stderr);
      if (resumed) assert.equal(Number(resumed[1]), lastStep, `attempt ${attempt}: resumed from the checkpoint on disk`);
      if (r.signal !== 'SIGKILL') {
        assert.fail(`attempt ${attempt}: training exited by itself (code ${r.code}) before ${KILLS} kills (failed, or finished: then make the run longer):\n${r.stderr.slice(-2000)}`);
      }
      kills++;
      if (r.trainingAtMs !== undefined) startupMs = r.trainingAtMs; // the latest start-up time (the first one embeds)
      total = Number(/(\d+) steps of batch/.exec(r.stderr)?.[1] ?? total);
      const step = checkFiles(runDir, cacheDir, `after kill ${kills} at ${delay} ms`);
      assert.ok(step >= lastStep, `checkpoint step went back from ${lastStep} to ${step}`);
      const nowCache = fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir, { recursive: true }).length : 0;
      const progressed = step > lastStep || nowCache > cacheFiles;
      log.push(`kill ${kills}: after ${delay} ms${nearEnd ? ' (start-up)' : ''} → checkpoint step ${step}${resumed ? ` (resumed at ${resumed[1]})` : ''}`);
      horizonMs = progressed ? Math.max(3000, horizonMs * 0.8) : Math.min(60_000, horizonMs * 1.5);
      lastStep = step;
      cacheFiles = nowCache;
    }
    const final = await runTrain(ws, cacheDir, undefined, 400_000);
    assert.equal(final.code, 0, `final run:\n${final.stderr.slice(-3000)}`);
    const resumed = /resumed from checkpoint at step (\d+)/.exec(final.stderr);
    if (lastStep > 0) assert.equal(Number(resumed?.[1]), lastStep, 'final run resumed from the last checkpoint');
    const out = JSON.parse(final.stdout.slice(final.stdout.indexOf('{'))) as { steps: number };
    total = Number(/(\d+) steps of batch/.exec(final.stderr)?.[1]);
    assert.ok(total > 0, 'total steps printed');
    assert.equal(out.steps, total, 'training completed all steps');
    assert.equal(checkFiles(runDir, cacheDir, 'at the end'), total);
    const trainSteps = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean)
      .map((l) => JSON.parse(l) as { split: string; step: number }).filter((m) => m.split === 'train').map((m) => m.step);
    assert.deepEqual(trainSteps, Array.from({ length: total }, (_, i) => i + 1), 'each training step logged exactly once');
    const meta = JSON.parse(fs.readFileSync(path.join(runDir, 'model', 'meta.json'), 'utf8')) as { steps: number };
    assert.equal(meta.steps, total);
    console.log(`      ${log.join('\n      ')}\n      final: ${total} steps, resumed at ${resumed?.[1] ?? 0}, ${(final.ms / 1000).toFixed(0)} s`);
  });
});
