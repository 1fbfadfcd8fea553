/** Encoder config validation: schema + semantic checks return useful { reason, where, expected } problems. */
import * as assert from 'node:assert';
import { EncoderConfig, assertEncoderConfig, validateEncoderConfig } from '../../../daemon/protocol/encoderConfig';

function good(): EncoderConfig {
  return {
    id: 'test-encoder',
    format: 'onnx',
    model: { path: 'models/x.onnx' },
    inputSize: 112,
    layout: 'NCHW',
    channelOrder: 'RGB',
    normalization: { mean: [127, 127, 127], std: [128, 128, 128] },
    alignment: { template: 'arcface-5pt', size: 112 },
    embeddingDim: 512,
    l2Normalized: false,
    known: { architecture: false, weights: false, differentiable: false },
    description: 'test',
    license: 'MIT',
    source: 'test',
  };
}

function problemsOf(mutate: (c: Record<string, unknown>) => void) {
  const c = JSON.parse(JSON.stringify(good())) as Record<string, unknown>;
  mutate(c);
  return validateEncoderConfig(c, 'enc.json');
}

describe('encoder config validation', () => {
  it('accepts a good config, with or without $schema', () => {
    assert.deepStrictEqual(validateEncoderConfig(good(), 'enc.json'), []);
    assert.deepStrictEqual(validateEncoderConfig({ ...good(), $schema: '../schemas/encoder.schema.json' }, 'enc.json'), []);
  });

  it('reports a missing property with its name', () => {
    const p = problemsOf((c) => { delete c.embeddingDim; });
    assert.ok(p.some((x) => /embeddingDim/.test(x.reason) && x.where.startsWith('enc.json#')), JSON.stringify(p));
  });

  it('reports unknown properties (typos) instead of ignoring them', () => {
    const p = problemsOf((c) => { c.embedingDim = 3; });
    assert.ok(p.some((x) => /embedingDim/.test(x.reason)), JSON.stringify(p));
  });

  it('rejects a bad enum value and says where', () => {
    const p = problemsOf((c) => { c.layout = 'HWC'; });
    assert.ok(p.length > 0);
    assert.ok(p.some((x) => x.where === 'enc.json#/layout'), JSON.stringify(p));
  });

  it('rejects an unknown alignment template', () => {
    const p = problemsOf((c) => { (c.alignment as Record<string, unknown>).template = 'mtcnn'; });
    assert.ok(p.some((x) => x.where.includes('/alignment/template')), JSON.stringify(p));
  });

  it('rejects mean/std of the wrong length', () => {
    const p = problemsOf((c) => { (c.normalization as Record<string, unknown>).mean = [1, 2]; });
    assert.ok(p.some((x) => x.where.includes('/normalization/mean')), JSON.stringify(p));
  });

  it('rejects a zero std (semantic)', () => {
    const p = problemsOf((c) => { (c.normalization as Record<string, unknown>).std = [1, 0, 1]; });
    assert.deepStrictEqual(p.map((x) => x.where), ['enc.json#/normalization/std/1']);
    assert.match(p[0].reason, /zero/);
  });

  it('rejects a model location that does not fit the format', () => {
    const p1 = problemsOf((c) => { c.format = 'command'; });
    assert.ok(p1.some((x) => x.where === 'enc.json#/model' && /command/.test(x.reason)), JSON.stringify(p1));
    const p2 = problemsOf((c) => { c.model = { command: ['python3', 'enc.py'] }; });
    assert.ok(p2.some((x) => x.where === 'enc.json#/model'), JSON.stringify(p2));
  });

  it('rejects a model file with the wrong extension for its format', () => {
    const p = problemsOf((c) => { c.model = { path: 'models/x.json' }; });
    assert.ok(p.some((x) => x.where === 'enc.json#/model/path' && /onnx/.test(x.reason)), JSON.stringify(p));
  });

  it('rejects an npm file path that leaves the package', () => {
    const p = problemsOf((c) => { c.model = { npm: 'pkg', file: '../../etc/model.onnx' }; });
    assert.ok(p.some((x) => x.where === 'enc.json#/model/file'), JSON.stringify(p));
  });

  it('rejects "differentiable" claims that cannot hold', () => {
    const p1 = problemsOf((c) => { c.format = 'command'; c.model = { command: ['vendor-sdk'] }; c.known = { architecture: true, weights: true, differentiable: true }; });
    assert.ok(p1.some((x) => x.where === 'enc.json#/known/differentiable' && /query-only/.test(x.reason)), JSON.stringify(p1));
    // ONNX is differentiable through the TF.js importer.
    assert.deepEqual(problemsOf((c) => { c.known = { architecture: true, weights: true, differentiable: true }; }), []);
    const p2 = problemsOf((c) => {
      c.format = 'tfjs-graph'; c.model = { path: 'm/model.json' }; c.known = { architecture: true, weights: false, differentiable: true };
    });
    assert.ok(p2.some((x) => x.where === 'enc.json#/known/differentiable' && /weights/.test(x.reason)), JSON.stringify(p2));
  });

  it('rejects a bad id and non-integer sizes', () => {
    assert.ok(problemsOf((c) => { c.id = 'Bad Id'; }).some((x) => x.where === 'enc.json#/id'));
    assert.ok(problemsOf((c) => { c.inputSize = 112.5; }).some((x) => x.where === 'enc.json#/inputSize'));
  });

  it('assertEncoderConfig throws listing the problems', () => {
    assert.throws(() => assertEncoderConfig({ ...good(), embeddingDim: 0 }, 'x.json'), /x\.json.*\n.*embeddingDim/);
    assert.strictEqual(assertEncoderConfig(good(), 'x.json').id, 'test-encoder');
  });
});
