/**
 * PCA face models shared between runs: a model depends only on the attacker's training faces (dataset,
 * images, their crops' frame), the number of components, the clamp and the seed, so every run with the same
 * split reuses the one built first (`<cache>/facemodels/pca-<key>/`). The run folder gets the files too, as
 * hard links where the file system allows (no extra space), else copies: a run folder stays self-contained.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AlignmentSpec } from '../../data/templates';
import { loadPcaFaceModel, PCA_FILES, PcaFaceModel } from './pca';

export interface PcaKey {
  datasetId: string;
  /** Dataset-relative paths of the training faces, in order. */
  rels: readonly string[];
  frame: AlignmentSpec;
  components: number;
  clamp: number;
  seed: number;
}

export function pcaKey(k: PcaKey): string {
  return createHash('sha1').update(JSON.stringify({ ...k, rels: createHash('sha1').update(k.rels.join('\n')).digest('hex') })).digest('hex').slice(0, 16);
}

function linkOrCopy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.rmSync(to, { force: true });
  try {
    fs.linkSync(from, to);
  } catch {
    fs.copyFileSync(from, to);
  }
}

/** The run's model if it has the right one, else the shared cached one (linked into the run), else null. */
export function findPcaFaceModel(runDir: string, cacheDir: string, key: PcaKey): PcaFaceModel | null {
  const fits = (m: PcaFaceModel) => m.description.components === key.components && m.description.clamp === key.clamp &&
    m.description.frame.template === key.frame.template && m.description.frame.size === key.frame.size;
  const own = loadPcaFaceModel(runDir);
  if (own && fits(own)) return own;
  own?.dispose();
  const shared = path.join(cacheDir, 'facemodels', `pca-${pcaKey(key)}`);
  const cached = loadPcaFaceModel(shared);
  if (!cached) return null;
  if (!fits(cached)) { cached.dispose(); return null; }
  for (const f of Object.values(PCA_FILES)) linkOrCopy(path.join(shared, f), path.join(runDir, f));
  return cached;
}

/** Saves a freshly built model into the run folder and the shared cache. */
export async function keepPcaFaceModel(model: PcaFaceModel, runDir: string, cacheDir: string, key: PcaKey): Promise<void> {
  await model.save(runDir);
  const shared = path.join(cacheDir, 'facemodels', `pca-${pcaKey(key)}`);
  try {
    for (const f of Object.values(PCA_FILES)) linkOrCopy(path.join(runDir, f), path.join(shared, f));
  } catch {
    /* a read-only or full cache only costs the next run a rebuild */
  }
}
