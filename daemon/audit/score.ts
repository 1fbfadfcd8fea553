/**
 * Scoring a chunk of the audit: each reconstruction against its own template, under the evaluation's two
 * protocols (daemon/evaluation/protocols.ts, reused: `direct` = the crop straight into the encoder, warped
 * by the reference set's mean face geometry for an encoder with another template; `redetect` = detection,
 * landmarks and alignment as for a real photo), by the audited encoder and by each transfer encoder against
 * that system's template of the same person. The lookalike (the nearest reference photo) goes through the
 * same pipeline. Every face is detected once and aligned per encoder.
 */
import type { FaceGeometry } from '../data/align';
import type { FaceAnalyzer } from '../data/faceAnalysis';
import type { AlignmentSpec } from '../data/templates';
import type { Encoder } from '../encoders/types';
import { AlignedOrFailure, directCrop, embedCrops, redetect, redetectedCrops, Redetected } from '../evaluation/protocols';
import type { ByProtocol, Scored } from './reportSchema';

export interface Scorer {
  encoder: Encoder;
  /** The encoder's own alignment (template, crop side). */
  spec: AlignmentSpec;
  /** Its template for each scored face's owner (unit norm), or null when it has none. */
  targets: readonly (Float32Array | null)[];
}

export interface ChunkScores {
  /** Per scorer, per template. */
  attack: (ByProtocol | null)[][];
  nearest: (ByProtocol | null)[][];
  /** Faces embedded to score the chunk (what an HTTP encoder was sent). */
  queries: number;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

const shortFailure = (f: string) => (f.length > 300 ? `${f.slice(0, 297)}…` : f);

/**
 * `recons[i]` and `lookalikes[of[i]]` ([S, S, 3] uint8 in `frame`; none when of[i] < 0) scored for template i by every scorer.
 * `meanGeometry` (the reference faces' mean geometry in `frame`) is needed only for a scorer whose template
 * differs from the frame's.
 */
export async function scoreChunk(recons: readonly Uint8Array[], lookalikes: readonly Uint8Array[], of: readonly number[], frame: AlignmentSpec,
  scorers: readonly Scorer[], analyzer: FaceAnalyzer, meanGeometry: FaceGeometry | null): Promise<ChunkScores> {
  const S = frame.size;
  const foundR = await redetect(analyzer, recons, S, recons.map((_, i) => `reconstruction ${i}`));
  const foundN = await redetect(analyzer, lookalikes, S, lookalikes.map((_, i) => `lookalike ${i}`));
  let queries = 0;
  type Embedded = { embedding: Float32Array | null; failure?: string };
  const run = async (sc: Scorer, images: readonly Uint8Array[], found: Redetected[]): Promise<Record<'direct' | 'redetect', Embedded[]>> => {
    const out: Record<'direct' | 'redetect', Embedded[]> = { direct: [], redetect: [] };
    for (const protocol of ['direct', 'redetect'] as const) {
      let crops: AlignedOrFailure[];
      if (protocol === 'direct') {
        if (sc.spec.template !== frame.template && !meanGeometry) throw new Error(`scoring with ${sc.encoder.id}: its ${sc.spec.template} frame needs the reference faces' mean geometry`);
        crops = images.map((img) => ({ crop: directCrop(img, frame, sc.spec, meanGeometry as FaceGeometry) }));
      } else {
        crops = redetectedCrops(found, sc.spec);
      }
      queries += crops.filter((c) => 'crop' in c).length;
      out[protocol] = await embedCrops(sc.encoder, crops, sc.spec);
    }
    return out;
  };
  const cos = (e: Embedded, t: Float32Array): Scored => (e.embedding ? { cosine: dot(e.embedding, t) } : { cosine: null, failure: shortFailure(e.failure ?? 'not embedded') });
  const attack: (ByProtocol | null)[][] = [];
  const nearest: (ByProtocol | null)[][] = [];
  for (const sc of scorers) {
    // Only the faces of templates this scorer has are sent to it.
    const need = sc.targets.map((t) => t !== null);
    const rIdx = recons.map((_, i) => i).filter((i) => need[i]);
    // of[i] < 0: a face scored without a lookalike beside it (the faces held along a decision walk).
    const nIdx = [...new Set(rIdx.map((i) => of[i]).filter((j) => j >= 0))].sort((a, b) => a - b);
    const r = await run(sc, rIdx.map((i) => recons[i]), rIdx.map((i) => foundR[i]));
    const n = await run(sc, nIdx.map((j) => lookalikes[j]), nIdx.map((j) => foundN[j]));
    const a: (ByProtocol | null)[] = recons.map(() => null);
    const b: (ByProtocol | null)[] = recons.map(() => null);
    rIdx.forEach((i, k) => {
      const t = sc.targets[i] as Float32Array;
      a[i] = { direct: cos(r.direct[k], t), redetect: cos(r.redetect[k], t) };
      const j = nIdx.indexOf(of[i]);
      if (j >= 0) b[i] = { direct: cos(n.direct[j], t), redetect: cos(n.redetect[j], t) };
    });
    attack.push(a);
    nearest.push(b);
  }
  return { attack, nearest, queries };
}
