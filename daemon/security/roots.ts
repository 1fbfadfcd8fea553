/**
 * The folders a daemon may read and write on behalf of its clients: the workspace (configs, run folders,
 * embeddings files), data roots (`--data-root`, repeatable; LFW at `../shared/data/lfw` next to the
 * repository by default when it exists, and `FACEINV_LFW` when set), model roots (the repository's
 * `models/` and the model folders inside the npm packages that ship face models) and extra run roots.
 * `confinePath(p, roots.all, what)` (./paths) checks a path against them.
 *
 * The daemon registers its roots once at start (`setActiveRoots`); job kinds read them with
 * `activeRoots(ctx.workspaceDir)`, which falls back to the defaults for a workspace when no daemon set
 * them (the headless CLI).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { envValue } from '../protocol/env';

/** Repository root: the nearest folder above this file holding our package.json (source or `out/`). */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'face-inversion-lab') return dir;
      } catch { /* keep looking */ }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(__dirname, '..', '..', '..');
    dir = parent;
  }
}

export interface AllowedRoots {
  readonly workspace: string;
  readonly data: readonly string[];
  readonly models: readonly string[];
  readonly runs: readonly string[];
  /** workspace first (relative paths resolve against it), then data, models, runs; no duplicates. */
  readonly all: readonly string[];
}

export interface RootOptions {
  workspaceDir: string;
  /** `--data-root` values (relative to the workspace); defaults added after them. */
  dataRoots?: readonly string[];
  /** Leave out the default data roots (LFW next to the repo, FACEINV_LFW). */
  noDefaultDataRoots?: boolean;
  /** Extra run folders outside the workspace. */
  runRoots?: readonly string[];
}

/** LFW next to the repository, and FACEINV_LFW, where they exist. */
export function defaultDataRoots(): string[] {
  return [envValue('FACEINV_LFW'), path.join(repoRoot(), '..', 'shared', 'data', 'lfw')]
    .filter((p): p is string => !!p && fs.existsSync(p))
    .map((p) => path.resolve(p));
}

/** The repository's models/ and the model folders of the face-model npm packages, where they exist. */
export function defaultModelRoots(): string[] {
  const root = repoRoot();
  return [
    path.join(root, 'models'),
    path.join(root, 'node_modules', 'faceplugin-face-recognition-js', 'model'),
    path.join(root, 'node_modules', '@vladmandic', 'human-models', 'models'),
    path.join(root, 'node_modules', '@vladmandic', 'face-api', 'model'),
  ].filter((p) => fs.existsSync(p));
}

export function daemonRoots(opts: RootOptions): AllowedRoots {
  const workspace = path.resolve(opts.workspaceDir);
  const given = (opts.dataRoots ?? []).map((d) => path.resolve(workspace, d));
  for (const d of given) {
    if (!fs.existsSync(d)) throw new Error(`--data-root ${d} does not exist`);
    if (!fs.statSync(d).isDirectory()) throw new Error(`--data-root ${d} is not a folder`);
  }
  const data = unique([...given, ...(opts.noDefaultDataRoots ? [] : defaultDataRoots())]);
  const models = defaultModelRoots();
  const runs = unique((opts.runRoots ?? []).map((d) => path.resolve(workspace, d)));
  return { workspace, data, models, runs, all: unique([workspace, ...data, ...models, ...runs]) };
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

let active: AllowedRoots | undefined;

/** Called by the daemon at start; job kinds then confine their paths to these roots. */
export function setActiveRoots(roots: AllowedRoots | undefined): void {
  active = roots;
}

/** The daemon's roots when they were set for this workspace, else the defaults for `workspaceDir`. */
export function activeRoots(workspaceDir: string): AllowedRoots {
  const ws = path.resolve(workspaceDir);
  if (active && active.workspace === ws) return active;
  return daemonRoots({ workspaceDir: ws });
}
