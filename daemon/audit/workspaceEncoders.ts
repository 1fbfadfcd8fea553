/**
 * Encoder config folders of a workspace for the audit (an HTTP service is normally a workspace's own
 * encoder config): `<workspace>/models/encoders` and every folder, up to 4 levels down, that holds a
 * `*.faceinv-encoder.json` — the files the config language server knows (daemon/lsp/checks.ts). The
 * registry reads the `.json` files of these folders after the shipped ones (later folders win).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const SKIP = new Set(['node_modules', '.git', 'out', 'runs', 'audits', '.cache', '.faceinv', '.vscode-test']);

export function workspaceEncoderDirs(workspaceDir: string): string[] {
  const dirs: string[] = [];
  const models = path.join(workspaceDir, 'models', 'encoders');
  if (fs.existsSync(models)) dirs.push(models);
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    if (entries.some((e) => e.isFile() && /\.faceinv-encoder\.json$/i.test(e.name)) && !dirs.includes(dir)) dirs.push(dir);
    if (depth > 0) for (const e of entries) if (e.isDirectory() && !SKIP.has(e.name)) walk(path.join(dir, e.name), depth - 1);
  };
  walk(workspaceDir, 4);
  return dirs;
}
