/**
 * The identity split of a run, made once and stored in the run folder (split.json); every later step —
 * training, search, evaluation, and a white box that borrows another run's decoder — reads it from there, so
 * all of them agree on who is held out. A stored split that no longer matches the config or the dataset is
 * an error, never silently replaced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunConfig } from '../protocol/runConfig';
import type { ImageDataset } from '../data/dataset';
import { hashIdentities, IdentitySplit, makeIdentitySplit, parseSplit, splitToJson } from '../data/split';
import { RUN_FILES } from '../protocol/runFolder';
import { writeFileAtomic } from '../runs/runFolder';

export function ensureRunSplit(runDir: string, dataset: ImageDataset, config: RunConfig): IdentitySplit {
  const file = path.join(runDir, RUN_FILES.split);
  if (fs.existsSync(file)) {
    const s = parseSplit(fs.readFileSync(file, 'utf8'), file);
    const c = config.split;
    if (s.seed !== c.seed || s.testFraction !== c.testFraction || s.validationFraction !== c.validationFraction) {
      throw new Error(`${file} was made with seed ${s.seed}, testFraction ${s.testFraction}, validationFraction ${s.validationFraction}, ` +
        `but the config asks for ${c.seed}, ${c.testFraction}, ${c.validationFraction}; use a new run name (or --overwrite)`);
    }
    if (s.identitiesHash !== hashIdentities(dataset.identities)) {
      throw new Error(`${file} was made from another list of identities than ${dataset.root} now holds (dataset changed, or dataset.maxIdentities changed); use a new run name (or --overwrite)`);
    }
    return s;
  }
  const s = makeIdentitySplit(dataset.identities, { seed: config.split.seed, testFraction: config.split.testFraction, validationFraction: config.split.validationFraction });
  writeFileAtomic(file, splitToJson(s));
  return s;
}

/** The stored split of another run (a generator's), with a clear error for an old folder without one. */
export function readRunSplit(runDir: string): IdentitySplit {
  const file = path.join(runDir, RUN_FILES.split);
  if (!fs.existsSync(file)) {
    throw new Error(`${runDir} has no ${RUN_FILES.split} (a run from an older version): its training identities are unknown, so its decoder cannot be trusted ` +
      'not to have seen the targets; train it again with this version (faceinv train CONFIG --overwrite)');
  }
  return parseSplit(fs.readFileSync(file, 'utf8'), file);
}
