/**
 * The decoder's save format, shared by both engines (TF.js Decoder.save/load, ONNX Runtime trainer):
 *   decoder.json — { format: 'faceinv-decoder', version: 1, options, step,
 *                    tensors: [{ name, shape, offset, length }] }  (offset/length in float32 elements)
 *   weights.bin  — all tensors as little-endian float32, concatenated in manifest order: parameters,
 *                  BN moving statistics (`…/moving_mean`, `…/moving_variance`), the fixed linear base
 *                  (`base/kernel`, `base/bias`) when there is one, Adam moments (`…/adam_m`, `…/adam_v`).
 * Written atomically (`<dir>.tmp-XXXXXX`, then renames), so a kill leaves the old checkpoint or the new one.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DecoderOptions, validateDecoderOptions } from './decoderOptions';

const FORMAT = 'faceinv-decoder';
const VERSION = 1;

interface Manifest {
  format: string; version: number; options: DecoderOptions; step: number;
  tensors: Array<{ name: string; shape: number[]; offset: number; length: number }>;
}

/** Everything a checkpoint holds, as host arrays by tensor name (parameters, moving stats, Adam moments). */
export interface DecoderState {
  options: DecoderOptions;
  step: number;
  /** In save order: parameters and moving statistics, then `…/adam_m`, `…/adam_v` per trainable. */
  tensors: Array<{ name: string; shape: number[]; data: Float32Array }>;
}

/** Writes a checkpoint folder (decoder.json + weights.bin) atomically: a sibling temp dir renamed into place. */
export async function writeDecoderCheckpoint(dir: string, state: DecoderState): Promise<void> {
  const total = state.tensors.reduce((a, e) => a + e.data.length, 0);
  const buf = new Float32Array(total);
  const tensors: Manifest['tensors'] = [];
  let off = 0;
  for (const e of state.tensors) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (size !== e.data.length) throw new Error(`decoder save: tensor '${e.name}' has ${e.data.length} values for shape [${e.shape}]`);
    buf.set(e.data, off);
    tensors.push({ name: e.name, shape: e.shape, offset: off, length: e.data.length });
    off += e.data.length;
  }
  const manifest: Manifest = { format: FORMAT, version: VERSION, options: { ...state.options }, step: state.step, tensors };
  const abs = path.resolve(dir);
  await fs.promises.mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${crypto.randomBytes(4).toString('hex')}`;
  await fs.promises.mkdir(tmp);
  try {
    const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (!isLittleEndian()) throw new Error('Decoder.save: big-endian hosts are not supported');
    await fs.promises.writeFile(path.join(tmp, 'weights.bin'), bytes);
    await fs.promises.writeFile(path.join(tmp, 'decoder.json'), JSON.stringify(manifest, null, 1));
    let old: string | null = null;
    if (fs.existsSync(abs)) {
      old = `${abs}.old-${crypto.randomBytes(4).toString('hex')}`;
      await fs.promises.rename(abs, old);
    }
    await fs.promises.rename(tmp, abs);
    if (old) await fs.promises.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Reads a checkpoint folder written by `writeDecoderCheckpoint` (either engine); errors name the file. */
export async function readDecoderCheckpoint(dir: string): Promise<DecoderState> {
  const mpath = path.join(dir, 'decoder.json');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await fs.promises.readFile(mpath, 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`Decoder.load: cannot read ${mpath}: ${(e as Error).message}`);
  }
  if (manifest.format !== FORMAT || manifest.version !== VERSION) {
    throw new Error(`Decoder.load: ${mpath} is not a ${FORMAT} v${VERSION} manifest (format ${manifest.format}, version ${manifest.version})`);
  }
  const options = validateDecoderOptions(manifest.options, `${mpath} options`);
  const wpath = path.join(dir, 'weights.bin');
  const raw = await fs.promises.readFile(wpath);
  if (raw.byteLength % 4 !== 0) throw new Error(`Decoder.load: ${wpath} size ${raw.byteLength} is not a multiple of 4`);
  const all = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const tensors: DecoderState['tensors'] = [];
  for (const t of manifest.tensors) {
    if (t.offset < 0 || t.offset + t.length > all.length) throw new Error(`Decoder.load: tensor '${t.name}' lies outside ${wpath}`);
    const data = all.subarray(t.offset, t.offset + t.length);
    // A corrupt (e.g. diverged) checkpoint would otherwise train on as NaN gradients, far from its cause.
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`Decoder.load: tensor '${t.name}' in ${wpath} holds ${data[bad]} at ${bad} (not finite): the checkpoint is corrupt; run with --overwrite to start afresh`);
    tensors.push({ name: t.name, shape: t.shape, data });
  }
  if (!(Number.isInteger(manifest.step) && manifest.step >= 0)) throw new Error(`Decoder.load: bad step ${manifest.step} in ${mpath}`);
  return { options, step: manifest.step, tensors };
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
