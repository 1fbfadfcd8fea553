/** A finished black-box decoder with its metadata (model/meta.json), checked before use. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Decoder } from '../nets/decoder';
import { RUN_FILES } from '../protocol/runFolder';
import { readJson } from '../runs/runFolder';
import type { DecoderModelMeta } from './train';

export interface LoadedDecoder {
  decoder: Decoder;
  meta: DecoderModelMeta;
  dir: string;
}

/** Accepts a model folder or a run folder (its `model/`). */
export async function loadDecoderModel(dirOrRun: string): Promise<LoadedDecoder> {
  const dir = fs.existsSync(path.join(dirOrRun, 'meta.json')) ? dirOrRun : path.join(dirOrRun, RUN_FILES.model);
  const metaFile = path.join(dir, 'meta.json');
  if (!fs.existsSync(metaFile)) {
    throw new Error(`${dirOrRun} holds no finished decoder (no ${metaFile}); train one with "faceinv train CONFIG"`);
  }
  const meta = readJson<DecoderModelMeta>(metaFile);
  if (meta.kind !== 'faceinv-blackbox-decoder' || typeof meta.embeddingDim !== 'number') {
    throw new Error(`${metaFile} is not a Face Inversion Lab decoder description`);
  }
  const decoder = await Decoder.load(dir);
  if (decoder.options.inputDim !== meta.embeddingDim) {
    decoder.dispose();
    throw new Error(`${dir}: decoder input ${decoder.options.inputDim} differs from meta.json embeddingDim ${meta.embeddingDim}`);
  }
  return { decoder, meta, dir };
}
