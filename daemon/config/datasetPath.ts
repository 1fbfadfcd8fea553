/**
 * Where a dataset named in a config lives. "lfw" is the default: `FACEINV_LFW`, then `../shared/data/lfw`
 * next to the repository (the team's machines and CI), then `<FACEINV_HOME>/data/lfw`; otherwise a clear
 * message on how to get it. Other values are paths, relative to the workspace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stateDir } from '../protocol/connectionFile';
import { INSTALL_ROOT } from '../io/installation';
import { envValue } from '../protocol/env';

export const LFW_HELP =
  'LFW was not found. Download the deep-funneled LFW archive (lfw-deepfunneled.tgz) and pairs.txt from the LFW site ' +
  '(https://vis-www.cs.umass.edu/lfw/ — research use only), unpack it so that <dir>/lfw-deepfunneled/<Person>/*.jpg and ' +
  '<dir>/pairs.txt exist, then either set FACEINV_LFW=<dir>, put it at ~/.faceinv/data/lfw, or name <dir> in the ' +
  'run config\'s dataset.path (or --dataset).';


export function lfwCandidates(): string[] {
  return [
    envValue('FACEINV_LFW'),
    path.join(INSTALL_ROOT, '..', 'shared', 'data', 'lfw'),
    path.join(stateDir(), 'data', 'lfw'),
  ].filter((p): p is string => !!p);
}

export function resolveDatasetPath(value: string, workspaceDir: string): string {
  if (value === 'lfw') {
    const found = lfwCandidates().find((p) => fs.existsSync(p));
    if (!found) throw new Error(LFW_HELP);
    return path.resolve(found);
  }
  const abs = path.resolve(workspaceDir, value);
  if (!fs.existsSync(abs)) throw new Error(`dataset folder ${abs} does not exist`);
  return abs;
}
