/**
 * Bad input gives an Error naming the file and the problem: missing or corrupt model files, a model whose
 * real output size differs from its config, a model input that differs from the config, crops of the
 * wrong size. Plus the command encoder's protocol and the registry's look-ups.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../../../daemon/tfjs/tf';
import type { EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { loadEncoder, loadEncoderById } from '../../../daemon/encoders/load';
import {
  findEncoderConfig, listEncoderConfigs, loadEncoderConfig, resolveModelPath, scanEncoders, SHIPPED_ENCODER_DIR,
} from '../../../daemon/encoders/registry';
import { initTestEngine } from './helpers';

function shipped(id: string): EncoderConfig {
  return loadEncoderConfig(path.join(SHIPPED_ENCODER_DIR, `${id}.json`));
}

function withConfig(id: string, patch: Partial<EncoderConfig>): EncoderConfig {
  return { ...shipped(id), ...patch };
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.match(err.message, re);
    return true;
  });
}

describe('encoder errors and registry', function () {
  let tmp: string;
  let baseline = 0;

  before(async () => {
    await initTestEngine();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-enc-'));
    baseline = tf.memory().numTensors;
  });

  after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    assert.strictEqual(tf.memory().numTensors, baseline, 'failed loads leaked tensors');
  });

  describe('missing model files', () => {
    for (const [id, file] of [['arcface512-faceplugin', 'nope.onnx'], ['faceapi-resnet128', 'nope-manifest.json'], ['human-faceres', 'nope.json']] as const) {
      it(`${id}: names the missing file`, async () => {
        const missing = path.join(tmp, file);
        await rejects(loadEncoder(withConfig(id, { model: { path: missing } })), new RegExp(`${id}.*${missing.replace(/[.]/g, '\\.')}.*not found`));
      });
    }
  });

  describe('corrupt model files', () => {
    it('onnx: garbage bytes', async () => {
      const f = path.join(tmp, 'garbage.onnx');
      fs.writeFileSync(f, Buffer.from('this is not a protobuf at all'.repeat(10)));
      await rejects(loadEncoder(withConfig('arcface512-faceplugin', { model: { path: f } })), /garbage\.onnx.*not a loadable ONNX model/);
    });

    it('tfjs-graph: invalid JSON, not a model, truncated weights', async () => {
      const bad = path.join(tmp, 'bad.json');
      fs.writeFileSync(bad, '{ "modelTopology": ');
      await rejects(loadEncoder(withConfig('human-mobilefacenet', { model: { path: bad } })), /bad\.json.*not valid JSON/);
      const notModel = path.join(tmp, 'notmodel.json');
      fs.writeFileSync(notModel, '{"hello": 1}');
      await rejects(loadEncoder(withConfig('human-mobilefacenet', { model: { path: notModel } })), /notmodel\.json.*not a TF\.js model\.json/);
      // A real model.json next to a truncated .bin.
      const src = resolveModelPath(shipped('human-mobilefacenet'));
      const dir = fs.mkdtempSync(path.join(tmp, 'trunc-'));
      fs.copyFileSync(src, path.join(dir, 'mobilefacenet.json'));
      const bin = fs.readFileSync(src.replace(/\.json$/, '.bin'));
      fs.writeFileSync(path.join(dir, 'mobilefacenet.bin'), bin.subarray(0, bin.length >> 1));
      await rejects(loadEncoder(withConfig('human-mobilefacenet', { model: { path: path.join(dir, 'mobilefacenet.json') } })),
        /mobilefacenet\.json.*weights are \d+ bytes, the manifest describes \d+/);
      fs.rmSync(path.join(dir, 'mobilefacenet.bin'));
      await rejects(loadEncoder(withConfig('human-mobilefacenet', { model: { path: path.join(dir, 'mobilefacenet.json') } })),
        /cannot read weights shard .*mobilefacenet\.bin/);
    });

    it('face-api: truncated .bin and a manifest that is not one', async () => {
      const src = resolveModelPath(shipped('faceapi-resnet128'));
      const dir = fs.mkdtempSync(path.join(tmp, 'fa-'));
      const manifest = path.join(dir, 'face_recognition_model-weights_manifest.json');
      fs.copyFileSync(src, manifest);
      const bin = fs.readFileSync(path.join(path.dirname(src), 'face_recognition_model.bin'));
      fs.writeFileSync(path.join(dir, 'face_recognition_model.bin'), bin.subarray(0, 1000));
      await rejects(loadEncoder(withConfig('faceapi-resnet128', { model: { path: manifest } })), /weights_manifest\.json.*do not match the manifest/);
      fs.writeFileSync(manifest, '{"weights": []}');
      await rejects(loadEncoder(withConfig('faceapi-resnet128', { model: { path: manifest } })), /not a TF\.js weights manifest/);
    });
  });

  describe('config disagrees with the model', () => {
    it('onnx: embeddingDim and input size are checked against the model', async () => {
      await rejects(loadEncoder(withConfig('arcface512-faceplugin', { embeddingDim: 256 })),
        /fr_feature\.onnx.*outputs 512 values per face, config embeddingDim is 256/);
      await rejects(loadEncoder(withConfig('arcface512-faceplugin', { inputSize: 128, alignment: { template: 'arcface-5pt', size: 128 } })),
        /fr_feature\.onnx.*model input is \[1, 3, 112, 112\].*inputSize 128/);
      await rejects(loadEncoder(withConfig('arcface512-faceplugin', { layout: 'NHWC' })), /model input is \[1, 3, 112, 112\], config says NHWC/);
    });

    it('tfjs-graph: embeddingDim, input size and output name are checked', async () => {
      await rejects(loadEncoder(withConfig('human-mobilefacenet', { embeddingDim: 128 })),
        /mobilefacenet\.json.*outputs 192 values per face, config embeddingDim is 128/);
      await rejects(loadEncoder(withConfig('human-faceres', { inputSize: 160 })), /faceres\.json.*model input is \[-1, 224, 224, 3\]/);
      await rejects(loadEncoder(withConfig('human-faceres', { outputName: 'nope' })), /faceres\.json.*no output "nope"/);
      const noOutput: EncoderConfig = { ...shipped('human-faceres') };
      delete noOutput.outputName;
      await rejects(loadEncoder(noOutput), /has outputs .*set "outputName"/);
    });

    it('face-api: embeddingDim and inputSize are checked', async () => {
      await rejects(loadEncoder(withConfig('faceapi-resnet128', { embeddingDim: 64 })), /outputs 128 values per face, config embeddingDim is 64/);
      await rejects(loadEncoder(withConfig('faceapi-resnet128', { inputSize: 112 })), /takes 150×150 crops, config inputSize is 112/);
    });
  });

  describe('wrong crop size at embed time', () => {
    for (const id of ['arcface512-faceplugin', 'faceapi-resnet128', 'human-mobilefacenet']) {
      it(`${id}: embed and forward name the encoder, file and expected shape`, async () => {
        const enc = await loadEncoderById(id);
        const x = tf.zeros([2, 100, 100, 3]) as tf.Tensor4D;
        try {
          const s = enc.inputSize;
          const re = new RegExp(`encoder "${id}" \\(.*\\): input must be aligned crops \\[N, ${s}, ${s}, 3\\].*got \\[2, 100, 100, 3\\]`);
          await rejects(enc.embed(x), re);
          if (enc.forward) assert.throws(() => enc.forward!(x), re);
        } finally {
          x.dispose();
          enc.dispose();
        }
        await rejects(enc.embed(x), /used after dispose/);
      });
    }
  });

  describe('command encoder', () => {
    // A stand-in external encoder: per face, [mean R, mean G, mean B, 1] of the model input it receives.
    const script = () => {
      const f = path.join(tmp, 'meanEncoder.js');
      fs.writeFileSync(f, `
        const chunks = [];
        process.stdin.on('data', (c) => chunks.push(c));
        process.stdin.on('end', () => {
          const all = Buffer.concat(chunks);
          const nl = all.indexOf(10);
          const header = JSON.parse(all.subarray(0, nl).toString());
          if (process.argv[2] === 'fail') { console.error('model crashed'); process.exit(3); }
          const body = all.subarray(nl + 1);
          const data = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
          const [n, h, w, c] = header.shape;
          const rows = [];
          for (let i = 0; i < n; i++) {
            const m = [0, 0, 0];
            for (let p = 0; p < h * w; p++) for (let k = 0; k < 3; k++) m[k] += data[(i * h * w + p) * 3 + k] / (h * w);
            rows.push(process.argv[2] === 'short' ? m : [...m, 1]);
          }
          process.stdout.write(JSON.stringify({ embeddings: rows }));
        });`);
      return f;
    };
    const config = (args: string[]): EncoderConfig => ({
      id: 'mean-colour', format: 'command', model: { command: [process.execPath, script(), ...args] },
      inputSize: 8, layout: 'NHWC', channelOrder: 'RGB', normalization: { mean: [0, 0, 0], std: [255, 255, 255] },
      alignment: { template: 'arcface-5pt', size: 8 }, embeddingDim: 4, l2Normalized: false,
      known: { architecture: false, weights: false, differentiable: false }, description: 'test', license: 'MIT', source: 'test',
    });

    it('sends preprocessed crops and L2-normalises the rows it gets back', async () => {
      const enc = await loadEncoder(config([]));
      const x = tf.tidy(() => tf.concat([tf.fill([1, 8, 8, 3], 0.5), tf.ones([1, 8, 8, 3])]) as tf.Tensor4D);
      const rows = await enc.embed(x);
      x.dispose();
      enc.dispose();
      const a = 1 / Math.sqrt(3 * 0.25 + 1);
      [0.5 * a, 0.5 * a, 0.5 * a, a].forEach((v, i) => assert.ok(Math.abs(rows[0][i] - v) < 1e-5, `row 0 [${i}]`));
      [0.5, 0.5, 0.5, 0.5].forEach((v, i) => assert.ok(Math.abs(rows[1][i] - v) < 1e-5, `row 1 [${i}]`));
    });

    it('reports a failing command with its exit code and stderr, and a wrong output size', async () => {
      await rejects(loadEncoder(config(['fail'])), /encoder "mean-colour" \(command .*meanEncoder\.js fail"\): exited with code 3: model crashed/);
      await rejects(loadEncoder(config(['short'])), /outputs 3 values per face, config embeddingDim is 4/);
      const missing = { ...config([]), model: { command: [path.join(tmp, 'no-such-program')] } };
      await rejects(loadEncoder(missing), /cannot start/);
    });
  });

  describe('registry', () => {
    it('lists the shipped configs and lets a workspace override and add (models/encoders and *.faceinv-encoder.json)', () => {
      const ws = fs.mkdtempSync(path.join(tmp, 'ws-'));
      const mine = withConfig('human-mobilefacenet', { description: 'workspace copy' });
      fs.mkdirSync(path.join(ws, 'models', 'encoders'), { recursive: true });
      fs.mkdirSync(path.join(ws, 'sub', 'deeper'), { recursive: true });
      fs.writeFileSync(path.join(ws, 'models', 'encoders', 'human-mobilefacenet.json'), JSON.stringify(mine));
      fs.writeFileSync(path.join(ws, 'sub', 'deeper', 'extra.faceinv-encoder.json'), JSON.stringify({ ...mine, id: 'extra' }));
      fs.writeFileSync(path.join(ws, 'broken.faceinv-encoder.json'), '{ not json');
      fs.writeFileSync(path.join(ws, 'invalid.faceinv-encoder.json'), JSON.stringify({ ...mine, id: 'invalid', layout: 'CHW' }));
      const entries = listEncoderConfigs({ workspaceDirs: [ws] });
      const ids = entries.map((e) => e.config.id).sort();
      assert.deepStrictEqual(ids, ['arcface512-faceplugin', 'extra', 'faceapi-resnet128', 'human-faceres', 'human-mobilefacenet']);
      const shadow = entries.find((e) => e.config.id === 'human-mobilefacenet')!;
      assert.strictEqual(shadow.config.description, 'workspace copy');
      assert.strictEqual(shadow.shadows, path.join(SHIPPED_ENCODER_DIR, 'human-mobilefacenet.json'), 'the workspace config says whom it replaces');
      const { invalid } = scanEncoders({ workspaceDirs: [ws] });
      assert.ok(invalid.some((f) => f.file.endsWith('broken.faceinv-encoder.json') && /not valid JSON/.test(f.problems[0].reason)), JSON.stringify(invalid));
      assert.ok(invalid.some((f) => f.id === 'invalid' && f.problems.some((p) => p.where.endsWith('invalid.faceinv-encoder.json#/layout'))), JSON.stringify(invalid));
      assert.throws(() => findEncoderConfig('invalid', { workspaceDirs: [ws] }), /encoder "invalid" is defined in .*invalid\.faceinv-encoder\.json, but that file is invalid:\n.*#\/layout/);
      assert.throws(() => loadEncoderConfig(path.join(ws, 'invalid.faceinv-encoder.json')), /invalid encoder config .*invalid\.faceinv-encoder\.json/);
    });

    it('resolves npm and path model locations, and fails clearly', async () => {
      const npmPath = resolveModelPath(shipped('arcface512-faceplugin'));
      assert.ok(fs.existsSync(npmPath) && npmPath.endsWith(path.join('faceplugin-face-recognition-js', 'model', 'fr_feature.onnx')), npmPath);
      assert.strictEqual(resolveModelPath(withConfig('arcface512-faceplugin', { model: { path: 'm/x.onnx' } }), '/ws'), path.resolve('/ws/m/x.onnx'));
      assert.strictEqual(resolveModelPath(withConfig('arcface512-faceplugin', { model: { path: '/abs/x.onnx' } }), '/ws'), '/abs/x.onnx');
      assert.throws(() => resolveModelPath(withConfig('arcface512-faceplugin', { model: { npm: 'no-such-package-xyz', file: 'a.onnx' } })),
        /npm package "no-such-package-xyz" is not installed/);
      await rejects(loadEncoderById('no-such-encoder'), /no encoder config with id "no-such-encoder" \(known: .*arcface512-faceplugin/);
    });
  });
});
