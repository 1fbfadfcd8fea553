/**
 * The face detector as an acceptance test for search candidates: a rendered latent passes when the
 * detector and landmark model find a face in it, placed on a canvas exactly as the `redetect` evaluation
 * protocol places reconstructions (daemon/evaluation/protocols.ts), so what passes here is what a
 * re-detecting pipeline will find.
 */
import { FaceAnalyzer } from '../data/faceAnalysis';
import { tf } from '../tfjs/tf';
import { padToCanvas } from '../evaluation/protocols';
import type { FaceModel } from './faceModel/types';

export async function makeFaceCheck(model: FaceModel): Promise<{ detect: (latents: Float32Array, n: number) => Promise<boolean[]>; dispose: () => Promise<void> }> {
  const analyzer = await FaceAnalyzer.load();
  const S = model.frame.size;
  const k = model.latentDim;
  return {
    async detect(latents, n) {
      const out: boolean[] = [];
      for (let s = 0; s < n; s += 64) {
        const m = Math.min(64, n - s);
        const px = tf.tidy(() => tf.cast(tf.round(tf.mul(model.render(tf.tensor2d(latents.subarray(s * k, (s + m) * k), [m, k])), 255)), 'int32'));
        const data = await px.data() as Int32Array;
        px.dispose();
        for (let i = 0; i < m; i++) {
          const crop = Uint8Array.from(data.subarray(i * S * S * 3, (i + 1) * S * S * 3));
          try {
            await analyzer.analyse(padToCanvas(crop, S), 'candidate');
            out.push(true);
          } catch {
            out.push(false);
          }
        }
      }
      return out;
    },
    dispose: () => analyzer.dispose(),
  };
}
