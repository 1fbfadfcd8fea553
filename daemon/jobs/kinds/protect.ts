/**
 * `protect`: evaluate template protection schemes from a protection config (daemon/protect/run.ts), as
 * `faceinv protect` does (the CLI runs this job in process). Mirrors the `audit` kind: a config path, confined
 * to the daemon's roots, and the command line for the report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveDatasetPath } from '../../config/datasetPath';
import { assertConfig } from '../../protocol/validate';
import { validateProtectConfig } from '../../protocol/protectConfig';
import { protectDirOf, runProtect } from '../../protect/run';
import { verdicts } from '../../protect/verdict';
import { confinePath } from '../../security/paths';
import { activeRoots } from '../../security/roots';
import { ProtectJob } from '../../protocol/jobKinds';
import { defineJobKind } from '../defineJobKind';

/** Reads and validates a protection config file (errors name the file and each problem). */
export function loadProtectConfig(file: string) {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`protection config ${file}: ${(err as Error).message}`);
  }
  return assertConfig(validateProtectConfig(value, file), 'protection config', file);
}

export const protectJob = defineJobKind(ProtectJob, {
  summary: 'Evaluate template protection schemes (ISO/IEC 30136): accuracy, stolen-key and key-unknown inversion to faces, unlinkability, renewability; a self-contained HTML report.',
  label: (p) => `protect ${path.basename(p.config)}`,
  async run(p, ctx) {
    const roots = activeRoots(ctx.workspaceDir).all;
    const file = confinePath(path.resolve(ctx.workspaceDir, p.config), roots, 'protect params.config');
    const config = loadProtectConfig(file);
    confinePath(resolveDatasetPath(config.dataset.path, ctx.workspaceDir), roots, 'protect dataset.path');
    confinePath(protectDirOf(config, ctx.workspaceDir), roots, 'protect outDir');
    const out = await runProtect(config, ctx, { cacheDir: ctx.cacheDir, workers: ctx.workers, command: p.command ?? `faceinv protect ${file} (from the editor)` });
    return { dir: out.dir, report: out.html, json: out.json, seconds: out.seconds, verdicts: out.rows.flatMap(verdicts) };
  },
});
