/**
 * Backend selection (daemon/tfjs/backend.ts): forced names, the env var, errors for unknown names and
 * missing wasm binaries, wasm threads, and the webgpu path where an adapter exists.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getEngineInfo, initEngine, parseBackendChoice, probeWebgpu, wasmBinaryPaths } from '../../../daemon/tfjs/backend';
import { tf } from '../../../daemon/tfjs/tf';
import { Decoder } from '../../../daemon/nets/decoder';
import { wasmEngine } from './helpers';

describe('tfjs/backend', function () {
  this.timeout(60000);
  before(async () => { await wasmEngine(); });
  afterEach(async () => {
    delete process.env.FACEINV_BACKEND;
    await initEngine({ backend: 'wasm' });
  });

  it('starts wasm with SIMD, custom kernels and reports it', async () => {
    const info = await initEngine({ backend: 'wasm' });
    assert.strictEqual(info.backend, 'wasm');
    assert.strictEqual(tf.getBackend(), 'wasm');
    assert.strictEqual(info.simd, true);
    assert.ok(info.threads >= 1);
    assert.match(info.reason, /forced by option/);
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'Conv2DBackpropFilter registered');
    assert.deepStrictEqual(getEngineInfo(), info);
    assert.ok(info.versions['tfjs-core']);
  });

  it('uses more than one XNNPACK thread on a multi-core machine unless told otherwise', async function () {
    if (os.cpus().length < 2 || process.env.FACEINV_THREADS === '1') this.skip();
    const info = getEngineInfo()!;
    assert.ok(info.threads >= 2, `threads = ${info.threads}: ${info.reason}`);
  });

  it('FACEINV_BACKEND forces a backend; an explicit option wins over it', async () => {
    process.env.FACEINV_BACKEND = 'cpu';
    const info = await initEngine({});
    assert.strictEqual(info.backend, 'cpu');
    assert.match(info.reason, /FACEINV_BACKEND/);
    assert.strictEqual(tf.getBackend(), 'cpu');
    const again = await initEngine({ backend: 'wasm' });
    assert.strictEqual(again.backend, 'wasm');
    assert.strictEqual(tf.getBackend(), 'wasm', 'switching back to wasm must make it the active backend');
  });

  it('rejects an unknown backend name listing the valid ones', async () => {
    await assert.rejects(initEngine({ backend: 'tpu' as 'wasm' }), /unknown backend 'tpu'.*auto, tensorflow-gpu, tensorflow, webgpu, wasm, cpu/);
    process.env.FACEINV_BACKEND = 'metal';
    await assert.rejects(initEngine({}), /FACEINV_BACKEND: unknown backend 'metal'/);
    assert.throws(() => parseBackendChoice('x', 'flag --backend'), /flag --backend: unknown backend 'x'/);
  });

  it('a forced backend that is not installed fails naming the package', async () => {
    let installed = true;
    try { require.resolve('@tensorflow/tfjs-node'); } catch { installed = false; }
    if (installed) return;
    await assert.rejects(initEngine({ backend: 'tensorflow' }), /@tensorflow\/tfjs-node not installed/);
  });

  it('missing wasm binaries give an error naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-nowasm-'));
    try {
      assert.throws(() => wasmBinaryPaths(dir), (e: Error) => e.message.includes(path.join(dir, 'tfjs-backend-wasm.wasm')));
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    const real = wasmBinaryPaths();
    for (const p of Object.values(real)) assert.ok(fs.existsSync(p));
  });

  it('auto never picks cpu', async () => {
    const info = await initEngine({ backend: 'auto' });
    assert.notStrictEqual(info.backend, 'cpu');
  });

  it('webgpu: decoder trainStep runs where an adapter exists', async function () {
    const probe = await probeWebgpu();
    if (!probe.ok) {
      console.log(`      (skipped: no WebGPU adapter here — ${probe.detail})`);
      this.skip();
    }
    const info = await initEngine({ backend: 'webgpu' });
    assert.strictEqual(info.backend, 'webgpu');
    const d = Decoder.create({ inputDim: 16, outputSize: 64, residualLayers: 1, noiseVariance: 0.001, loss: 'l1', learningRate: 1e-3, seed: 3, baseChannels: 64 });
    try {
      const z = tf.randomNormal([2, 16], 0, 1, 'float32', 1) as tf.Tensor2D;
      const t = tf.randomUniform([2, 64, 64, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
      const l0 = d.trainStep(z, t);
      const l1 = d.trainStep(z, t);
      assert.ok(Number.isFinite(l0) && Number.isFinite(l1));
      tf.dispose([z, t]);
    } finally { d.dispose(); }
  });
});
