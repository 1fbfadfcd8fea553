/**
 * Generators G for the white-box search on ONNX Runtime. A generator only has to emit its forward into a
 * graph with ops that have backward rules (./rules); reverse mode then gives dG/dz for free:
 *   - `decoderGenerator`: the trained W1 decoder (BN with moving statistics; weights baked in as
 *     initializers, so ONNX Runtime can pre-pack them);
 *   - `pcaGenerator`: a linear face model x = mean + Vᵀ·c (one MatMul + Add; its backward is the MatMul rule,
 *     dc = upstream·V, i.e. "Vᵀ·upstream" per image).
 *
 *   emit(b, z [N, latentDim]) → image NCHW [N, 3, S, S] (in [0, 1] for the decoder; as given for PCA)
 */
import type { DecoderState } from '../nets/decoder';
import { emitDecoder } from './decoderGraph';
import { decoderNet } from './decoderNet';
import type { GraphBuilder } from './graph';
import { graphShape, layoutOf, toGraphLayout } from './paramLayout';

export interface OrtGenerator {
  readonly kind: string;
  readonly latentDim: number;
  /** Side S of the square RGB image. */
  readonly outputSize: number;
  emit(b: GraphBuilder, z: string): string;
}

/** The W1 decoder of a checkpoint (daemon/nets/decoder.ts), inference mode. */
export function decoderGenerator(state: DecoderState): OrtGenerator {
  const net = decoderNet(state.options);
  const byName = new Map(state.tensors.map((t) => [t.name, t]));
  return {
    kind: 'w1-decoder',
    latentDim: state.options.inputDim,
    outputSize: state.options.outputSize,
    emit(b, z) {
      const consts = new Map<string, string>();
      for (const t of net.tensors) {
        const have = byName.get(t.name);
        if (!have) throw new Error(`decoder generator: the checkpoint lacks '${t.name}'`);
        const layout = layoutOf(t, 'native');
        consts.set(t.name, b.constant(toGraphLayout(have.data, t, layout), graphShape(t, layout), 'float32', `G/${t.name}`));
      }
      return emitDecoder(b, net, z, (n) => consts.get(n)!, { training: false, convT: 'native' }).image;
    },
  };
}

export interface PcaModel {
  /** [3·S·S] mean face. */
  mean: Float32Array;
  /** [K, 3·S·S] components (rows). */
  components: Float32Array;
  /** Number of components K. */
  k: number;
  size: number;
  /** Element order of mean/components: 'nhwc' ([S, S, 3] per face, as TF.js images) or 'nchw'. */
  layout: 'nhwc' | 'nchw';
  /** Clip the face to [0, 1] (gradient zero outside). */
  clip?: boolean;
}

/** x = mean + c·V (c [N, K], V [K, 3·S·S]) as an NCHW image batch. */
export function pcaGenerator(m: PcaModel): OrtGenerator {
  const px = 3 * m.size * m.size;
  if (m.mean.length !== px) throw new Error(`PCA generator: mean has ${m.mean.length} values, expected 3·${m.size}² = ${px}`);
  if (m.components.length !== m.k * px) throw new Error(`PCA generator: components have ${m.components.length} values, expected ${m.k}×${px}`);
  return {
    kind: 'pca',
    latentDim: m.k,
    outputSize: m.size,
    emit(b, z) {
      const V = b.constant(m.components, [m.k, px], 'float32', 'pca_components');
      const mu = b.constant(m.mean, [px], 'float32', 'pca_mean');
      let x = b.op('Add', [b.op('MatMul', [z, V]), mu]);
      const s = m.size;
      const n = b.shape(z)[0];
      if (m.layout === 'nhwc') {
        x = b.op('Transpose', [b.op('Reshape', [x, b.ints([0, s, s, 3])], {}, { outShape: [n, s, s, 3] })], { perm: [0, 3, 1, 2] });
      } else {
        x = b.op('Reshape', [x, b.ints([0, 3, s, s])], {}, { outShape: [n, 3, s, s] });
      }
      return m.clip ? b.op('Clip', [x, b.scalar(0), b.scalar(1)]) : x;
    },
  };
}
