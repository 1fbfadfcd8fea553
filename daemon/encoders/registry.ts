/**
 * Where encoder configs live and how a config becomes a running `Encoder`. Shipped configs are in
 * `models/encoders/*.json`; a workspace can add its own folder (same schema, later folders override ids of
 * earlier ones). Model files are found by `resolveModelPath`: `{ path }` absolute or relative to the
 * workspace folder (the repository root when none is given), `{ npm, file }` inside an installed package.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EncoderConfig, Problem, validateEncoderConfig } from '../config/encoder';
import type { Encoder } from './types';
import { OnnxEncoder } from './onnxEncoder';
import { FaceApiResnetEncoder } from './faceApiResnet';
import { TfjsModelEncoder } from './tfjsModelEncoder';
import { CommandEncoder } from './commandEncoder';
import { HttpEncoder } from './httpEncoder';

/** Repository (installation) root: this file runs from `out/daemon/encoders/`. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** The shipped encoder configs. */
export const SHIPPED_ENCODER_DIR = path.join(REPO_ROOT, 'models', 'encoders');

export interface EncoderConfigEntry {
  config: EncoderConfig;
  /** Absolute path of the config file. */
  file: string;
}

export interface EncoderLoadOptions {
  /** Folder `{ path }` models are relative to, and where npm packages are looked up first. */
  workspaceDir?: string;
  /** onnxruntime intra-op threads (onnx encoders). */
  threads?: number;
  /** Largest onnxruntime batch for dynamic-batch ONNX models. */
  maxBatch?: number;
  /** Kill a command encoder's process after this many ms. */
  timeoutMs?: number;
  /** Secrets handed over for the job (http encoders' `auth.secret`), by name; never stored. */
  secrets?: Readonly<Record<string, string>>;
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

/**
 * Every valid config in `dirs` (default: the shipped folder), plus the problems of invalid files and
 * duplicate ids. A later folder's config replaces an earlier one with the same id.
 */
export function scanEncoderConfigs(dirs: string[] = [SHIPPED_ENCODER_DIR]): { entries: EncoderConfigEntry[]; problems: Problem[] } {
  const byId = new Map<string, EncoderConfigEntry>();
  const problems: Problem[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    const seenHere = new Map<string, string>();
    for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const file = path.resolve(dir, name);
      const { config, problems: p } = readEncoderConfig(file);
      if (!config) { problems.push(...p); continue; }
      const clash = seenHere.get(config.id);
      if (clash) {
        problems.push({ reason: `id "${config.id}" is also used by ${clash}`, where: `${file}#/id`, expected: 'a unique id per folder' });
        continue;
      }
      seenHere.set(config.id, file);
      byId.set(config.id, { config, file });
    }
  }
  return { entries: [...byId.values()], problems };
}

/** Valid configs in the shipped folder plus `dirs` (e.g. a workspace folder), later ones overriding. */
export function listEncoderConfigs(dirs?: string[]): EncoderConfigEntry[] {
  const all = dirs === undefined ? [SHIPPED_ENCODER_DIR] : [SHIPPED_ENCODER_DIR, ...dirs.filter((d) => path.resolve(d) !== SHIPPED_ENCODER_DIR)];
  return scanEncoderConfigs(all).entries;
}

/** Absolute path of the config's model file. Throws for command encoders and uninstalled packages. */
export function resolveModelPath(config: EncoderConfig, workspaceDir?: string): string {
  const m = config.model;
  if ('path' in m) return path.isAbsolute(m.path) ? m.path : path.resolve(workspaceDir ?? REPO_ROOT, m.path);
  if ('npm' in m) {
    const lookup = [workspaceDir, REPO_ROOT].filter((d): d is string => !!d);
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

/** Loads the model a config describes; checks the real output size against `embeddingDim`. */
export async function loadEncoder(config: EncoderConfig, opts: EncoderLoadOptions = {}): Promise<Encoder> {
  switch (config.format) {
    case 'onnx':
      return OnnxEncoder.load(config, resolveModelPath(config, opts.workspaceDir), { threads: opts.threads, maxBatch: opts.maxBatch });
    case 'face-api':
      return FaceApiResnetEncoder.load(config, resolveModelPath(config, opts.workspaceDir));
    case 'tfjs-graph':
    case 'tfjs-layers':
      return TfjsModelEncoder.load(config, resolveModelPath(config, opts.workspaceDir));
    case 'command':
      return CommandEncoder.load(config, { cwd: opts.workspaceDir, timeoutMs: opts.timeoutMs });
    case 'http':
      return HttpEncoder.load(config, { secrets: opts.secrets });
  }
}

/** Finds `id` among the shipped configs (and `dirs`) and loads it. */
export async function loadEncoderById(id: string, opts: EncoderLoadOptions & { dirs?: string[] } = {}): Promise<Encoder> {
  const entries = listEncoderConfigs(opts.dirs);
  const entry = entries.find((e) => e.config.id === id);
  if (!entry) throw new Error(`no encoder config with id "${id}" (known: ${entries.map((e) => e.config.id).join(', ') || 'none'})`);
  return loadEncoder(entry.config, opts);
}

/** The config with `id` among the shipped ones and `dirs` (later folders win); throws listing the known ids. */
export function findEncoderConfig(id: string, dirs?: string[]): EncoderConfigEntry {
  const entries = listEncoderConfigs(dirs);
  const entry = entries.find((e) => e.config.id === id);
  if (!entry) throw new Error(`no encoder config with id "${id}" (known: ${entries.map((e) => e.config.id).join(', ') || 'none'})`);
  return entry;
}
