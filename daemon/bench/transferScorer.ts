/**
 * The transfer scorer's speed: human-faceres (the evaluation's pure transfer encoder, TF.js graph model)
 * embedding random faces on the project path (its ONNX Runtime import, daemon/encoders/tfjsOrtEmbedding.ts)
 * and on TF.js, in one run, with their agreement. It embeds every held-out photo on a first run and every
 * reconstruction of every run, so its faces/s sets much of a fresh clone's wall time.
 */
import { tf } from '../tfjs/tf';
import { loadEncoderById } from '../encoders/load';
import type { TfjsModelEncoder } from '../encoders/tfjsModelEncoder';

export const TRANSFER_SCORER = 'human-faceres';

export interface TransferScorerResult {
  encoder: string;
  faces: number;
  projectFps: number;
  tfjsFps: number;
  ratio: number;
  /** The project path's runtime and why. */
  runtime: string;
  /** Worst per-face 1 − cosine between the two paths' embeddings. */
  worstCosineGap: number;
}

async function timed(e: TfjsModelEncoder, x: tf.Tensor4D): Promise<{ fps: number; rows: Float32Array[] }> {
  await e.embed(x.slice(0, 2) as tf.Tensor4D);
  const t0 = process.hrtime.bigint();
  const rows = await e.embed(x);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { fps: x.shape[0] / s, rows };
}

export async function benchTransferScorer(faces = 32): Promise<TransferScorerResult> {
  const project = (await loadEncoderById(TRANSFER_SCORER)) as TfjsModelEncoder;
  const reference = (await loadEncoderById(TRANSFER_SCORER, { tfjsEmbedding: true })) as TfjsModelEncoder;
  const x = tf.randomUniform([faces, project.inputSize, project.inputSize, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  try {
    const a = await timed(project, x);
    const b = await timed(reference, x);
    let worst = 0;
    a.rows.forEach((row, k) => {
      let dot = 0;
      row.forEach((v, i) => { dot += v * b.rows[k][i]; });
      worst = Math.max(worst, 1 - dot);
    });
    return { encoder: TRANSFER_SCORER, faces, projectFps: a.fps, tfjsFps: b.fps, ratio: a.fps / b.fps, runtime: project.runtimeNote, worstCosineGap: worst };
  } finally {
    x.dispose(); project.dispose(); reference.dispose();
  }
}
