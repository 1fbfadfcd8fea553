/**
 * Paths named *inside* run configs (dataset, run folder, a decoder run) are confined to the daemon's allowed
 * roots like the paths in request params (the server checks those), so a config file cannot make the daemon
 * read or write outside the workspace and the configured data/model roots.
 */
import * as path from 'node:path';
import type { RunConfig } from '../protocol/runConfig';
import { resolveDatasetPath } from '../config/datasetPath';
import { runDirOf } from '../runs/runFolder';
import { confinePath } from '../security/paths';
import { activeRoots } from '../security/roots';
import type { JobContext } from './context';

export function confineRunConfig(config: RunConfig, ctx: JobContext, where: string): void {
  if (ctx.trusted) return;
  const roots = activeRoots(ctx.workspaceDir).all;
  confinePath(resolveDatasetPath(config.dataset.path, ctx.workspaceDir), roots, `${where} dataset.path`);
  confinePath(runDirOf(config, ctx.workspaceDir), roots, `${where} runsDir/name`);
  if (config.faceModel.run) confinePath(path.resolve(ctx.workspaceDir, config.faceModel.run), roots, `${where} faceModel.run`);
}
