import * as assert from 'node:assert/strict';
import { averageFaces, flipCrops } from '../../../daemon/decoder/trainingSet';

describe('black-box training targets', () => {
  const size = 2;
  // three 2×2 RGB crops: two of A, one of B
  const crops = Uint8Array.from([
    ...Array(12).fill(10), ...Array(12).fill(30), ...Array(12).fill(200),
  ]);
  it('averages each identity\'s aligned crops pixel by pixel', () => {
    const { targets, targetIndex } = averageFaces(crops, ['A', 'A', 'B'], size);
    assert.deepEqual(Array.from(targetIndex), [0, 0, 1]);
    assert.equal(targets.length, 24);
    assert.ok(targets.subarray(0, 12).every((v) => v === 20));
    assert.ok(targets.subarray(12).every((v) => v === 200));
  });
  it('mirrors crops left-right', () => {
    const img = Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    assert.deepEqual(Array.from(flipCrops(img, 2)), [2, 2, 2, 1, 1, 1, 4, 4, 4, 3, 3, 3]);
  });
});
