/**
 * The identities `faceinv tune` may look at: the run's split is made as the run makes it (same dataset, seed
 * and test fraction), and a share of its *training* identities is held out for validation
 * (daemon/data/split.ts: the test identities do not depend on that share). Settings are fitted on the rest
 * and ranked on validation targets; the test identities are never opened, and `assertNoTestIdentities`
 * checks every dataset the tune reads.
 */
import { makeIdentitySplit } from '../../data/split';
import type { RunConfig } from '../../protocol/runConfig';

/** Validation identities below which a ranking of settings is noise (each contributes a handful of targets). */
export const MIN_VALIDATION_IDENTITIES = 20;
/** The share held out when the config's split has none (the share scripts/surrogate-validation.js used). */
export const DEFAULT_VALIDATION_FRACTION = 0.1;

export interface ValidationCarve {
  /** Training identities the face model, the start and the surrogate's map are fitted on. */
  fit: string[];
  /** Training identities held out: the targets and the thresholds come from their photos. */
  validation: string[];
  /** The run's test identities: never read, kept only to check against. */
  test: string[];
  validationFraction: number;
}

/** The run's split with validation identities carved from its training side. */
export function carveValidation(identities: readonly string[], split: RunConfig['split']): ValidationCarve {
  const validationFraction = split.validationFraction > 0 ? split.validationFraction : DEFAULT_VALIDATION_FRACTION;
  const s = makeIdentitySplit(identities, { seed: split.seed, testFraction: split.testFraction, validationFraction });
  const carve = { fit: s.train, validation: s.validation, test: s.test, validationFraction };
  assertNoTestIdentities(carve, [...carve.fit, ...carve.validation], 'the validation carve');
  return carve;
}

/** Throws when any of `identities` is a test identity of the run (the tune must never read one). */
export function assertNoTestIdentities(carve: Pick<ValidationCarve, 'test'>, identities: Iterable<string>, what: string): void {
  const test = new Set(carve.test);
  for (const id of identities) {
    if (test.has(id)) throw new Error(`${what} holds the test identity "${id}": settings must be chosen without the test identities`);
  }
}

/** Throws naming the minimum when the validation identities (those with usable photos) are too few to rank settings. */
export function checkValidationSize(identities: number, fraction: number, minimum = MIN_VALIDATION_IDENTITIES): void {
  if (identities < minimum) {
    throw new Error(`tune needs at least ${minimum} validation identities to rank settings, this split has ${identities} ` +
      `(${(100 * fraction).toFixed(0)} % of its training identities); use more identities (dataset.maxIdentities) or a larger split.validationFraction`);
  }
}
