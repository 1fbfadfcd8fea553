import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { decodeImage, decodeImageBytes, writePng, sniffImageFormat } from '../../../daemon/data/image';
import { FaceDataError } from '../../../daemon/data/errors';
import { HAVE_LFW, lfwImage, requireLfw, tempDir } from './helpers';

async function expectFailure(p: Promise<unknown>, file: string, kind: string): Promise<FaceDataError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof FaceDataError, `expected a FaceDataError, got ${err}`);
    assert.strictEqual(err.kind, kind, err.message);
    assert.strictEqual(err.file, file);
    assert.ok(err.message.includes(file), `message should name the file: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${kind} for ${file}`);
}

describe('data/image: decoding', () => {
  const dir = tempDir('image');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // A 64×48 test card: left half red, right half blue.
  const W = 64, H = 48;
  const card = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) card.set(x < W / 2 ? [200, 30, 30] : [30, 30, 200], (y * W + x) * 3);

  it('decodes an LFW JPEG to 250×250 RGB', async function () {
    requireLfw(this);
    const img = await decodeImage(lfwImage('Aaron_Eckhart', 1));
    assert.deepStrictEqual([img.width, img.height, img.data.length], [250, 250, 250 * 250 * 3]);
  });

  it('expands grayscale to three equal channels', async () => {
    const f = path.join(dir, 'gray.png');
    await sharp(card, { raw: { width: W, height: H, channels: 3 } }).grayscale().png().toFile(f);
    const img = await decodeImage(f);
    assert.strictEqual(img.data.length, W * H * 3);
    for (let i = 0; i < W * H; i++) {
      assert.strictEqual(img.data[3 * i], img.data[3 * i + 1]);
      assert.strictEqual(img.data[3 * i], img.data[3 * i + 2]);
    }
  });

  it('converts CMYK JPEG to sRGB', async () => {
    const f = path.join(dir, 'cmyk.jpg');
    await sharp(card, { raw: { width: W, height: H, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(f);
    const meta = await sharp(f).metadata();
    assert.strictEqual(meta.space, 'cmyk', 'fixture should really be CMYK');
    const img = await decodeImage(f);
    const left = img.data.subarray((20 * W + 5) * 3, (20 * W + 5) * 3 + 3);
    const right = img.data.subarray((20 * W + 58) * 3, (20 * W + 58) * 3 + 3);
    // Saturated red/blue are outside the CMYK gamut, so they come back duller; the hue must survive.
    assert.ok(left[0] > 110 && left[0] > left[2] + 60, `left should be red, got ${[...left]}`);
    assert.ok(right[2] > 110 && right[2] > right[0] + 60, `right should be blue, got ${[...right]}`);
  });

  it('flattens alpha onto white', async () => {
    const f = path.join(dir, 'alpha.png');
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) rgba.set(i % W < W / 2 ? [0, 0, 0, 0] : [10, 20, 30, 255], i * 4);
    await sharp(rgba, { raw: { width: W, height: H, channels: 4 } }).png().toFile(f);
    const img = await decodeImage(f);
    assert.deepStrictEqual([...img.data.subarray(0, 3)], [255, 255, 255], 'transparent → white');
    const o = (W - 1) * 3;
    assert.deepStrictEqual([...img.data.subarray(o, o + 3)], [10, 20, 30], 'opaque kept');
  });

  it('applies EXIF orientation (6 = rotate 90° clockwise)', async () => {
    const f = path.join(dir, 'exif6.jpg');
    await sharp(card, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(f);
    const img = await decodeImage(f);
    assert.deepStrictEqual([img.width, img.height], [H, W]);
    // After a clockwise turn the red (left) half is on top.
    const top = img.data.subarray((5 * H + 24) * 3, (5 * H + 24) * 3 + 3);
    assert.ok(top[0] > 150 && top[2] < 90, `top should be red, got ${[...top]}`);
  });

  it('reports a truncated JPEG as corrupt, naming the file', async function () {
    requireLfw(this);
    const f = path.join(dir, 'truncated.jpg');
    const bytes = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
    fs.writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectFailure(decodeImage(f), f, 'corrupt');
  });

  it('reports a text file named .jpg as not-an-image', async () => {
    const f = path.join(dir, 'notes.jpg');
    fs.writeFileSync(f, 'this is not a picture\n');
    const err = await expectFailure(decodeImage(f), f, 'not-an-image');
    assert.match(err.detail, /signature/);
  });

  it('reports an empty file, a missing file and a tiny image', async () => {
    const empty = path.join(dir, 'empty.png');
    fs.writeFileSync(empty, '');
    await expectFailure(decodeImage(empty), empty, 'not-an-image');
    const missing = path.join(dir, 'missing.jpg');
    await expectFailure(decodeImage(missing), missing, 'unreadable');
    const tiny = path.join(dir, 'tiny.png');
    await sharp(Buffer.alloc(20 * 20 * 3, 128), { raw: { width: 20, height: 20, channels: 3 } }).png().toFile(tiny);
    const err = await expectFailure(decodeImage(tiny), tiny, 'too-small');
    assert.match(err.detail, /20×20/);
  });

  it('reports damaged PNG data as corrupt', async () => {
    const f = path.join(dir, 'damaged.png');
    const png = await sharp(card, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    const bad = Buffer.from(png);
    for (let i = 60; i < bad.length - 20; i++) bad[i] ^= 0x5a;
    fs.writeFileSync(f, bad);
    await expectFailure(decodeImage(f), f, 'corrupt');
  });

  it('sniffs formats from magic bytes', () => {
    assert.strictEqual(sniffImageFormat(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), 'jpeg');
    assert.strictEqual(sniffImageFormat(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1')), 'png');
    assert.strictEqual(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1')), 'webp');
    assert.strictEqual(sniffImageFormat(Buffer.from('hello world!')), null);
  });

  it('writes PNGs from float [0,1] and uint8 pixels, round-tripping exactly', async () => {
    const f = path.join(dir, 'out.png');
    const px = new Float32Array(W * H * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i % 256) / 255;
    await writePng(f, px, W, H);
    const back = await decodeImage(f);
    for (let i = 0; i < px.length; i++) assert.strictEqual(back.data[i], i % 256);
    await assert.rejects(writePng(f, new Float32Array(5), W, H), /expected 64×48×3/);
    const u8 = path.join(dir, 'u8.png');
    await writePng(u8, back.data, W, H);
    assert.deepStrictEqual((await decodeImageBytes(fs.readFileSync(u8), u8)).data, back.data);
  });

  if (!HAVE_LFW) it('LFW-based image tests skipped (LFW absent)', () => undefined);
});
