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

export interface IndependentDetectorResult {
  images: number;
  /** ms per image: face-api's SSD (network on ONNX Runtime) + landmarks, and with face-api's own TF.js forward. */
  ortMs: number;
  tfjsMs: number;
  ratio: number;
}

/**
 * The `independent` protocol's detector (face-api SSD MobileNet v1 + 68 landmarks) on `images` seeded noise
 * canvases of the protocol's size (448 px: 4 × a 112-px crop), with the SSD network on ONNX Runtime and on
 * TF.js. Noise holds no face, so this times the detector's network, which is what dominates a real image.
 */
export async function benchIndependentDetector(images = 6, side = 448): Promise<IndependentDetectorResult> {
  const { FaceApiAnalyzer } = await import('../data/faceApiDetector');
  let s = 12345;
  const canvases = Array.from({ length: images }, () => ({
    width: side, height: side, data: Uint8Array.from({ length: side * side * 3 }, () => { s = (s * 1103515245 + 12345) >>> 0; return s >>> 24; }),
  }));
  const time = async (runtime: 'onnxruntime' | 'tfjs'): Promise<number> => {
    const fa = await FaceApiAnalyzer.load({ runtime });
    try {
      await fa.analyse(canvases[0], 'warm-up').catch(() => undefined);
      const t0 = process.hrtime.bigint();
      for (const c of canvases) await fa.analyse(c, 'noise').catch(() => undefined);
      return Number(process.hrtime.bigint() - t0) / 1e6 / images;
    } finally {
      fa.dispose();
    }
  };
  const ortMs = await time('onnxruntime');
  const tfjsMs = await time('tfjs');
  return { images, ortMs, tfjsMs, ratio: tfjsMs / ortMs };
}
