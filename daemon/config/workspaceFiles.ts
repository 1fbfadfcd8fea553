/**
 * Config files found in a workspace by walking it: encoder configs (`*.faceinv-encoder.json`) for the encoder
 * registry, run configs (`*.faceinv-run.json`) for the language server and for the runs folders the daemon's run
 * feed serves. One walk, so every reader skips the same folders and looks equally deep.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Folders never searched for workspace configs (build output, caches, runs, audits). */
export const WORKSPACE_SKIP_DIRS: ReadonlySet<string> = new Set(['node_modules', '.git', 'out', 'runs', 'audits', '.cache', '.faceinv', '.vscode-test']);
/** How many folders below the workspace configs are looked for. */
export const WORKSPACE_DEPTH = 4;

/** Files under `dir` (at most `depth` folders down, skipping WORKSPACE_SKIP_DIRS) whose name matches `name`. */
export function findWorkspaceFiles(dir: string, name: RegExp, depth = WORKSPACE_DEPTH, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return out; }
  for (const e of entries) {
    if (e.isDirectory() && depth > 0 && !WORKSPACE_SKIP_DIRS.has(e.name)) findWorkspaceFiles(path.join(dir, e.name), name, depth - 1, out);
    else if (e.isFile() && name.test(e.name)) out.push(path.join(dir, e.name));
  }
  return out;
}

export const RUN_CONFIG_FILE = /\.faceinv-run\.json$/i;
export const ENCODER_CONFIG_FILE = /\.faceinv-encoder\.json$/i;

/** Run config files of the given folders: each one's `models/experiments/*.json`, then the workspaces' `*.faceinv-run.json`. */
export function runConfigFiles(experimentRoots: readonly string[], workspaceDirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const dir of experimentRoots) {
    const experiments = path.join(dir, 'models', 'experiments');
    try { for (const f of fs.readdirSync(experiments).filter((n) => n.endsWith('.json')).sort()) out.push(path.join(experiments, f)); } catch { /* absent */ }
  }
  for (const ws of workspaceDirs) findWorkspaceFiles(ws, RUN_CONFIG_FILE, WORKSPACE_DEPTH, out);
  return [...new Set(out)];
}
