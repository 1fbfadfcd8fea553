/**
 * The secant search's forward model (./forwardModel.ts), kept between runs. Fitting it asks the attacked encoder
 * 8 queries per latent component (4,096 for the main job: 29–49 s of a 5-minute search on 2 cores, every run);
 * it depends only on the face model, its renderer, the encoder and the fit's options, so a later run with the
 * same ones reuses it and spends those seconds on the targets' queries.
 *
 * Keyed by a fingerprint of what it models rather than by names: the encoder's templates of two fixed latents
 * (the mean face and one seeded face: two of the attacker's own queries, rounded to 1e-3 so that thread-order
 * noise in the last digits does not miss the cache), the latent and template sizes, and the fit's options. A
 * change of face model, renderer, weights or of the system behind an encoder id changes the fingerprint and the
 * model is fitted again.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../runs/runFolder';
import type { FaceModel } from '../faceModel/types';
import { fitForwardModel, type ForwardModel, type ForwardModelOptions } from './forwardModel';
import { gaussian } from './gaussian';

/** Bump when the fit or the file layout changes. */
const FORMAT = 1;

interface Header { format: number; k: number; dim: number; explained: number; queries: number }

/**
 * The forward model from `cacheDir` when one with this fingerprint was fitted before, else fitted and kept there;
 * without a `cacheDir`, fitted (no fingerprint queries, nothing kept).
 */
export async function cachedForwardModel(model: FaceModel, templates: (latents: Float32Array) => Promise<Float32Array>, o: ForwardModelOptions,
  cacheDir: string | undefined): Promise<{ forward: ForwardModel; cached: boolean }> {
  if (cacheDir === undefined) return { forward: await fitForwardModel(model, templates, o), cached: false };
  const file = path.join(cacheDir, 'forward', `${await fingerprint(model, templates, o)}.bin`);
  const kept = readKept(file, model.latentDim);
  if (kept) return { forward: kept, cached: true };
  const forward = await fitForwardModel(model, templates, o);
  writeFileAtomic(file, serialise(forward));
  return { forward, cached: false };
}

async function fingerprint(model: FaceModel, templates: (latents: Float32Array) => Promise<Float32Array>, o: ForwardModelOptions): Promise<string> {
  const k = model.latentDim;
  const randn = gaussian(20261207);
  const z = new Float32Array(2 * k);
  for (let i = 0; i < k; i++) z[k + i] = randn() * model.latentScale;
  model.clampLatents(z);
  const e = await templates(z);
  const h = createHash('sha256').update(JSON.stringify({ FORMAT, k, dim: e.length / 2, o }));
  h.update(Int32Array.from(e, (v) => Math.round(v * 1000)));
  return h.digest('hex').slice(0, 24);
}

function serialise(f: ForwardModel): Uint8Array {
  const head = Buffer.from(JSON.stringify({ format: FORMAT, k: f.k, dim: f.dim, explained: f.explained, queries: f.queries } satisfies Header));
  const out = new Uint8Array(4 + head.length + 4 * (f.slope.length + f.metric.length));
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  const body = new Float32Array(f.slope.length + f.metric.length);
  body.set(f.slope);
  body.set(f.metric, f.slope.length);
  out.set(new Uint8Array(body.buffer), 4 + head.length);
  return out;
}

/** The kept model, or undefined when there is none or the file does not hold what its header says (then refitted). */
function readKept(file: string, k: number): ForwardModel | undefined {
  if (!fs.existsSync(file)) return undefined;
  try {
    const buf = fs.readFileSync(file);
    const n = buf.readUInt32LE(0);
    const h = JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as Header;
    const floats = h.k * h.dim + h.dim * h.dim;
    if (h.format !== FORMAT || h.k !== k || buf.length !== 4 + n + 4 * floats) return undefined;
    const body = new Float32Array(buf.buffer.slice(buf.byteOffset + 4 + n, buf.byteOffset + buf.length));
    return { k: h.k, dim: h.dim, slope: body.slice(0, h.k * h.dim), metric: body.slice(h.k * h.dim), explained: h.explained, queries: h.queries };
  } catch {
    return undefined;
  }
}
