/**
 * The folders a workspace's runs are written to: `<workspace>/runs`, and every `runsDir` that a run config in
 * the workspace names (a run folder is `<workspace>/<runsDir>/<name>`, runFolder.ts `runDirOf`). The daemon's
 * run feed lists the runs of all of them (and the runs folders of the runs its jobs write), so a run with its own
 * runsDir appears in the dashboard like the others.
 * Read again at each look (a config added or edited counts at the next poll); unreadable configs are skipped
 * (the language server reports them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runConfigFiles } from '../config/workspaceFiles';
import { DEFAULT_RUNS_DIR } from '../protocol/runConfig';

/** `<workspace>/runs` first, then the other runs folders named by the workspace's run configs, each once. */
export function runsFoldersOf(workspaceDir: string): string[] {
  const ws = path.resolve(workspaceDir);
  const out = [path.join(ws, DEFAULT_RUNS_DIR)];
  for (const file of runConfigFiles([ws], [ws])) {
    let runsDir: unknown;
    try { runsDir = (JSON.parse(fs.readFileSync(file, 'utf8')) as { runsDir?: unknown }).runsDir; } catch { continue; }
    if (typeof runsDir === 'string' && runsDir.length > 0) out.push(path.resolve(ws, runsDir));
  }
  return [...new Set(out)];
}

/** Job kinds whose run folder is a run (an invert job's output folder is not). */
const RUN_JOB_KINDS: ReadonlySet<string> = new Set(['run', 'train', 'evaluate']);

/** The runs folders of the runs that jobs write or wrote (the parent of each run, train or evaluate job's run folder). */
export function runsFoldersOfJobs(jobs: readonly { kind: string; runDir?: string }[]): string[] {
  return [...new Set(jobs.flatMap((j) => (j.runDir && RUN_JOB_KINDS.has(j.kind) ? [path.dirname(path.resolve(j.runDir))] : [])))];
}
