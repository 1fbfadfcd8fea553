/**
 * Starting points for New Encoder Config / New Run Config / New Protection Config: valid against
 * `encoder.schema.json` / `run.schema.json` / `protect.schema.json` (a unit test checks them with the daemon's
 * own validators). No `$schema`: a path (relative,
 * or into this extension's versioned install folder) breaks once the file is copied or the extension updated,
 * and the language server checks `*.faceinv-*.json` against the schema itself.
 */
import type { EncoderConfig } from '../daemon/protocol/encoderConfig';

export function encoderTemplate(id: string): EncoderConfig {
  return {
    id,
    format: 'onnx',
    model: { path: 'models/my-encoder.onnx' },
    inputSize: 112,
    layout: 'NCHW',
    channelOrder: 'RGB',
    normalization: { mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
    alignment: { template: 'arcface-5pt', size: 112 },
    embeddingDim: 512,
    l2Normalized: false,
    known: { architecture: false, weights: false, differentiable: false },
    description: 'Describe the face-recognition model under test in a sentence or two.',
    license: 'UNKNOWN',
    source: 'Where the model comes from (paper, package, vendor).',
  };
}

/** A small black-box run config; fields left out take the defaults of `daemon/protocol/runConfig.ts`. */
export function runTemplate(name: string, encoderId: string): Record<string, unknown> {
  return {
    name,
    description: 'Black-box decoder attack on one encoder, trained and evaluated on LFW (identity-disjoint split).',
    encoder: encoderId,
    route: 'blackbox',
    dataset: { path: 'lfw', maxIdentities: 200 },
    split: { seed: 0, testFraction: 0.2 },
    // Only what differs from the schema's defaults (a small, quick run); the language server's hover shows the rest.
    decoder: { outputSize: 64 },
    training: { epochs: 2, maxMinutes: 10 },
    evaluation: { encoders: [] },
  };
}

/**
 * A protection config comparing the five schemes (ISO/IEC 30136: accuracy, stolen-key and key-unknown inversion,
 * unlinkability, renewability) on a quick sample of LFW's held-out subjects; fields left out take the defaults
 * of `daemon/protocol/protectConfig.ts` (the language server's hover shows them, with each scheme's paper).
 */
export function protectTemplate(name: string, encoderId: string): Record<string, unknown> {
  return {
    name,
    description: 'Template protection schemes compared on held-out LFW subjects: what each keeps (accuracy) and what it resists (inversion with and without the key, linkage, renewal).',
    encoder: encoderId,
    dataset: { path: 'lfw', split: { seed: 0, testFraction: 0.2 }, maxImagesPerIdentity: 6, maxIdentities: 150 },
    // One subject key per scheme from its keySeed; remove the schemes you do not deploy, change parameters to yours.
    schemes: [
      { scheme: 'biohash', bits: 256, keySeed: 1 },
      { scheme: 'iom-grp', hashes: 128, projections: 16, keySeed: 2 },
      { scheme: 'iom-urp', hashes: 128, window: 16, permutations: 2, keySeed: 3 },
      { scheme: 'polyprotect', order: 5, overlap: 3, coefficientRange: 50, keySeed: 4 },
      { scheme: 'mlphash', hidden: [512], bits: 256, keySeed: 5 },
    ],
    operatingPoints: [1e-3, 1e-4],
    attack: { targets: 20, whiteboxSteps: 20 },
  };
}

/** `text` of a config file as written by the New … Config commands. */
export function configText(value: object): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A file name for a new config that does not exist yet in `existing`: `name.faceinv-run.json`, `name-2.…`. */
export function freshName(base: string, suffix: string, existing: (name: string) => boolean): string {
  for (let k = 1; ; k++) {
    const name = `${base}${k === 1 ? '' : `-${k}`}${suffix}`;
    if (!existing(name)) return name;
  }
}
