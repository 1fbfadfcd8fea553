/**
 * ONNX graphs of the W1 decoder (./decoderNet.ts) for ONNX Runtime:
 *   - the training graph: inputs z [B, D] (noise already added), target [B, S, S, 3] in [0, 1] and every
 *     trainable tensor (checkpoint layout); outputs `loss`, `grad:<name>` for every trainable, `gradSumSq`
 *     (Σ of all squared gradients, the finiteness check) and `bn_mean:<layer>` / `bn_var:<layer>` (batch
 *     statistics for the moving averages) — one forward + reverse pass, as Decoder.trainStep's tf.variableGrads;
 *   - the inference graph: z and all tensors (moving statistics included) → `image` [B, S, S, 3] (BN with
 *     moving statistics, as Decoder.forward(z, false)).
 * The batch is static (one session per batch size), so every reduction count is a constant.
 */
import { gradients } from './autodiff';
import { GraphBuilder } from './graph';
import { batchNormInfer, batchNormTrain, BatchStatOutputs, convTransposeK4S2, conv3x3, ConvTLayout, dense, oneMinusCos, pixelLoss, PixelLoss, ssim } from './layers';
import { DecoderNet } from './decoderNet';
import { graphShape, layoutOf } from './paramLayout';

export interface EmitOptions {
  training: boolean;
  /** The clean template for the linear base (training: z carries the input noise); default z. */
  zBase?: string;
  /** Graph layout of the up-sampling kernels (default 'native'). */
  convT?: ConvTLayout;
}

export interface GraphOptions {
  convT?: ConvTLayout;
  weightGrad?: 'shift' | 'im2col';
  /** Overrides the decoder's loss (e.g. 'ssim'). */
  loss?: PixelLoss;
  /** The identity term's surrogate (needed when the decoder's identityWeight > 0). */
  identity?: SurrogateEmitter;
}

/**
 * A surrogate face encoder F as graph ops: decoder images NCHW [N, 3, S, S] (about [0, 1], in the decoder's
 * frame) → [N, dim] embeddings, the warp into F's own frame included. F's weights are constants: only dF/dx
 * flows back.
 */
export interface SurrogateEmitter {
  /** Encoder id (for messages and the manifest). */
  id: string;
  dim: number;
  emit(b: GraphBuilder, images: string): string;
}

/**
 * Emits the decoder's forward into `b`: z [B, D] → image NCHW [B, 3, S, S] in [0, 1]. `t(name)` resolves a
 * checkpoint tensor to a graph value (an input or an initializer).
 */
export function emitDecoder(b: GraphBuilder, net: DecoderNet, z: string, t: (name: string) => string, o: EmitOptions): { image: string; stats: Array<{ layer: string } & BatchStatOutputs> } {
  const stats: Array<{ layer: string } & BatchStatOutputs> = [];
  const norm = (x: string, name: string): string => {
    if (o.training) {
      const r = batchNormTrain(b, x, t(`${name}/gamma`), t(`${name}/beta`), true);
      stats.push({ layer: name, ...r.stats });
      return r.y;
    }
    return batchNormInfer(b, x, t(`${name}/gamma`), t(`${name}/beta`), t(`${name}/moving_mean`), t(`${name}/moving_variance`), true);
  };
  let h = z;
  for (const l of net.layers) {
    switch (l.kind) {
      case 'dense': h = dense(b, h, t(`${l.name}/kernel`)); break;
      case 'bn': h = norm(h, l.name); break;
      case 'toMap': {
        // TF reshapes the dense features to NHWC [B, 4, 4, C]; the graph works in NCHW.
        const nhwc = b.op('Reshape', [h, b.ints([0, l.side, l.side, l.channels])], {}, { outShape: [b.shape(h)[0], l.side, l.side, l.channels] });
        h = b.op('Transpose', [nhwc], { perm: [0, 3, 1, 2] });
        break;
      }
      case 'convT': h = convTransposeK4S2(b, h, t(`${l.name}/kernel`), l.bias ? t(`${l.name}/bias`) : null, o.convT ?? 'native'); break;
      case 'residual': {
        let r = h;
        for (const u of l.body) r = norm(conv3x3(b, r, t(u.conv)), u.bn);
        h = b.op('Add', [h, r]);
        break;
      }
      case 'sigmoid': h = b.op('Sigmoid', [h]); break;
      case 'linearBase': {
        const n = b.shape(z)[0];
        const s = l.size;
        const flat = b.op('Add', [b.op('MatMul', [o.zBase ?? z, t('base/kernel')]), t('base/bias')]);
        const nhwc = b.op('Reshape', [flat, b.ints([0, s, s, 3])], {}, { outShape: [n, s, s, 3] });
        h = b.op('Add', [h, b.op('Transpose', [nhwc], { perm: [0, 3, 1, 2] })]);
        // Inference clips to [0, 1] (as Decoder.forward); the training loss sees the unclipped sum.
        if (!o.training) h = b.op('Clip', [h, b.scalar(0), b.scalar(1)]);
        break;
      }
    }
  }
  return { image: h, stats };
}

export interface TrainGraph {
  bytes: Uint8Array;
  batch: number;
  /**
   * Graph input names: 'z', 'target', 'idTarget' (identity term only: the surrogate's embeddings of the
   * target photos [B, d]), then the trainables, 'zClean' (linear base only: z without the training noise),
   * and the fixed tensors by checkpoint name (in graph layouts).
   */
  inputs: string[];
  /** Whether the graph takes 'idTarget'. */
  identity: boolean;
  options: GraphOptions;
  /** `grad:<name>` per trainable, in Adam order. */
  gradOutputs: string[];
  /**
   * Per trainable (same order): when the gradient is output before its final layout transpose, the shape it
   * has and the permutation that turns it into the parameter's graph layout (see ./adam.ts transposeGather).
   */
  gradLayouts: Array<{ outShape: number[]; shape: number[]; perm: number[] } | null>;
  statOutputs: Array<{ layer: string; mean: string; variance: string }>;
}

export function buildTrainGraph(net: DecoderNet, batch: number, opts: GraphOptions = {}): TrainGraph {
  const { inputDim: d, outputSize: s } = net.options;
  const b = new GraphBuilder(`W1 training step (batch ${batch})`);
  b.flags.weightGrad = opts.weightGrad ?? 'shift';
  const convT = opts.convT ?? 'native';
  const z = b.input('z', [batch, d]);
  const target = b.input('target', [batch, s, s, 3]);
  const wId = net.options.identityWeight ?? 0;
  const wSsim = net.options.ssimWeight ?? 0;
  if (wId > 0 && !opts.identity) throw new Error(`decoder graph: identityWeight is ${wId} but no surrogate encoder was given`);
  const idTarget = wId > 0 ? b.input('idTarget', [batch, opts.identity!.dim]) : null;
  const params = new Map<string, string>();
  for (const p of net.trainables) params.set(p.name, b.input(p.name, graphShape(p, layoutOf(p, convT))));
  const fixed = new Map<string, string>();
  for (const p of net.tensors.filter((x) => x.role === 'fixed')) fixed.set(p.name, b.input(p.name, graphShape(p, layoutOf(p, convT))));
  const t = (name: string) => {
    const v = params.get(name) ?? fixed.get(name);
    if (!v) throw new Error(`decoder graph: no trainable '${name}'`);
    return v;
  };
  const zBase = net.layers.some((l) => l.kind === 'linearBase') ? b.input('zClean', [batch, d]) : undefined;
  const { image, stats } = emitDecoder(b, net, z, t, { training: true, convT, ...(zBase ? { zBase } : {}) });
  const tn = b.op('Transpose', [target], { perm: [0, 3, 1, 2] });
  const pixel = pixelLoss(b, image, tn, opts.loss ?? net.options.loss);
  let loss = pixel;
  const zero = b.scalar(0);
  let ssimTerm = zero;
  let idTerm = zero;
  if (wSsim > 0) {
    ssimTerm = b.op('Sub', [b.scalar(1), ssim(b, image, tn)]);
    loss = b.op('Add', [loss, b.op('Mul', [ssimTerm, b.scalar(wSsim)])]);
  }
  if (idTarget) {
    const e = opts.identity!.emit(b, image);
    idTerm = b.op('ReduceMean', [oneMinusCos(b, e, idTarget).loss], { keepdims: 0 });
    loss = b.op('Add', [loss, b.op('Mul', [idTerm, b.scalar(wId)])]);
  }
  const grads = gradients(b, [{ value: loss, grad: b.scalar(1) }], [...params.values()]);
  b.rename(loss, 'loss');
  b.output('loss');
  const gradOutputs: string[] = [];
  const gradLayouts: TrainGraph['gradLayouts'] = [];
  const sq: string[] = [];
  for (const p of net.trainables) {
    const g0 = grads.get(params.get(p.name)!);
    if (!g0) throw new Error(`decoder graph: the loss does not depend on '${p.name}'`);
    const peeled = peelTranspose(b, g0);
    gradLayouts.push(peeled ? { outShape: b.shape(peeled.value) as number[], shape: peeled.shape, perm: peeled.perm } : null);
    const g = peeled ? peeled.value : g0;
    const name = `grad:${p.name}`;
    b.rename(g, name);
    b.output(name);
    gradOutputs.push(name);
    sq.push(b.op('ReduceSumSquare', [name], { keepdims: 0 }));
  }
  b.rename(b.op('Sum', sq), 'gradSumSq');
  b.output('gradSumSq');
  // The loss terms for the metrics: [pixel, 1 − SSIM, 1 − cos] (0 for a term not in the loss).
  b.rename(b.op('Concat', [pixel, ssimTerm, idTerm].map((v) => b.op('Reshape', [v, b.ints([1])])), { axis: 0 }), 'terms');
  b.output('terms');
  const statOutputs = stats.map((st) => {
    const mean = b.rename(st.mean, `bn_mean:${st.layer}`);
    const variance = b.rename(st.variance, `bn_var:${st.layer}`);
    b.output(mean, variance);
    return { layer: st.layer, mean, variance };
  });
  return { bytes: b.toBytes(), batch, inputs: b.inputs.slice(), identity: !!idTarget, options: { ...opts, convT }, gradOutputs, gradLayouts, statOutputs };
}

/**
 * When `g` = Reshape(Transpose(R, perm)) (optionally R = Reshape(S)), returns R (or S with R's shape) and
 * perm, so the transpose can be left to the host; null otherwise. The skipped nodes become dead and are
 * pruned by ONNX Runtime.
 */
function peelTranspose(b: GraphBuilder, g: string): { value: string; shape: number[]; perm: number[] } | null {
  const producer = (v: string) => b.nodes.find((n) => n.outputs.includes(v));
  const r1 = producer(g);
  if (!r1 || r1.op !== 'Reshape') return null;
  const t = producer(r1.inputs[0]);
  if (!t || t.op !== 'Transpose') return null;
  const src = t.inputs[0];
  const shape = b.shape(src);
  if (shape.some((d) => typeof d !== 'number')) return null;
  const perm = t.attrs.perm as number[];
  const r0 = producer(src);
  const value = r0 && r0.op === 'Reshape' ? r0.inputs[0] : src;
  if (b.consts.has(value) || b.inputs.includes(value)) return null;
  return { value, shape: shape as number[], perm };
}

export interface ForwardGraph {
  bytes: Uint8Array;
  batch: number;
  inputs: string[];
}

/** Inference forward: z [B, D] and every checkpoint tensor → `image` [B, S, S, 3] (NHWC, as Decoder.forward). */
export function buildForwardGraph(net: DecoderNet, batch: number, opts: GraphOptions = {}): ForwardGraph {
  const b = new GraphBuilder(`W1 forward (batch ${batch})`);
  const convT = opts.convT ?? 'native';
  const z = b.input('z', [batch, net.options.inputDim]);
  const vals = new Map<string, string>();
  for (const p of net.tensors) vals.set(p.name, b.input(p.name, graphShape(p, layoutOf(p, convT))));
  const { image } = emitDecoder(b, net, z, (n) => vals.get(n)!, { training: false, convT });
  b.rename(b.op('Transpose', [image], { perm: [0, 2, 3, 1] }), 'image');
  b.output('image');
  return { bytes: b.toBytes(), batch, inputs: b.inputs.slice() };
}
