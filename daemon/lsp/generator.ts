/**
 * The decoder a run config borrows as its face model (`faceModel.run`, either route): a finished black-box run folder (its
 * `model/meta.json` decoder) or a model folder, resolved against the workspace as the daemon does. The
 * language server checks what would make the run fail at once — the folder is missing, holds no finished
 * decoder, or was trained for embeddings of another size — and offers the finished black-box runs of the
 * workspace's runs folder as quick fixes. A run config that names none is not checked here: it trains its
 * own decoder or builds a PCA face model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EncoderConfig } from '../protocol/encoderConfig';
import { decoderMisfit, type DecoderMetaView } from '../protocol/decoderFit';

export type { DecoderMetaView };
import { DEFAULT_RUNS_DIR, type RunConfig } from '../protocol/runConfig';

export type GeneratorCode = 'generator-missing' | 'generator-not-finished' | 'generator-mismatch';

export interface GeneratorProblem {
  code: GeneratorCode;
  severity: 'error' | 'warning';
  message: string;
}

/** A finished black-box run of the workspace, as a generator candidate. */
export interface FinishedRun {
  /** Absolute run folder. */
  dir: string;
  /** What to write in `faceModel.run`: the folder relative to the workspace, with '/' separators. */
  value: string;
  meta: DecoderMetaView;
}

/** The decoder description in `dir` or `dir/model`; a reason when there is none. */
export function readDecoderMeta(dir: string): { meta: DecoderMetaView; file: string } | { problem: string } {
  const candidates = [path.join(dir, 'meta.json'), path.join(dir, 'model', 'meta.json')];
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) {
    let state = '';
    try {
      const run = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { state?: unknown; kind?: unknown };
      if (run.kind === 'whitebox') return { problem: 'it is a white-box run (it holds reconstructions, no decoder)' };
      if (typeof run.state === 'string') state = ` (its run.json says "${run.state}")`;
    } catch { /* no run.json either */ }
    return { problem: `it holds no finished decoder: no model/meta.json${state}` };
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    return { problem: `${path.basename(path.dirname(file))}/meta.json is not valid JSON (${(err as Error).message})` };
  }
  if (v.kind !== 'faceinv-blackbox-decoder' || typeof v.encoderId !== 'string' || typeof v.embeddingDim !== 'number') {
    return { problem: `${file} is not a Face Inversion Lab decoder description` };
  }
  return {
    file,
    meta: {
      encoderId: v.encoderId, embeddingDim: v.embeddingDim,
      ...(typeof v.outputSize === 'number' ? { outputSize: v.outputSize } : {}),
      ...(typeof v.template === 'string' ? { template: v.template } : {}),
    },
  };
}

/** Finished black-box runs under `<base>/<runsDir>`, sorted by name. */
export function finishedBlackboxRuns(base: string, runsDir: string): FinishedRun[] {
  const root = path.resolve(base, runsDir);
  let names: string[];
  try { names = fs.readdirSync(root).sort(); } catch { return []; }
  const out: FinishedRun[] = [];
  for (const name of names) {
    const dir = path.join(root, name);
    try { if (!fs.statSync(dir).isDirectory()) continue; } catch { continue; }
    const r = readDecoderMeta(dir);
    if (!('meta' in r)) continue;
    out.push({ dir, value: path.relative(base, dir).split(path.sep).join('/'), meta: r.meta });
  }
  return out;
}

/** Whether a decoder can serve as the face model of a run attacking `enc` (protocol/decoderFit.ts decides it for the daemon too). */
export function generatorMismatch(meta: DecoderMetaView, enc: EncoderConfig): GeneratorProblem | undefined {
  const why = decoderMisfit(meta, enc);
  return why === undefined ? undefined : { code: 'generator-mismatch', severity: 'error', message: why };
}

/** A run config elsewhere in the workspace that trains into `dir` (so a missing generator is only "not yet"). */
function producerOf(dir: string, base: string, runConfigs: readonly string[]): string | undefined {
  for (const file of runConfigs) {
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; runsDir?: unknown; faceModel?: { kind?: unknown; run?: unknown } };
      // Only a config that trains its own decoder produces one.
      if (typeof v.name !== 'string' || v.faceModel?.kind === 'pca' || v.faceModel?.run !== undefined) continue;
      if (path.resolve(base, typeof v.runsDir === 'string' ? v.runsDir : DEFAULT_RUNS_DIR, v.name) === path.resolve(dir)) return file;
    } catch { /* unreadable: its own diagnostics say so */ }
  }
  return undefined;
}

/**
 * Problems with the generator a run config names; none when it names none. `runConfigs`: run config files of
 * the workspace, to recognise a generator that another config will train.
 */
export function checkGenerator(config: RunConfig, base: string, enc: EncoderConfig | undefined, runConfigs: readonly string[] = []): GeneratorProblem[] {
  const named = config.faceModel.run;
  if (!named) return [];
  const dir = path.resolve(base, named);
  const candidates = finishedBlackboxRuns(base, config.runsDir).filter((r) => !enc || generatorMismatch(r.meta, enc)?.severity !== 'error');
  const offer = candidates.length
    ? `; finished black-box runs${enc ? ` for ${enc.embeddingDim}-d embeddings` : ''}: ${candidates.map((c) => `"${c.value}"`).join(', ')}`
    : `; no finished black-box run in ${config.runsDir}/ yet (train one with a black-box run config), or leave faceModel.run out`;
  let st: fs.Stats | undefined;
  try { st = fs.statSync(dir); } catch { st = undefined; }
  if (!st || !st.isDirectory()) {
    const producer = producerOf(dir, base, runConfigs);
    if (producer) {
      return [{ code: 'generator-missing', severity: 'warning', message: `faceModel.run "${named}": ${dir} does not exist yet; ${path.basename(producer)} trains it — run that config first${candidates.length ? offer : ''}` }];
    }
    return [{ code: 'generator-missing', severity: 'error', message: `faceModel.run "${named}": ${st ? `${dir} is not a folder` : `folder ${dir} does not exist`}${offer}` }];
  }
  const read = readDecoderMeta(dir);
  if (!('meta' in read)) return [{ code: 'generator-not-finished', severity: 'error', message: `faceModel.run "${named}" is not a finished black-box run: ${read.problem}${offer}` }];
  const bad = enc ? generatorMismatch(read.meta, enc) : undefined;
  if (bad) return [{ ...bad, message: `faceModel.run "${named}": ${bad.message}${bad.severity === 'error' ? offer : ''}` }];
  return [];
}
