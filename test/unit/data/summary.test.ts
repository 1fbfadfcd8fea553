import * as assert from 'node:assert';
import { formatDuration, formatProgress } from '../../../daemon/data/progress';
import { formatFailures, formatStats } from '../../../daemon/data/summary';
import { parseCropSpecs } from '../../../daemon/cli/commands/embed';

describe('data/summary, progress and embed flags', () => {
  it('formats progress with rate and ETA', () => {
    assert.strictEqual(formatDuration(5), '5s');
    assert.strictEqual(formatDuration(125), '2m05s');
    assert.strictEqual(formatDuration(3 * 3600 + 60), '3h01m');
    assert.strictEqual(formatDuration(NaN), '?');
    const line = formatProgress('embed', 50, 200, 2, 10);
    assert.match(line, /^embed \[######------------------\] 50\/200 25\.0% 5\.0 img\/s ETA 30s failed 2$/);
  });

  it('groups failures by kind and lists each with its file', () => {
    const lines = formatFailures([
      { file: '/d/a.jpg', kind: 'no-face', detail: 'no face' },
      { file: '/d/b.jpg', kind: 'corrupt', detail: 'jpeg does not decode' },
      { file: '/d/c.jpg', kind: 'no-face', detail: 'no face' },
    ], 2);
    assert.deepStrictEqual(lines, [
      'failures: 3 (no-face 2, corrupt 1)',
      '  /d/a.jpg: no-face: no face',
      '  /d/b.jpg: corrupt: jpeg does not decode',
      '  … and 1 more',
    ]);
    assert.deepStrictEqual(formatFailures([]), ['failures: none']);
    assert.match(formatStats({ total: 10, cached: 4, processed: 6, multiFace: 1, seconds: 2, imagesPerSecond: 3, workers: 2, preAligned: 0 }),
      /images: 10 \(cached 4, processed 6 in 2\.0 s, 3\.0 images\/s on 2 workers\); several faces found in 1 \(largest central one used\)$/);
    const pre = { spec: { template: 'arcface-5pt' as const, size: 112 }, how: 'detected' as const, detail: 'the 8 photos sampled are all 112×112' };
    assert.match(formatStats({ total: 10, cached: 0, processed: 10, multiFace: 0, seconds: 2, imagesPerSecond: 5, workers: 2, preAligned: 10, preAlignment: pre }),
      /; already aligned \(the 8 photos sampled are all 112×112\): 10 photos embedded without detection$/);
  });

  it('parses --crops and names bad items', () => {
    assert.deepStrictEqual(parseCropSpecs('arcface-5pt:128, dlib-5pt-chip:150'), [
      { template: 'arcface-5pt', size: 128 }, { template: 'dlib-5pt-chip', size: 150 },
    ]);
    assert.deepStrictEqual(parseCropSpecs(''), []);
    assert.throws(() => parseCropSpecs('arcface-5pt'), /"arcface-5pt" is not TEMPLATE:SIZE/);
    assert.throws(() => parseCropSpecs('square:64'), /unknown alignment template "square"/);
  });
});
