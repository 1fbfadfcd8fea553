/**
 * Identity rates of reconstructions of *validation* targets (identities carved from the training side, never
 * trained on and never the test identities), for model selection: the evaluation's own success-attack-rate
 * machinery (daemon/evaluation/sar.ts, thresholds.ts) with the validation photos as gallery and their impostor
 * pairs setting the thresholds, under the `direct` protocol (the reconstruction is already an aligned crop:
 * a resize into the attacked encoder's frame; for a transfer encoder with a point template, the warp that maps
 * the eye centres of the two templates, daemon/decoder/surrogate.ts). Querying the attacked encoder with
 * reconstructions is what a black-box attacker may do. No face detector runs here (that is the test
 * evaluation's `redetect`), so this is cheap enough to score every ablation row.
 */
import { subsetByIdentity, type ImageDataset } from '../data/dataset';
import { getEmbeddings } from '../data/embeddingCache';
import type { DataApiOptions } from '../data/embeddingCache';
import { tf } from '../tfjs/tf';
import { findEncoderConfig, scopeOf } from '../encoders/registry';
import { loadEncoder } from '../encoders/load';
import type { Encoder } from '../encoders/types';
import { encoderThresholds } from '../evaluation/thresholds';
import { Gallery, Probe, successAttackRates } from '../evaluation/sar';
import { frameWarp, warpImages, warpMatrices } from '../decoder/surrogate';
import { getTemplate } from '../data/templates';
import { TARGET_TEMPLATE, type PairSet } from '../decoder/trainingSet';

export const VALIDATION_FMRS = [1e-3, 1e-4] as const;

export interface EncoderScore {
  encoderId: string;
  /** Type I at each of VALIDATION_FMRS (share of targets), type II per pair at 1e-3. */
  typeI: number[];
  typeII: number;
  meanCosine: number;
  probes: number;
  /** Why an encoder was not scored (e.g. a box template). */
  skipped?: string;
}

export interface ValidationScore {
  targets: number;
  identities: number;
  scores: EncoderScore[];
}

/** [n, S, S, 3] uint8 crops → [n, s, s, 3] float in [0, 1] through a scale-and-shift warp (none when S = s, same template). */
function toFrame(images: Uint8Array, n: number, S: number, ry: Float32Array | null, rx: Float32Array | null, s: number): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.div(tf.tensor4d(images, [n, S, S, 3], 'int32').toFloat(), 255) as tf.Tensor4D;
    if (!ry || !rx) return x;
    return warpImages(x, tf.tensor2d(ry, [s, S]), tf.tensor2d(rx, [s, S]));
  });
}

async function embedAll(enc: Encoder, images: Uint8Array, n: number, S: number, warp: { ry: Float32Array; rx: Float32Array } | null): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const S3 = S * S * 3;
  for (let at = 0; at < n; at += 32) {
    const m = Math.min(32, n - at);
    const x = toFrame(images.subarray(at * S3, (at + m) * S3), m, S, warp?.ry ?? null, warp?.rx ?? null, enc.inputSize);
    try {
      out.push(...await enc.embed(x));
    } finally {
      x.dispose();
    }
  }
  return out;
}

/**
 * Scores reconstructions `images` ([n, S, S, 3] uint8, arcface-5pt frame) of validation rows `rows` of `val`
 * (the attacked encoder's embeddings of the validation photos) with the attacked encoder and `transfer`.
 */
export async function scoreOnValidation(images: Uint8Array, S: number, rows: readonly number[], val: PairSet, dataset: ImageDataset, validationIds: readonly string[],
  attackedId: string, transfer: readonly string[], opts: DataApiOptions & { workspaceDir?: string }): Promise<ValidationScore> {
  const n = rows.length;
  const scores: EncoderScore[] = [];
  const valDs = subsetByIdentity(dataset, validationIds);
  for (const id of [attackedId, ...transfer.filter((t) => t !== attackedId)]) {
    const cfg = findEncoderConfig(id, scopeOf(opts.workspaceDir)).config;
    let gallery: Gallery;
    let sourceRows: number[];
    if (id === attackedId) {
      gallery = { embeddings: val.embeddings, dim: val.embeddings.length / val.rels.length, identities: val.identities, rels: val.rels };
      sourceRows = rows.slice();
    } else {
      const emb = await getEmbeddings(valDs, id, opts);
      gallery = { embeddings: emb.embeddings, dim: emb.dim, identities: emb.identities, rels: emb.rels };
      const at = new Map(emb.rels.map((r, i) => [r, i]));
      sourceRows = rows.map((r) => at.get(val.rels[r]) ?? -1);
    }
    let warp: { ry: Float32Array; rx: Float32Array } | null = null;
    if (cfg.alignment.template !== TARGET_TEMPLATE || cfg.alignment.size !== S) {
      if (getTemplate(cfg.alignment.template).kind === 'box') {
        // The mean-eye warp of a box crop guides a search; a score through it would understate the encoder.
        scores.push({ encoderId: id, typeI: [], typeII: NaN, meanCosine: NaN, probes: 0, skipped: `its "${cfg.alignment.template}" crops have no fixed place in the arcface frame` });
        continue;
      }
      warp = warpMatrices(frameWarp(S, cfg.alignment.template, cfg.alignment.size));
    }
    const enc = await loadEncoder(cfg, { workspaceDir: opts.workspaceDir });
    let embedded: Float32Array[];
    try {
      embedded = await embedAll(enc, images, n, S, warp);
    } finally {
      enc.dispose();
    }
    const probes: Probe[] = [];
    embedded.forEach((e, i) => { if (sourceRows[i] >= 0) probes.push({ embedding: e, sourceRow: sourceRows[i] }); });
    const th = encoderThresholds(id, gallery, validationIds, VALIDATION_FMRS);
    const r = successAttackRates(probes, gallery, [...th.points.map((p) => p.threshold)]);
    scores.push({
      encoderId: id, probes: probes.length, meanCosine: r.meanCosine ?? NaN,
      typeI: r.typeI.map((x) => x.rate ?? NaN), typeII: r.typeII.perPair[0].rate ?? NaN,
    });
  }
  return { targets: n, identities: new Set(rows.map((r) => val.identities[r])).size, scores };
}
