/**
 * Decoding embeddings into face images on ONNX Runtime: the inference graph of the W1 decoder
 * (./trainer.ts forward, BN with moving statistics) in batches, with daemon/decoder/reconstruct.ts
 * decodeEmbeddings's output convention — [N, S, S, 3] uint8, y·255 rounded half to even (tf.round) and
 * clipped — so it can stand in for it wherever the decoder is on ONNX Runtime.
 */
import type { DecoderState } from '../nets/decoder';
import { OrtDecoderTrainer } from './trainer';
import type { SessionSettings } from './session';

/** Round half to even, as tf.round. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export async function decodeEmbeddingsOrt(state: DecoderState, rows: readonly Float32Array[], batch = 32, settings: SessionSettings = {}): Promise<Uint8Array> {
  const t = OrtDecoderTrainer.fromState(state, settings);
  try {
    const { inputDim: d, outputSize: s } = t.options;
    const S3 = s * s * 3;
    const out = new Uint8Array(rows.length * S3);
    for (let at = 0; at < rows.length; at += batch) {
      const chunk = rows.slice(at, at + batch);
      const z = new Float32Array(chunk.length * d);
      chunk.forEach((r, i) => {
        if (r.length !== d) throw new Error(`decodeEmbeddingsOrt: embedding ${at + i} has ${r.length} values, the decoder takes ${d}`);
        z.set(r, i * d);
      });
      const y = await t.forward(z, chunk.length);
      for (let i = 0; i < y.length; i++) out[at * S3 + i] = Math.min(255, Math.max(0, roundHalfEven(Math.fround(y[i] * 255))));
    }
    return out;
  } finally {
    await t.dispose();
  }
}
