/**
 * `faceinv tune`: chooses a run config's zeroth-order search settings (probe radius, step, surrogate weight
 * and warm-up; optionally the face model's size) for its attacked encoder on a validation split carved from
 * the training identities, never on the test identities (./validationCarve.ts). Every grid point (./grid.ts)
 * runs the run's own search (daemon/attack/invert.ts: surrogate prior, warm-up, acceptance test) on the same
 * validation targets with the same query budget; the points are ranked by the attacked encoder's mean cosine
 * (./rank.ts) and the best is written into a copy of the config with a `tuned` record (./tunedConfig.ts).
 *
 * The surrogate: the config's, else the first encoder the engine can differentiate in the face model's frame
 * (resolveSurrogate's list: never the attacked model, by id or by model files); none usable → queries only,
 * said. A surrogate whose map fits badly is said per point, and that point runs on queries alone (invert.ts).
 */
import { Value } from '@sinclair/typebox/value';
import { assertRunConfig, SearchSurrogateSchema, type RunConfig, type SearchSurrogateConfig, type TunedRecord } from '../../protocol/runConfig';
import { resolveSurrogate, usableSurrogates } from '../../decoder/surrogate';
import type { AlignmentSpec } from '../../data/templates';
import { JobCancelledError } from '../../runs/attackContext';
import { invertTargets, openFaceDetector } from '../invert';
import { planAttack, runAttackSpec, type AttackPlan } from '../plan';
import type { PcaFaceModel } from '../faceModel/pca';
import { describePoint, gridCentre, gridPoints, type GridName, type GridPoint } from './grid';
import { rankGrid, rankTable, tunedRows, type PointScore, type RankedRow, type SearchPoint } from './rank';
import { tunedConfig } from './tunedConfig';
import { loadTrainingSide, tuneFaceModel, TUNE_FMRS, validationTargets, validationThresholds, type TrainingSide } from './tuneData';

export interface TuneOptions {
  targets: number;
  /** Queries per target (default: the config's search.queries). */
  queries?: number;
  grid: GridName;
  /** Face-model sizes to compare (default: the config's). */
  components?: number[];
  workspaceDir: string;
  cacheDir?: string;
  workers?: number;
  signal: AbortSignal;
  log(level: 'info' | 'warn', m: string): void;
  /** The command line, recorded in the tuned config. */
  command: string;
}

export interface TuneOutcome {
  table: string;
  /** The tuned config file's JSON. */
  config: Record<string, unknown>;
  record: TunedRecord;
  best: GridPoint;
}

/** Why the config cannot be tuned (null when it can): tune chooses a black-box zeroth-order search over a PCA face model. */
function tunable(config: RunConfig, plan: AttackPlan): string | null {
  if (plan.decision.route !== 'blackbox') return `the route is "${plan.decision.route}" (${plan.decision.reason}); tune chooses a black-box query search's settings`;
  if (config.search.method !== 'zeroth-order') return `search.method is "${config.search.method}"; tune chooses the zeroth-order search's settings`;
  if (config.faceModel.kind !== 'pca') return `faceModel.kind is "${config.faceModel.kind}"; the search's surrogate and the tune's face model need "pca"`;
  return null;
}

/** The surrogate the searches use, and a sentence saying which and why. */
export function chooseSurrogate(config: RunConfig, frame: AlignmentSpec, workspaceDir: string): { encoder: string | null; why: string } {
  const named = config.search.surrogate?.encoder;
  if (named) {
    resolveSurrogate(named, config.encoder, 'onnxruntime', frame.size, workspaceDir, 'search.surrogate.encoder', frame.template);
    return { encoder: named, why: `${named} (the config's)` };
  }
  const usable = usableSurrogates(config.encoder, 'onnxruntime', frame.size, workspaceDir, frame.template);
  if (!usable.length) {
    return { encoder: null, why: `none: no encoder other than ${config.encoder} can be differentiated on ONNX Runtime in its ${frame.template} frame, so the search runs on queries only` };
  }
  return { encoder: usable[0], why: `${usable[0]} (chosen automatically: the config names none; usable: ${usable.join(', ')})` };
}

/** One face model's setup: the model, its targets and start, the detector (kept across the model's points). */
interface ModelSetup { components: number; model: PcaFaceModel; targets: Float32Array[]; start: Float32Array; detect?: Awaited<ReturnType<typeof openFaceDetector>> }

/** The real search of one point: the run's inversion with the point's settings, on the validation targets. */
function realSearch(config: RunConfig, plan: AttackPlan, side: TrainingSide, surrogate: SearchSurrogateConfig | null, thresholds: number[], o: TuneOptions, queries: number) {
  let setup: ModelSetup | null = null;
  const release = async () => { await setup?.detect?.dispose(); setup?.model.dispose(); setup = null; };
  const search: SearchPoint = async (p) => {
    if (setup?.components !== p.components) {
      await release();
      const model = await tuneFaceModel(side, p.components, config.faceModel.clamp, plan.seed, o.cacheDir, (m) => o.log('info', m));
      const { targets, start } = await validationTargets(side, model, config, o.targets);
      setup = { components: p.components, model, targets, start, detect: await openFaceDetector(plan, model) };
    }
    const s: ModelSetup = setup;
    const { minutes: _minutes, ...rest } = plan.search;
    void _minutes; // the tune compares settings at a fixed query budget, not at a machine's pace
    const withSurrogate = surrogate && p.weight !== undefined ? { ...surrogate, weight: p.weight, warmupSteps: p.warmupSteps ?? surrogate.warmupSteps } : undefined;
    const t0 = Date.now();
    const res = await invertTargets({ ...plan, faceModel: { kind: 'pca', components: p.components, clamp: config.faceModel.clamp }, search: { ...rest, queries, sigma: p.sigma, learningRate: p.learningRate, surrogate: withSurrogate } },
      s.model, s.targets, s.start, { signal: o.signal, workspaceDir: o.workspaceDir, cacheDir: o.cacheDir, log: o.log, photos: side.photos, ...(s.detect ? { detect: s.detect.detect } : {}) });
    // A cancelled search's figures are partial: the tune stops rather than rank them.
    if (res.aborted) throw new JobCancelledError();
    const cos = res.cosine ?? [];
    const mean = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0) / a.length;
    const score: PointScore = {
      startCosine: mean(res.search?.startCos ?? []), meanCosine: mean(cos), seconds: (Date.now() - t0) / 1000,
      typeI: thresholds.map((t) => cos.filter((c) => c > t).length / cos.length),
      ...(withSurrogate && !res.search?.prior ? { note: 'surrogate map fits badly: queries only' } : {}),
    };
    o.log('info', `${describePoint(p)}: cosine ${score.startCosine.toFixed(3)} → ${score.meanCosine.toFixed(3)} (${score.seconds.toFixed(0)} s)`);
    return score;
  };
  return { search, release };
}

/** Tunes `json` (a run config file's JSON, from `file`); `search` replaces the real search (tests). */
export async function tuneRunConfig(json: Record<string, unknown>, file: string, o: TuneOptions, searchOverride?: SearchPoint): Promise<TuneOutcome> {
  const config = assertRunConfig(JSON.parse(JSON.stringify(json)), file);
  const plan = planAttack(runAttackSpec(config), o.workspaceDir);
  const why = tunable(config, plan);
  if (why) throw new Error(`${file}: cannot tune: ${why}`);
  const frame: AlignmentSpec = { template: plan.enc.alignment.template, size: plan.enc.alignment.size };
  const queries = o.queries ?? config.search.queries;
  // Before the data: a refused surrogate is a config error, said before minutes of embedding.
  const choice = chooseSurrogate(config, frame, o.workspaceDir);
  o.log(choice.encoder ? 'info' : 'warn', `surrogate: ${choice.why}`);
  const side = await loadTrainingSide(config, frame, o.workspaceDir, { cacheDir: o.cacheDir, workers: o.workers });
  const surrogate = choice.encoder ? Value.Default(SearchSurrogateSchema, { ...(config.search.surrogate ?? {}), encoder: choice.encoder }) as SearchSurrogateConfig : null;
  const thresholds = validationThresholds(side, config.encoder);
  const points = gridPoints(o.grid, gridCentre(config.search, surrogate !== null, surrogate ?? { weight: 0, warmupSteps: 0 }), o.components ?? [config.faceModel.components]);
  o.log('info', `tune: ${points.length} searches of ${Math.min(o.targets, side.valIdentities.length)} validation targets × ${queries} queries; validation: ${new Set(side.valIdentities).size} identities ` +
    `(${side.valIdentities.length} photos), fitted on ${side.photos.rels.length} photos; thresholds ${TUNE_FMRS.map((f, i) => `${f}: ${thresholds[i].toFixed(3)}`).join(', ')}`);
  const real = searchOverride ? null : realSearch(config, plan, side, surrogate, thresholds, o, queries);
  let rows: RankedRow[];
  try {
    rows = await rankGrid(points, searchOverride ?? real!.search);
  } finally {
    await real?.release();
  }
  const record: TunedRecord = {
    by: o.command, date: new Date().toISOString(), validationFraction: side.carve.validationFraction,
    validationIdentities: new Set(side.valIdentities).size, targets: Math.min(o.targets, side.valIdentities.length), queries, grid: o.grid,
    surrogate: choice.why, fmrs: [...TUNE_FMRS], thresholds: thresholds.map((t) => Number(t.toFixed(4))), rows: tunedRows(rows),
  };
  const best = rows[0].point;
  return { table: rankTable(rows, TUNE_FMRS, queries), config: tunedConfig(json, best, choice, record, file), record, best };
}
