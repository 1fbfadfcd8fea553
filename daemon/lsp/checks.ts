/**
 * What the config language server says about an encoder, run or audit config: its JSON schema problems as
 * errors (checked here, not left to VS Code's `jsonValidation`, which follows the file's `$schema`), the model file is missing or unreadable, the model's real
 * input/output shape differs from the config, a run config names an unknown encoder, the dataset folder is
 * missing or empty, white box is requested for an encoder that cannot be differentiated, a named white-box
 * generator that cannot serve (`generator.ts`), and the semantic checks of `validateEncoderConfig` /
 * `validateRunConfig` that a schema cannot express. A workspace encoder file that exists but is invalid is
 * named as such, with its problems, wherever its id is used. Route hints come from the daemon's own judge
 * (`encoders/judge.ts`), so the editor and the daemon cannot disagree. A JSON syntax error is one
 * diagnostic, never an exception. Plain Node: unit-tested without VS Code or the LSP library.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EncoderConfig, EncoderConfigSchema, validateEncoderConfig } from '../protocol/encoderConfig';
import { RunConfig, validateRunConfig } from '../protocol/runConfig';
import { validateAuditConfig, type AuditConfig } from '../protocol/auditConfig';
import { validateProtectConfig } from '../protocol/protectConfig';
import { makeScheme } from '../protect/schemes';
import { openStoreProtection } from '../audit/protectedStore';
import { lfwCandidates } from '../config/datasetPath';
import { defaultDataRoots } from '../security/roots';
import { IMAGE_EXTENSIONS, ARCHIVE_FOLDERS } from '../data/dataset';
import { validate } from '../protocol/validate';
import { judgeOracle, judgeRoute, whiteboxObstacle } from '../encoders/judge';
import { checkGenerator, finishedBlackboxRuns, generatorMismatch, type GeneratorCode } from './generator';
import { JsonNode, nodeAt, parseJsonTree, propertyAt, toValue } from './jsonTree';
import { Dim, ModelShapes, readModelShapes } from './modelShapes';
import { runConfigFiles as findRunConfigFiles } from '../config/workspaceFiles';
import { EncoderConfigEntry, scanEncoders as registryScan } from '../encoders/registry';
import { configKindOf, type ConfigKind, type ListEncodersResult } from '../protocol/configServer';

export { configKindOf };
export type { ConfigKind };

export type DiagnosticCode =
  | 'json-syntax' | 'not-an-object' | 'config-schema' | 'config-semantic' | 'model-missing' | 'model-unreadable' | 'shape-mismatch'
  | 'encoder-unknown' | 'encoder-invalid' | 'dataset-missing' | 'dataset-empty' | 'dataset-outside-roots' | 'whitebox-not-differentiable' | 'credential-unset'
  | 'templates-missing' | 'templates-unreadable' | 'templates-dimension' | 'reference-missing' | 'threat-unsupported' | 'threat-contradicts-encoder' | GeneratorCode;

export interface ConfigDiagnostic {
  /** Span in the text (UTF-16 offsets, end exclusive). */
  start: number;
  end: number;
  severity: 'error' | 'warning' | 'information';
  code: DiagnosticCode;
  message: string;
}

export interface CheckEnv {
  /** Installation root: shipped `models/encoders`, `models/experiments`, and the npm model packages. */
  repoRoot: string;
  /** Open workspace folders (absolute). Relative model and dataset paths resolve against the one holding the file. */
  workspaceDirs: string[];
  /** Where `dataset.path: "lfw"` may be; default: the daemon's own search list. */
  lfwCandidates?: () => string[];
  /**
   * The editor daemon's dataset settings: LFW (searched first) and its extra data roots. A dataset outside
   * the workspace, these and the daemon's default data roots is refused by that daemon: an error here too.
   */
  dataset?: { lfw: string; dataRoots: string[] };
}


/** The workspace folder holding `file`, else the repository root for shipped configs, else the file's folder. */
export function baseDirFor(file: string, env: CheckEnv): string {
  const abs = path.resolve(file);
  const inside = (dir: string) => { const rel = path.relative(dir, abs); return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel); };
  const ws = env.workspaceDirs.filter(inside).sort((a, b) => b.length - a.length)[0];
  if (ws) return ws;
  if (inside(env.repoRoot)) return env.repoRoot;
  return path.dirname(abs);
}

/** Absolute model file of an encoder config, or an Error saying why there is none. */
export function resolveModelFile(config: EncoderConfig, baseDir: string, repoRoot: string): string | Error {
  const m = config.model;
  if ('path' in m) return path.isAbsolute(m.path) ? m.path : path.resolve(baseDir, m.path);
  if ('npm' in m) {
    const lookup = [...new Set([baseDir, repoRoot])];
    try {
      return path.join(path.dirname(require.resolve(`${m.npm}/package.json`, { paths: lookup })), m.file);
    } catch {
      return new Error(`npm package "${m.npm}" is not installed (looked from ${lookup.join(', ')}); run "npm install"`);
    }
  }
  return new Error('a command encoder has no model file');
}

export type EncoderEntry = EncoderConfigEntry;

/** An encoder config file that exists but cannot be used, with why, as the editor words it. */
export interface InvalidEncoderFile { file: string; id?: string; problems: string[] }

export interface EncoderScan {
  /** Usable encoder configs by id. */
  valid: Map<string, EncoderEntry>;
  /** Files that exist but are invalid (bad JSON, schema or semantic problems), in scan order. */
  invalid: InvalidEncoderFile[];
}

/** The registry's scan (daemon/encoders/registry.ts, the one the daemon uses), with problems worded for diagnostics. */
export function scanEncoders(env: CheckEnv): EncoderScan {
  const scan = registryScan({ workspaceDirs: env.workspaceDirs });
  return {
    valid: scan.valid,
    invalid: scan.invalid.map((f) => ({
      ...f,
      problems: f.problems.map((p) => (p.where.includes('#') ? `${pointerOf(p.where) || '/'}: ${p.reason} (expected ${p.expected})` : p.reason.replace(/^(not valid JSON|cannot read): (.*)$/, (_m, a, b) => `${a === 'cannot read' ? 'cannot read it' : a} (${b})`))),
    })),
  };
}

/** Usable encoder configs by id (see `scanEncoders`). */
export function knownEncoders(env: CheckEnv): Map<string, EncoderEntry> {
  return scanEncoders(env).valid;
}

/** A file for messages: relative to the workspace folder or installation holding it. */
function shortPath(file: string, env: CheckEnv): string {
  const base = baseDirFor(file, env);
  const rel = path.relative(base, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

/**
 * Why an encoder id is not usable: "defined in X, but that file is invalid: …" when a file declares it, else
 * unknown (naming the files whose id could not even be read). Undefined when the id is usable.
 */
export function encoderIdProblem(id: string, scan: EncoderScan, env: CheckEnv, role = 'encoder'): { code: 'encoder-unknown' | 'encoder-invalid'; message: string } | undefined {
  if (scan.valid.has(id)) return undefined;
  const bad = scan.invalid.filter((f) => f.id === id);
  if (bad.length) {
    const f = bad[bad.length - 1];
    const shown = f.problems.slice(0, 3).join('; ') + (f.problems.length > 3 ? `; and ${f.problems.length - 3} more` : '');
    return { code: 'encoder-invalid', message: `${role} "${id}" is defined in ${shortPath(f.file, env)}, but that file is invalid: ${shown}. Fix that file (open it for its diagnostics)` };
  }
  const unreadable = scan.invalid.filter((f) => f.id === undefined);
  const note = unreadable.length ? `; ${unreadable.length === 1 ? 'this encoder file could' : 'these encoder files could'} not be read: ${unreadable.map((f) => `${shortPath(f.file, env)} (${f.problems[0]})`).join(', ')}` : '';
  const known = [...scan.valid.keys()].sort().join(', ') || 'none';
  return { code: 'encoder-unknown', message: `unknown ${role} "${id}" (known: ${known}); add models/encoders/${id}.json or a *.faceinv-encoder.json with that id${note}` };
}

/** The judge's decision for a run config's route, or the error the daemon would stop with. */
export function routeHint(requested: RunConfig['route'], enc: EncoderConfig): { route: 'blackbox' | 'whitebox'; reason: string; error?: string } {
  try {
    const d = judgeRoute(enc, requested);
    return { route: d.route, reason: d.reason };
  } catch (err) {
    return { route: 'whitebox', reason: (err as Error).message, error: (err as Error).message };
  }
}

/** Run config files of the installation and the workspace (to know which config trains which run folder). */
export function runConfigFiles(env: CheckEnv): string[] {
  return findRunConfigFiles([env.repoRoot, ...env.workspaceDirs], env.workspaceDirs);
}

const spanOf = (root: JsonNode, pointer: string) => {
  const { node, exact, property } = nodeAt(root, pointer);
  // A missing property is reported on its parent's first line-ish span (its opening brace), not the whole file.
  if (!exact) return { start: node.start, end: Math.min(node.end, node.start + 1) };
  return property && node.type === 'object' ? { start: property.keyStart, end: property.keyEnd } : { start: node.start, end: node.end };
};

/** Describes a shape for messages: `[?, 3, 112, 112]`. */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

/** Input shape the config promises (batch free). */
export function expectedInputShape(c: EncoderConfig): Dim[] {
  return c.layout === 'NCHW' ? [null, 3, c.inputSize, c.inputSize] : [null, c.inputSize, c.inputSize, 3];
}

function dimsAgree(want: readonly Dim[], got: readonly Dim[]): boolean {
  if (want.length !== got.length) return false;
  return want.every((w, k) => w === null || got[k] === null || w === got[k]);
}

/** Compares a model's real shapes with its config; returns problems keyed by JSON pointer. */
export function compareShapes(c: EncoderConfig, shapes: ModelShapes): { pointer: string; message: string }[] {
  const out: { pointer: string; message: string }[] = [];
  const input = shapes.inputs[0];
  if (input && input.shape.length > 0) {
    const want = expectedInputShape(c);
    if (!dimsAgree(want, input.shape)) {
      const hint = input.shape.length === 4 && input.shape[1] === 3 && c.layout === 'NHWC' ? ' (the model looks NCHW)'
        : input.shape.length === 4 && input.shape[3] === 3 && c.layout === 'NCHW' ? ' (the model looks NHWC)' : '';
      const pointer = input.shape.length === 4 && (input.shape[1] === 3) !== (c.layout === 'NCHW') ? '/layout' : '/inputSize';
      out.push({ pointer, message: `model input "${input.name}" is ${formatShape(input.shape)} but the config (${c.layout}, inputSize ${c.inputSize}) says ${formatShape(want)}${hint} (${shapes.via})` });
    }
  }
  if (shapes.outputs.length > 0) {
    const chosen = c.outputName ? shapes.outputs.find((o) => o.name === c.outputName || o.name === `${c.outputName}:0`) : shapes.outputs[0];
    if (!chosen) {
      out.push({ pointer: '/outputName', message: `model has no output "${c.outputName}" (outputs: ${shapes.outputs.map((o) => o.name).join(', ')})` });
    } else {
      const last = chosen.shape[chosen.shape.length - 1];
      if (chosen.shape.length > 0 && last !== null && last !== c.embeddingDim) {
        out.push({ pointer: '/embeddingDim', message: `model output "${chosen.name}" is ${formatShape(chosen.shape)}: embeddings of ${last}, not ${c.embeddingDim} (${shapes.via})` });
      }
    }
  }
  return out;
}

/** Resolves a dataset path as the daemon does ("lfw" → first existing candidate) and checks it holds images. */
export function checkDatasetFolder(value: string, baseDir: string, env: CheckEnv): { code: 'dataset-missing' | 'dataset-empty'; message: string } | undefined {
  let dir: string;
  if (value === 'lfw') {
    const candidates = [...(env.dataset?.lfw ? [path.resolve(baseDir, env.dataset.lfw)] : []), ...(env.lfwCandidates ?? lfwCandidates)()];
    const found = candidates.find((p) => fs.existsSync(p));
    if (!found) return { code: 'dataset-missing', message: `LFW not found (looked in ${candidates.join(', ')}); choose its folder with "Face Inversion: Choose Dataset Folder…" (setting faceInversion.dataset.lfw), or name a folder` };
    dir = found;
  } else {
    dir = path.resolve(baseDir, value);
  }
  let st: fs.Stats;
  try { st = fs.statSync(dir); } catch { return { code: 'dataset-missing', message: `dataset folder ${dir} does not exist` }; }
  if (!st.isDirectory()) return { code: 'dataset-missing', message: `dataset path ${dir} is not a folder` };
  let root = dir;
  for (const sub of ARCHIVE_FOLDERS) {
    const cand = path.join(dir, sub);
    if (fs.existsSync(cand) && fs.statSync(cand).isDirectory()) { root = cand; break; }
  }
  let names: fs.Dirent[];
  try { names = fs.readdirSync(root, { withFileTypes: true }); } catch (err) { return { code: 'dataset-missing', message: `dataset folder ${root} is not readable (${(err as NodeJS.ErrnoException).code})` }; }
  for (const d of names) {
    if (!d.isDirectory()) continue;
    try {
      if (fs.readdirSync(path.join(root, d.name)).some((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()))) return undefined;
    } catch { /* unreadable identity folder: keep looking */ }
  }
  return { code: 'dataset-empty', message: `dataset folder ${root} holds no identity folders with images (<root>/<Person>/*.jpg)` };
}

/**
 * The daemon's path confinement (security/roots.ts) as the editor's daemon will apply it: the workspace, the
 * chosen LFW, `faceInversion.dataset.dataRoots` and the default data roots. Checked only when the editor told
 * the server its settings (a CLI user's daemon has its own flags).
 */
export function datasetOutsideRoots(value: string, baseDir: string, env: CheckEnv): { code: 'dataset-outside-roots'; message: string } | undefined {
  if (!env.dataset || value === 'lfw') return undefined;
  const real = (p: string) => { try { return fs.realpathSync(p); } catch { return path.resolve(p); } };
  const dir = real(path.resolve(baseDir, value));
  const roots = [baseDir, ...(env.dataset.lfw ? [env.dataset.lfw] : []), ...env.dataset.dataRoots, ...defaultDataRoots()].map((r) => real(path.resolve(baseDir, r)));
  const inside = (r: string) => { const rel = path.relative(r, dir); return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)); };
  if (roots.some(inside)) return undefined;
  return { code: 'dataset-outside-roots', message: `dataset folder ${dir} is outside the folders the daemon may read (${[...new Set(roots)].join(', ')}); add it with "Face Inversion: Choose Dataset Folder…" or to the setting faceInversion.dataset.dataRoots` };
}

function pointerOf(where: string): string {
  const k = where.indexOf('#');
  return k >= 0 ? where.slice(k + 1) : '';
}

/**
 * Schema problems as errors, checked here against the daemon's own schema whatever the file's `$schema` says:
 * VS Code's JSON validation follows `$schema`, so a sample copied away from `../schemas/` loses it, and it
 * reports warnings for values the daemon refuses outright.
 */
function schemaDiagnostics(root: JsonNode, problems: readonly { reason: string; where: string; expected: string }[]): ConfigDiagnostic[] {
  return problems.map((p) => {
    const pointer = pointerOf(p.where);
    return { ...spanOf(root, pointer), severity: 'error' as const, code: 'config-schema' as const, message: `${pointer || '/'}: ${p.reason} (expected ${p.expected}); the daemon refuses this config` };
  });
}

/** Checks one config text. Never throws for bad input; I/O failures become diagnostics. */
export async function checkConfigText(file: string, text: string, env: CheckEnv, kind = configKindOf(file)): Promise<ConfigDiagnostic[]> {
  if (!kind) return [];
  const parsed = parseJsonTree(text);
  if (!parsed.ok) {
    const { offset, message } = parsed.error;
    return [{ start: offset, end: Math.min(text.length, offset + 1), severity: 'error', code: 'json-syntax', message: `JSON syntax error: ${message}; other checks wait until it parses` }];
  }
  const root = parsed.root;
  if (root.type !== 'object') {
    return [{ start: root.start, end: root.end, severity: 'error', code: 'not-an-object', message: `a ${kind} config must be a JSON object` }];
  }
  const value = toValue(root);
  return kind === 'encoder' ? checkEncoder(file, root, value, env) : kind === 'audit' ? checkAudit(file, root, value, env) : kind === 'protect' ? checkProtect(file, root, value, env) : checkRun(file, root, value, env);
}

async function checkEncoder(file: string, root: JsonNode, value: unknown, env: CheckEnv): Promise<ConfigDiagnostic[]> {
  const diags: ConfigDiagnostic[] = [];
  const add = (pointer: string, code: DiagnosticCode, message: string, severity: ConfigDiagnostic['severity'] = 'error') => diags.push({ ...spanOf(root, pointer), severity, code, message });
  const schemaProblems = validate(EncoderConfigSchema, value);
  if (schemaProblems.length > 0) return schemaDiagnostics(root, schemaProblems.map((p) => ({ ...p, where: `#${p.where === '/' ? '' : p.where}` })));
  for (const p of validateEncoderConfig(value, file)) add(pointerOf(p.where), 'config-semantic', `${p.reason} (expected ${p.expected})`);
  const c = value as EncoderConfig;
  if (c.format === 'command') return diags;
  if ('http' in c.model) {
    // The credential is the daemon's to resolve; an editor-started daemon inherits this environment.
    const env = c.model.http.auth?.env;
    if (env !== undefined && !process.env[env]) {
      add('/model/http/auth/env', 'credential-unset', `environment variable ${env} is not set where the editor runs, so a daemon started by the editor cannot authenticate; set it before starting VS Code, or use "secret" with "Face Inversion: Set Encoder Secret…"`, 'warning');
    }
    return diags;
  }
  const modelPointer = 'path' in c.model ? '/model/path' : 'file' in c.model ? '/model/file' : '/model';
  const modelFile = resolveModelFile(c, baseDirFor(file, env), env.repoRoot);
  if (modelFile instanceof Error) { add('npm' in c.model ? '/model/npm' : modelPointer, 'model-missing', modelFile.message); return diags; }
  let shapes: ModelShapes;
  try {
    shapes = await readModelShapes(modelFile, c.format as Exclude<typeof c.format, 'command' | 'http'>);
  } catch (err) {
    const msg = (err as Error).message;
    add(modelPointer, /does not exist|is not a file/.test(msg) ? 'model-missing' : 'model-unreadable', msg);
    return diags;
  }
  for (const m of compareShapes(c, shapes)) add(m.pointer, 'shape-mismatch', m.message);
  return diags;
}

async function checkRun(file: string, root: JsonNode, value: unknown, env: CheckEnv): Promise<ConfigDiagnostic[]> {
  const diags: ConfigDiagnostic[] = [];
  const add = (pointer: string, code: DiagnosticCode, message: string, severity: ConfigDiagnostic['severity'] = 'error') => diags.push({ ...spanOf(root, pointer), severity, code, message });
  const { config, problems } = validateRunConfig(value, file);
  if (!config) return schemaDiagnostics(root, problems);
  for (const p of problems) add(pointerOf(p.where), 'config-semantic', `${p.reason} (expected ${p.expected})`);
  const base = baseDirFor(file, env);
  const scan = scanEncoders(env);
  const enc = scan.valid.get(config.encoder);
  const encProblem = encoderIdProblem(config.encoder, scan, env);
  if (encProblem) {
    add('/encoder', encProblem.code, encProblem.message);
  } else if (enc && config.route === 'whitebox' && whiteboxObstacle(enc.config)) {
    // The daemon's judge refuses this at once; the same sentence here.
    add('/route', 'whitebox-not-differentiable', `${routeHint('whitebox', enc.config).error} (${path.basename(enc.file)})`);
  }
  config.evaluation.encoders.forEach((id, k) => {
    const p = encoderIdProblem(id, scan, env, 'evaluation encoder');
    if (p) add(`/evaluation/encoders/${k}`, p.code, p.message);
  });
  // A named decoder (faceModel.run, the face model of either route) that cannot serve.
  if (config.faceModel.run && enc) {
    const at = nodeAt(root, '/faceModel/run').exact ? '/faceModel/run' : '/faceModel';
    for (const g of checkGenerator(config, base, enc.config, runConfigFiles(env).filter((f) => path.resolve(f) !== path.resolve(file)))) add(at, g.code, g.message, g.severity);
  }
  const ds = checkDatasetFolder(config.dataset.path, base, env) ?? datasetOutsideRoots(config.dataset.path, base, env);
  if (ds) add(nodeAt(root, '/dataset/path').exact ? '/dataset/path' : '/dataset', ds.code, ds.message, ds.code === 'dataset-missing' && config.dataset.path === 'lfw' ? 'warning' : 'error');
  return diags;
}

/** The dimension of a template store from its header or first row, without reading it all; undefined when unknown. */
export function storeDimension(file: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(65536);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('latin1');
    if (/\.npy$/i.test(file)) {
      const m = /'shape':\s*\((\d+),\s*(\d+)\s*\)/.exec(text);
      return m ? Number(m[2]) : undefined;
    }
    if (/\.jsonl?$/i.test(file)) {
      // The first vector: the first "[" of numbers in the text, counted up to its "]".
      const m = /\[\s*(-?[\d.eE+-]+\s*(,\s*-?[\d.eE+-]+\s*)*)\]/.exec(text);
      return m ? m[1].split(',').length : undefined;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Rows of a .npy template store from its header; undefined for other formats or when unknown. */
export function npyRows(file: string): number | undefined {
  if (!/\.npy$/i.test(file)) return undefined;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(4096);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const m = /'shape':\s*\((\d+),/.exec(head.subarray(0, n).toString('latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A protection config: its schema and meaning, the encoder, and each scheme built for that encoder's dimension (degenerate parameters named). */
async function checkProtect(file: string, root: JsonNode, value: unknown, env: CheckEnv): Promise<ConfigDiagnostic[]> {
  const diags: ConfigDiagnostic[] = [];
  const add = (pointer: string, code: DiagnosticCode, message: string) => diags.push({ ...spanOf(root, pointer), severity: 'error', code, message });
  const { config, problems } = validateProtectConfig(value, file);
  if (!config) return schemaDiagnostics(root, problems);
  for (const p of problems) add(pointerOf(p.where), 'config-semantic', `${p.reason} (expected ${p.expected})`);
  const scan = scanEncoders(env);
  const encProblem = encoderIdProblem(config.encoder, scan, env);
  if (encProblem) { add('/encoder', encProblem.code, encProblem.message); return diags; }
  const enc = scan.valid.get(config.encoder);
  if (enc) {
    config.schemes.forEach((c, k) => {
      try { makeScheme(c, enc.config.embeddingDim); } catch (err) { add(`/schemes/${k}`, 'config-semantic', (err as Error).message); }
    });
  }
  return diags;
}

/** Why the audit cannot run its threat model (the judge's answer, as the daemon would stop with it), or null. */
export function threatDiagnostic(threat: AuditConfig['threat']): string | null {
  try {
    const d = judgeOracle(threat);
    return d.implemented ? null : d.reason;
  } catch (err) {
    return (err as Error).message;
  }
}

async function checkAudit(file: string, root: JsonNode, value: unknown, env: CheckEnv): Promise<ConfigDiagnostic[]> {
  const diags: ConfigDiagnostic[] = [];
  const add = (pointer: string, code: DiagnosticCode, message: string, severity: ConfigDiagnostic['severity'] = 'error') => diags.push({ ...spanOf(root, pointer), severity, code, message });
  const { config, problems } = validateAuditConfig(value, file);
  if (!config) return schemaDiagnostics(root, problems);
  for (const p of problems) add(pointerOf(p.where), 'config-semantic', `${p.reason} (expected ${p.expected})`);
  const base = baseDirFor(file, env);
  const scan = scanEncoders(env);
  // A protected store: its rows are the scheme's templates (checked against the scheme's length, not the encoder's).
  let scheme: { label: string; outputDim: number; output: string } | null | undefined;
  if (config.protection) {
    const encP = scan.valid.get(config.encoder);
    scheme = null;
    if (encP) {
      try {
        scheme = openStoreProtection(config.protection, base, encP.config.embeddingDim).scheme;
      } catch (err) {
        const msg = (err as Error).message;
        add(msg.startsWith('protection.scheme') ? '/protection/scheme' : msg.startsWith('protection key file') ? '/protection/keys' : '/protection/config', 'config-semantic', msg);
      }
    }
  }
  const checkStore = (pointer: string, store: string, encoderId: string) => {
    const abs = path.resolve(base, store);
    let st: fs.Stats;
    try { st = fs.statSync(abs); } catch { add(pointer, 'templates-missing', `template store ${abs} does not exist`); return; }
    if (!st.isFile()) { add(pointer, 'templates-missing', `template store ${abs} is not a file`); return; }
    try { fs.accessSync(abs, fs.constants.R_OK); } catch { add(pointer, 'templates-unreadable', `template store ${abs} is not readable`); return; }
    const enc = scan.valid.get(encoderId);
    const dim = storeDimension(abs);
    if (scheme !== undefined && pointer === '/templates') {
      if (scheme && dim !== undefined && dim !== scheme.outputDim) add(pointer, 'templates-dimension', `the templates in ${path.basename(abs)} have ${dim} values, but ${scheme.label} makes ${scheme.outputDim} ${scheme.output}: another scheme's store, other parameters, or not protected`);
      return;
    }
    const rows = pointer === '/templates' && typeof config.sample === 'number' ? npyRows(abs) : undefined;
    if (rows !== undefined && typeof config.sample === 'number' && config.sample > rows) {
      add(nodeAt(root, '/sample').exact ? '/sample' : pointer, 'config-semantic', `a sample of ${config.sample.toLocaleString('en-US')} templates is larger than the store, which has ${rows.toLocaleString('en-US')}: give ${rows} or less, or "all"`);
    }
    if (enc && dim !== undefined && dim !== enc.config.embeddingDim) {
      add(pointer, 'templates-dimension', `the templates in ${path.basename(abs)} have dimension ${dim}, but encoder "${encoderId}" makes ${enc.config.embeddingDim}-d templates: a store of another system, or the wrong encoder`);
    }
  };
  const encProblem = encoderIdProblem(config.encoder, scan, env);
  const enc = scan.valid.get(config.encoder);
  if (encProblem) add('/encoder', encProblem.code, encProblem.message);
  else if (enc && config.route === 'whitebox' && whiteboxObstacle(enc.config)) add('/route', 'whitebox-not-differentiable', `${routeHint('whitebox', enc.config).error} (${path.basename(enc.file)})`);
  else if (enc && 'http' in enc.config.model && enc.config.model.http.auth?.env !== undefined && !process.env[enc.config.model.http.auth.env]) {
    add('/encoder', 'credential-unset', `encoder "${config.encoder}" reads its credential from ${enc.config.model.http.auth.env}, which is not set where the editor runs; set it before starting VS Code (or use auth.secret)`, 'warning');
  }
  checkStore('/templates', config.templates, config.encoder);
  const threat = threatDiagnostic(config.threat);
  if (threat) add('/threat', 'threat-unsupported', threat);
  const exposed = enc?.config.exposes;
  if (enc && exposed && exposed.kind !== config.threat.oracle.kind) {
    add(value !== null && typeof value === 'object' && 'threat' in value ? '/threat' : '/encoder', 'threat-contradicts-encoder',
      `encoder "${config.encoder}" declares that its system answers ${exposed.kind === 'decision' ? 'accept / reject only' : `${exposed.kind}s`} (exposes.kind in ${path.basename(enc.file)}), but this audit's threat.oracle.kind is "${config.threat.oracle.kind}"`, 'warning');
  }
  const svcEnv = config.threat.oracle.service?.auth?.env;
  if (svcEnv !== undefined && !process.env[svcEnv]) add('/threat/oracle/service/auth', 'credential-unset', `the verification service's credential comes from ${svcEnv}, which is not set where the editor runs; set it before starting VS Code (or use auth.secret)`, 'warning');
  if (config.threat.attacker.encoder === 'other' && config.threat.attacker.otherEncoder) {
    const p = encoderIdProblem(config.threat.attacker.otherEncoder, scan, env, 'attacker encoder');
    if (p) add('/threat/attacker/otherEncoder', p.code, p.message);
  }
  config.transfer.forEach((t, k) => {
    const p = encoderIdProblem(t.encoder, scan, env, 'transfer encoder');
    if (p) add(`/transfer/${k}/encoder`, p.code, p.message);
    checkStore(`/transfer/${k}/templates`, t.templates, t.encoder);
  });
  const ds = checkDatasetFolder(config.reference.path, base, env);
  if (ds) add(nodeAt(root, '/reference/path').exact ? '/reference/path' : '/reference', ds.code === 'dataset-missing' ? 'reference-missing' : ds.code, `reference set: ${ds.message}`, ds.code === 'dataset-missing' && config.reference.path === 'lfw' ? 'warning' : 'error');
  return diags;
}

/** Text shown literally in hover markdown: `<id>` stays `<id>` instead of being swallowed as an HTML tag. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>#|]/g, '\\$&');
}

/** Markdown for a hover at `offset`: the resolved encoder of a run config, or the model of an encoder config. */
export async function hoverText(file: string, text: string, offset: number, env: CheckEnv, kind = configKindOf(file)): Promise<string | undefined> {
  if (!kind) return undefined;
  const parsed = parseJsonTree(text);
  if (!parsed.ok) return undefined;
  const at = propertyAt(parsed.root, offset);
  if (!at) return undefined;
  if (kind === 'run') {
    let node = nodeAt(parsed.root, at.pointer).node;
    // Inside the evaluation.encoders array: the item under the cursor.
    if (at.pointer === '/evaluation/encoders' && node.type === 'array') node = node.items.find((n) => offset >= n.start && offset <= n.end) ?? node;
    else if (at.pointer !== '/encoder') return undefined;
    if (node.type !== 'string') return undefined;
    const id = node.value;
    const scan = scanEncoders(env);
    const enc = scan.valid.get(id);
    if (!enc) {
      const p = encoderIdProblem(id, scan, env);
      return `**encoder \`${id}\`**: ${p?.code === 'encoder-invalid' ? escapeMarkdown(p.message.replace(/^encoder "[^"]*" /, '')) : 'not found among the shipped or workspace encoder configs'}`;
    }
    if (at.pointer !== '/encoder') return describeEncoder(enc, env);
    const v = toValue(parsed.root) as { route?: RunConfig['route'] };
    const hint = routeHint(v.route === 'auto' || v.route === 'whitebox' || v.route === 'blackbox' ? v.route : 'blackbox', enc.config);
    return `${await describeEncoder(enc, env)}\n\nroute: **${hint.error ? 'cannot start' : hint.route}** (${escapeMarkdown(hint.reason)})`;
  }
  if (kind === 'audit' || kind === 'protect') {
    if (at.pointer !== '/encoder' && !/^\/transfer\/\d+\/encoder$/.test(at.pointer)) return undefined;
    const node = nodeAt(parsed.root, at.pointer).node;
    if (node.type !== 'string') return undefined;
    const enc = scanEncoders(env).valid.get(node.value);
    return enc ? describeEncoder(enc, env) : `**encoder \`${node.value}\`**: not found among the shipped or workspace encoder configs`;
  }
  if (at.pointer === '/model' || at.pointer.startsWith('/model/') || at.pointer === '/id') {
    const value = toValue(parsed.root);
    if (validateEncoderConfig(value, file).length > 0) return undefined;
    return describeEncoder({ config: value as EncoderConfig, file }, env);
  }
  return undefined;
}

/** Markdown summary of an encoder: config file, model file, declared and real shapes. */
export async function describeEncoder(enc: EncoderEntry, env: CheckEnv): Promise<string> {
  const c = enc.config;
  const lines = [`**encoder \`${c.id}\`** — ${c.format}`, '', `config: \`${enc.file}\``];
  if (c.format === 'command') {
    lines.push(`command: \`${'command' in c.model ? c.model.command.join(' ') : ''}\``);
  } else if ('http' in c.model) {
    lines.push(`service: \`${c.model.http.method ?? 'POST'} ${c.model.http.url}\` (queried; no model file)`);
  } else {
    const model = resolveModelFile(c, baseDirFor(enc.file, env), env.repoRoot);
    if (model instanceof Error) lines.push(`model: ${model.message}`);
    else {
      lines.push(`model: \`${model}\``);
      try {
        const s = await readModelShapes(model, c.format as Exclude<typeof c.format, 'command' | 'http'>);
        lines.push(`model input: ${s.inputs.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ') || 'not recorded'}`);
        lines.push(`model output: ${s.outputs.map((t) => `${t.name} ${formatShape(t.shape)}`).join(', ') || 'not recorded'} (${s.via})`);
      } catch (err) {
        lines.push(`model: ${(err as Error).message}`);
      }
    }
  }
  lines.push(`config: input ${formatShape(expectedInputShape(c))} ${c.layout} ${c.channelOrder}, embedding ${c.embeddingDim}, alignment ${c.alignment.template}`);
  lines.push(`known: architecture ${c.known.architecture}, weights ${c.known.weights}, differentiable ${c.known.differentiable}`);
  return lines.join('  \n');
}

/** A quick fix: replace `start..end` of the text with `newText`. */
export interface TextFix { title: string; start: number; end: number; newText: string }

/**
 * Quick fixes for a run config's `faceModel.run` (a decoder borrowed from another run): every finished black-box run of its runs folder whose
 * decoder fits the attacked encoder (same encoder first), as the new value. Empty when the config names no
 * generator or nothing fits.
 */
export function generatorFixes(file: string, text: string, env: CheckEnv): TextFix[] {
  const parsed = parseJsonTree(text);
  if (!parsed.ok || parsed.root.type !== 'object') return [];
  const { config } = validateRunConfig(toValue(parsed.root), file);
  if (!config) return [];
  const at = nodeAt(parsed.root, '/faceModel/run');
  if (!at.exact || at.node.type !== 'string') return [];
  const current = at.node.value;
  const base = baseDirFor(file, env);
  const enc = knownEncoders(env).get(config.encoder)?.config;
  const runs = finishedBlackboxRuns(base, config.runsDir)
    .filter((r) => r.value !== current && path.resolve(base, current) !== r.dir)
    .filter((r) => !enc || generatorMismatch(r.meta, enc)?.severity !== 'error')
    .sort((a, b) => Number(b.meta.encoderId === config.encoder) - Number(a.meta.encoderId === config.encoder) || a.value.localeCompare(b.value));
  const node = at.node;
  return runs.map((r) => ({
    title: `Use the finished black-box run "${r.value}" (${r.meta.encoderId}, ${r.meta.embeddingDim}-d) as generator`,
    start: node.start, end: node.end, newText: JSON.stringify(r.value),
  }));
}

/** The encoders the editor's pickers offer (ListEncodersRequest): the registry's, with the judge's route for "auto". */
export function listEncoders(env: CheckEnv): ListEncodersResult {
  const scan = scanEncoders(env);
  return {
    encoders: [...scan.valid.values()].map((e) => {
      const hint = routeHint('auto', e.config);
      return {
        id: e.config.id, file: e.file, format: e.config.format, embeddingDim: e.config.embeddingDim, description: e.config.description,
        route: hint.route, reason: hint.reason, ...(e.shadows ? { shadows: e.shadows } : {}),
        ...('http' in e.config.model && e.config.model.http.auth?.secret ? { secret: e.config.model.http.auth.secret } : {}),
      };
    }).sort((a, b) => a.id.localeCompare(b.id)),
    invalid: scan.invalid.map((f) => ({ file: f.file, problem: f.problems[0] ?? 'invalid' })),
  };
}
