import * as assert from 'node:assert/strict';
import type { EncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { judgeRoute, whiteboxObstacle } from '../../../daemon/encoders/judge';

function config(over: Partial<EncoderConfig> & { known?: EncoderConfig['known'] }): EncoderConfig {
  return {
    id: 'enc', format: 'tfjs-graph', model: { path: 'm/model.json' }, inputSize: 112, layout: 'NHWC', channelOrder: 'RGB',
    normalization: { mean: [0, 0, 0], std: [255, 255, 255] }, alignment: { template: 'arcface-5pt', size: 112 }, embeddingDim: 128,
    l2Normalized: false, known: { architecture: true, weights: true, differentiable: true }, description: '', license: '', source: '', ...over,
  } as EncoderConfig;
}

describe('white/black-box judge', () => {
  it('chooses white box when architecture and weights are known and differentiable', () => {
    const d = judgeRoute(config({}), 'auto');
    assert.equal(d.route, 'whitebox');
    assert.match(d.reason, /auto: .*known and differentiable/);
  });

  it('chooses black box, with the reason, when anything is missing', () => {
    assert.match(judgeRoute(config({ known: { architecture: false, weights: true, differentiable: false } }), 'auto').reason, /architecture unknown/);
    assert.match(judgeRoute(config({ known: { architecture: true, weights: false, differentiable: false } }), 'auto').reason, /weights unavailable/);
    assert.equal(judgeRoute(config({ known: { architecture: true, weights: true, differentiable: false } }), 'auto').route, 'blackbox');
    assert.match(judgeRoute(config({ format: 'command', model: { command: ['x'] } }), 'auto').reason, /query-only/);
  });

  it('honours a forced route, refusing white box where it is impossible', () => {
    assert.equal(judgeRoute(config({}), 'blackbox').route, 'blackbox');
    assert.throws(() => judgeRoute(config({ format: 'command', model: { command: ['x'] } }), 'whitebox'), /white box requested, but .*use "route": "blackbox"/);
    assert.equal(whiteboxObstacle(config({})), null);
  });
});
