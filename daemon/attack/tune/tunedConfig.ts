/**
 * The config `faceinv tune` writes: the input run config as it was written (its file's JSON, not the one with
 * defaults filled in), with only the search settings replaced by the best point's — and the face model's size
 * when the tune compared sizes — plus a `tuned` record of how they were chosen. It is validated as a run
 * config before it is returned.
 */
import { assertRunConfig, FaceModelConfigSchema, type TunedRecord } from '../../protocol/runConfig';
import { isPlainObject } from '../../protocol/json';
import type { GridPoint } from './grid';

/** The surrogate the tuned search uses: its encoder, or none (queries only). */
export interface SurrogateChoice { encoder: string | null }

/** The tuned config file's JSON (throws when it is not a valid run config). */
export function tunedConfig(input: Record<string, unknown>, best: GridPoint, surrogate: SurrogateChoice, record: TunedRecord, where: string): Record<string, unknown> {
  const search = { ...(isPlainObject(input.search) ? input.search : {}) } as Record<string, unknown>;
  search.sigma = best.sigma;
  search.learningRate = best.learningRate;
  const before = isPlainObject(search.surrogate) ? search.surrogate : {};
  if (surrogate.encoder !== null && best.weight !== undefined) {
    search.surrogate = { ...before, encoder: surrogate.encoder, weight: best.weight, warmupSteps: best.warmupSteps };
  } else {
    delete search.surrogate;
  }
  const faceModel = isPlainObject(input.faceModel) ? input.faceModel : {};
  const out: Record<string, unknown> = { ...input, search, tuned: record };
  if ((faceModel.components ?? FaceModelConfigSchema.properties.components.default) !== best.components) out.faceModel = { ...faceModel, components: best.components };
  assertRunConfig(JSON.parse(JSON.stringify(out)), where);
  return out;
}
