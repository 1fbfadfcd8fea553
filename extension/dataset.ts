/**
 * The dataset a new user points the editor at (settings `faceInversion.dataset.lfw` and `.dataRoots`): what
 * the local daemon is started with. Whether LFW is found and whether a folder holds a dataset is asked of the
 * config language server (`faceinv/datasetStatus`), which applies the daemon's own rules. Plain module.
 */
import * as path from 'node:path';
import type { DatasetSettings } from '../daemon/protocol/configServer';

/**
 * `faceinv daemon` arguments and environment for the settings: the chosen LFW as FACEINV_LFW (its "lfw"
 * resolves there) and as a data root, and each extra root. Relative folders resolve against the workspace.
 */
export function daemonDatasetArgs(s: DatasetSettings, workspace: string | undefined): { args: string[]; env: Record<string, string> } {
  const abs = (p: string) => path.resolve(workspace ?? process.cwd(), p);
  const roots = [...(s.lfw ? [abs(s.lfw)] : []), ...s.dataRoots.map(abs)];
  return { args: [...new Set(roots)].flatMap((r) => ['--data-root', r]), env: s.lfw ? { FACEINV_LFW: abs(s.lfw) } : {} };
}
