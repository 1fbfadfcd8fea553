/**
 * End to end through the real models (fr_detect, fr_landmark, the registry's arcface512-faceplugin): a small
 * dataset of LFW faces plus every kind of bad input, run through `faceinv embed` as a child process (real
 * worker threads, real exit code), the data API, the resumable caches and a kill in the middle of a run.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { tf } from '../../../daemon/tfjs/tf';
import { getEmbeddings, getAlignedCrops } from '../../../daemon/data/embeddingCache';
import { openImageDataset } from '../../../daemon/data/dataset';
import { PipelineCore } from '../../../daemon/data/pipelineCore';
import { REGISTRY_LOADER, embeddingsLogPath } from '../../../daemon/data/pipeline';
import { encoderTarget } from '../../../daemon/data/encoderTarget';
import { RecordLog } from '../../../daemon/data/recordLog';
import { FaceAnalyzer, geometryOf } from '../../../daemon/data/faceAnalysis';
import { decodeImage } from '../../../daemon/data/image';
import { alignFace } from '../../../daemon/data/align';
import { HAVE_LFW, LFW_IMAGES, lfwImage, noFaceJpeg, tempDir } from './helpers';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const CLI = path.join(REPO, 'bin', 'faceinv.js');
const ENCODER = 'arcface512-faceplugin';

function cos(a: Float32Array, i: number, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[i * d + k] * a[j * d + k];
  return s;
}

describe('data/pipeline: faceinv embed end to end', function () {
  this.timeout(180000);
  let dir: string;
  let data: string;
  let cache: string;
  const bad: Record<string, string> = {};

  before(async function () {
    if (!HAVE_LFW) {
      console.log('    (skipped: LFW not found)');
      this.skip();
    }
    dir = tempDir('pipeline');
    data = path.join(dir, 'data');
    cache = path.join(dir, 'cache');
    const put = (id: string, name: string) => {
      fs.mkdirSync(path.join(data, id), { recursive: true });
      return path.join(data, id, name);
    };
    for (const n of [1, 2, 3, 4]) fs.copyFileSync(lfwImage('Abel_Pacheco', n), put('Abel_Pacheco', `Abel_Pacheco_000${n}.jpg`));
    for (const n of [1, 2]) fs.copyFileSync(lfwImage('Akhmed_Zakayev', n), put('Akhmed_Zakayev', `Akhmed_Zakayev_000${n}.jpg`));
    // Odd but valid encodings of Akhmed_Zakayev_0003: grayscale PNG, CMYK JPEG, RGBA PNG with transparent border.
    const src = lfwImage('Akhmed_Zakayev', 3);
    await sharp(src).grayscale().png().toFile(put('Akhmed_Zakayev', 'gray.png'));
    await sharp(src).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(put('Akhmed_Zakayev', 'cmyk.jpg'));
    const { data: rgb, info } = await sharp(src).raw().toBuffer({ resolveWithObject: true });
    const rgba = Buffer.alloc(info.width * info.height * 4);
    for (let i = 0; i < info.width * info.height; i++) {
      const x = i % info.width, y = Math.floor(i / info.width);
      const inside = x > 10 && y > 10 && x < info.width - 10 && y < info.height - 10;
      rgba.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], inside ? 255 : 0], 4 * i);
    }
    await sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toFile(put('Akhmed_Zakayev', 'alpha.png'));
    // Bad inputs.
    bad.truncated = put('Broken', 'truncated.jpg');
    const jpg = fs.readFileSync(lfwImage('Abel_Pacheco', 1));
    fs.writeFileSync(bad.truncated, jpg.subarray(0, jpg.length >> 1));
    bad.text = put('Broken', 'notes.jpg');
    fs.writeFileSync(bad.text, 'definitely not a JPEG\n');
    bad.tiny = put('Broken', 'tiny.png');
    await sharp(Buffer.alloc(16 * 16 * 3, 90), { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(bad.tiny);
    bad.noface = put('Broken', 'noface.jpg');
    fs.writeFileSync(bad.noface, await noFaceJpeg());
  });

  after(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });

  const runCli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'embed', '--encoder', ENCODER, '--dataset', data, '--cache', cache, ...args], { encoding: 'utf8' });

  it('embeds the good images, lists each bad one with its problem, exits 1', () => {
    const r = runCli('--workers', '2');
    assert.strictEqual(r.status, 1, r.stderr + r.stdout);
    const out = r.stdout;
    assert.match(out, /images: 13 \(cached 0, processed 13/);
    assert.match(out, /failures: 4 \(/);
    assert.ok(out.includes(`${bad.truncated}: corrupt:`), out);
    assert.ok(out.includes(`${bad.text}: not-an-image:`), out);
    assert.ok(out.includes(`${bad.tiny}: too-small: 16×16 px`), out);
    assert.ok(out.includes(`${bad.noface}: no-face:`), out);
    assert.match(out, /9 embeddings of dim 512/);
    assert.match(r.stderr, /13\/13 100\.0% [\d.]+ img\/s/);
  });

  it('a rerun does no work, reports the same failures and the same exit code', () => {
    const r = runCli();
    assert.strictEqual(r.status, 1, r.stderr);
    assert.match(r.stdout, /images: 13 \(cached 13, processed 0/);
    assert.match(r.stdout, /failures: 4 \(/);
  });

  it('getEmbeddings serves the cache: unit rows, identities separated, odd encodings still match', async () => {
    const e = await getEmbeddings(data, ENCODER, { cacheDir: cache, workers: 0 });
    assert.strictEqual(e.stats.processed, 0, 'everything came from the cache');
    assert.strictEqual(e.files.length, 9);
    assert.strictEqual(e.failed.length, 4);
    const at = (rel: string) => e.rels.indexOf(rel);
    for (let i = 0; i < e.files.length; i++) assert.ok(Math.abs(cos(e.embeddings, i, i, e.dim) - 1) < 1e-4);
    const same = cos(e.embeddings, at('Abel_Pacheco/Abel_Pacheco_0001.jpg'), at('Abel_Pacheco/Abel_Pacheco_0002.jpg'), e.dim);
    const diff = cos(e.embeddings, at('Abel_Pacheco/Abel_Pacheco_0001.jpg'), at('Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg'), e.dim);
    assert.ok(same > 0.35 && diff < 0.25 && same > diff + 0.2, `same ${same}, different ${diff}`);
    const gray = at('Akhmed_Zakayev/gray.png'), cmyk = at('Akhmed_Zakayev/cmyk.jpg'), alpha = at('Akhmed_Zakayev/alpha.png');
    assert.ok(cos(e.embeddings, cmyk, alpha, e.dim) > 0.8, 'CMYK and RGBA versions of one photo embed alike');
    assert.ok(cos(e.embeddings, gray, cmyk, e.dim) > 0.6, 'grayscale version still matches');
  });

  it('getAlignedCrops returns cached crops identical to a fresh alignment', async () => {
    const c = await getAlignedCrops(data, 'arcface-5pt', 128, { cacheDir: cache, workers: 0 });
    assert.strictEqual(c.files.length, 9);
    assert.strictEqual(c.crops.length, 9 * 128 * 128 * 3);
    const again = await getAlignedCrops(data, 'arcface-5pt', 128, { cacheDir: cache, workers: 0 });
    assert.strictEqual(again.stats.processed, 0);
    assert.deepStrictEqual(again.crops, c.crops);
    const an = await FaceAnalyzer.load();
    try {
      const k = c.rels.indexOf('Abel_Pacheco/Abel_Pacheco_0003.jpg');
      const { image, analysis } = await an.analyseFile(c.files[k]);
      const fresh = alignFace(image, geometryOf(analysis), { template: 'arcface-5pt', size: 128 });
      assert.deepStrictEqual(c.crops.subarray(k * 128 * 128 * 3, (k + 1) * 128 * 128 * 3), fresh);
    } finally {
      await an.dispose();
    }
  });

  it('disposes every tensor it creates while embedding', async () => {
    const core = await PipelineCore.create({ threads: 1, encoder: { ...REGISTRY_LOADER, id: ENCODER, alignment: { template: 'arcface-5pt', size: 112 } } });
    try {
      const items = [0, 1, 2].map((i) => ({ index: i, file: lfwImage('Abel_Pacheco', i + 1), embed: true, crops: [] }));
      await core.process(items.slice(0, 1)); // warm-up (backend start-up may allocate once)
      const before = tf.memory().numTensors;
      const res = await core.process(items);
      assert.strictEqual(tf.memory().numTensors, before);
      assert.ok(res.every((r) => r.embedding && r.embedding.length === 512 && !r.failure));
    } finally {
      await core.dispose();
    }
  });

  it('a run killed midway keeps what it wrote; the rerun resumes from there', async function () {
    // 120 LFW images via symlinks (nothing copied), embedded by a child process that is SIGKILLed.
    const big = path.join(dir, 'big');
    const people = fs.readdirSync(LFW_IMAGES).slice(0, 400);
    let count = 0;
    for (const p of people) {
      for (const f of fs.readdirSync(path.join(LFW_IMAGES, p))) {
        if (count >= 120) break;
        fs.mkdirSync(path.join(big, p), { recursive: true });
        fs.symlinkSync(path.join(LFW_IMAGES, p, f), path.join(big, p, f));
        count++;
      }
    }
    const ds = openImageDataset(big);
    const logFile = embeddingsLogPath(cache, ds.id, encoderTarget(ENCODER));
    const child = spawn(process.execPath, [CLI, 'embed', '--encoder', ENCODER, '--dataset', big, '--cache', cache, '--workers', '1'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const t0 = Date.now();
    // Wait until at least ~20 records (≈ 2.1 kB each) are on disk, then kill hard.
    while (!(fs.existsSync(logFile) && fs.statSync(logFile).size > 20 * 2100) && Date.now() - t0 < 60000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await exited;
    const partial = RecordLog.open(logFile);
    const written = partial.size;
    partial.close();
    assert.ok(written >= 20 && written < 120, `the killed run should have written part of the work, wrote ${written}`);
    const r = spawnSync(process.execPath, [CLI, 'embed', '--encoder', ENCODER, '--dataset', big, '--cache', cache], { encoding: 'utf8' });
    const m = /cached (\d+), processed (\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) >= written, `rerun reused ${m[1]} of ${written} written`);
    assert.strictEqual(Number(m[1]) + Number(m[2]), 120);
    assert.strictEqual(r.status, 0, r.stdout);
  });
});

describe('data/pipeline: decoding a real image twice gives identical pixels', () => {
  it('is deterministic', async function () {
    if (!HAVE_LFW) this.skip();
    const a = await decodeImage(lfwImage('Abel_Pacheco', 1));
    const b = await decodeImage(lfwImage('Abel_Pacheco', 1));
    assert.deepStrictEqual(a.data, b.data);
  });
});
