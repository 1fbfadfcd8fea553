/**
 * The white-box search step as one ONNX graph (daemon/nets/latentSearch.ts's loss, on ONNX Runtime):
 *
 *   z [N, D], targets T [N, d] (unit rows), active [N] (1 = optimised, 0 = frozen)
 *   img = G(z) (NCHW, ./generators.ts) → crop + bilinear resize to E's input (two interpolation matrices, as
 *   cropResize) → e = E(img) L2-normalised (./encoderGraph.ts) → cos = Σ e·T / (‖e‖ + 1e-12)
 *   loss_i = active_i · (1 − cos_i + priorWeight·‖z_i‖²)
 *   outputs: loss [N], cos [N], grad = d(Σ loss)/dz [N, D] (rows are independent), plus a G-only graph
 *   z → image [N, S, S, 3] for the final renders.
 */
import type { CropSpec } from '../nets/latentSearch';
import { interpMatrix, validateCrop } from '../nets/latentSearch';
import { gradients } from './autodiff';
import { emitEncoder, OnnxEncoderSource } from './encoderGraph';
import type { OrtGenerator } from './generators';
import { GraphBuilder } from './graph';

/** img NCHW [N, C, S, S] → [N, C, s, s] over the crop box (identity when it is the whole image at S). */
export function emitCropResize(b: GraphBuilder, img: string, crop: CropSpec): string {
  const sh = b.shape(img);
  const S = sh[2] as number;
  if (sh[3] !== S) throw new Error(`search graph: generator images must be square, got ${sh[2]}×${sh[3]}`);
  validateCrop(crop, S);
  const [y1, x1, y2, x2] = crop.box ?? [0, 0, 1, 1];
  const s = crop.size;
  if (s === S && y1 === 0 && x1 === 0 && y2 === 1 && x2 === 1) return img;
  const ry = b.constant(interpMatrix(s, S, y1, y2), [s, S], 'float32', 'crop_rows');
  // Columns: img · Rxᵀ with Rxᵀ [S, s].
  const rx = interpMatrix(s, S, x1, x2);
  const rxT = new Float32Array(S * s);
  for (let i = 0; i < s; i++) for (let j = 0; j < S; j++) rxT[j * s + i] = rx[i * S + j];
  const rows = b.op('MatMul', [ry, img]); // [N, C, s, S]
  return b.op('MatMul', [rows, b.constant(rxT, [S, s], 'float32', 'crop_cols')]); // [N, C, s, s]
}

export interface SearchGraphs {
  /** z, targets, active → loss, cos, grad. */
  step: Uint8Array;
  /** z → image [N, S, S, 3] in G's range. */
  render: Uint8Array;
}

/**
 * What the step graph scores against the targets: `emit` takes G's images NCHW [N, 3, S, S] and returns
 * L2-normalised embeddings [N, dim] (the attacked encoder behind its crop in the white box; a surrogate
 * encoder behind its frame warp in the surrogate-guided black box).
 */
export interface SearchScorer {
  id: string;
  dim: number;
  emit(b: GraphBuilder, img: string): string;
}

/** The attacked ONNX encoder behind the crop to its input: the white box's scorer. */
export function encoderScorer(E: OnnxEncoderSource, crop: CropSpec): SearchScorer {
  return { id: E.config.id, dim: E.config.embeddingDim, emit: (b, img) => emitEncoder(b, E, emitCropResize(b, img, crop), { normalize: true }) };
}

export function buildSearchGraphs(G: OrtGenerator, E: OnnxEncoderSource, crop: CropSpec, priorWeight: number): SearchGraphs {
  return buildScorerGraphs(G, encoderScorer(E, crop), priorWeight);
}

export function buildScorerGraphs(G: OrtGenerator, scorer: SearchScorer, priorWeight: number): SearchGraphs {
  const d = scorer.dim;
  const b = new GraphBuilder(`latent step (${G.kind} → ${scorer.id})`);
  const z = b.input('z', ['N', G.latentDim]);
  const T = b.input('targets', ['N', d]);
  const active = b.input('active', ['N']);
  const img = G.emit(b, z);
  const is = b.shape(img);
  if (is.length !== 4 || is[1] !== 3 || is[2] !== G.outputSize) throw new Error(`search graph: generator ${G.kind} emitted [${is}], expected [N, 3, ${G.outputSize}, ${G.outputSize}]`);
  const e = scorer.emit(b, img);
  const dot = b.op('ReduceSum', [b.op('Mul', [e, T]), b.ints([1])], { keepdims: 0 });
  const norm = b.op('Sqrt', [b.op('ReduceSum', [b.op('Mul', [e, e]), b.ints([1])], { keepdims: 0 })]);
  const cos = b.op('Div', [dot, b.op('Add', [norm, b.scalar(1e-12)])]);
  let per = b.op('Sub', [b.scalar(1), cos]);
  if (priorWeight > 0) per = b.op('Add', [per, b.op('Mul', [b.op('ReduceSum', [b.op('Mul', [z, z]), b.ints([1])], { keepdims: 0 }), b.scalar(priorWeight)])]);
  const loss = b.op('Mul', [per, active]);
  const total = b.op('ReduceSum', [loss], { keepdims: 0 });
  const grad = gradients(b, [{ value: total, grad: b.scalar(1) }], [z]).get(z);
  if (!grad) throw new Error('search graph: the loss does not depend on z');
  b.rename(loss, 'loss');
  b.rename(cos, 'cos');
  b.rename(grad, 'grad');
  b.output('loss', 'cos', 'grad');

  const r = new GraphBuilder(`generator ${G.kind}`);
  const rz = r.input('z', ['N', G.latentDim]);
  r.rename(r.op('Transpose', [G.emit(r, rz)], { perm: [0, 2, 3, 1] }), 'image');
  r.output('image');
  return { step: b.toBytes(), render: r.toBytes() };
}
