/**
 * The engine's description of the W1 decoder (daemon/nets/decoder.ts), as data: the layer sequence and every
 * tensor of the checkpoint with its name, shape and role, in the order Decoder.save writes them (parameters
 * and moving statistics in creation order, the fixed linear base, then Adam m/v per trainable), so the ONNX
 * Runtime trainer reads and writes the very same decoder.json + weights.bin. Geometry (first map side,
 * channels) comes from the Decoder's own decoderGeometry, so the two engines cannot disagree on it.
 */
import { decoderGeometry, linearBaseShapes, type DecoderOptions } from '../nets/decoder';

export type DecoderLayer =
  | { kind: 'dense'; name: string; inDim: number; outDim: number }
  | { kind: 'bn'; name: string; channels: number; relu: true }
  | { kind: 'toMap'; channels: number; side: number }
  | { kind: 'convT'; name: string; inC: number; outC: number; bias: boolean }
  | { kind: 'residual'; body: Array<{ conv: string; bn: string; channels: number }> }
  | { kind: 'sigmoid' }
  /** y += reshape(z·base/kernel + base/bias) (NHWC pixels), the fixed linear inverse of linearBase. */
  | { kind: 'linearBase'; size: number };

export interface TensorSpec {
  name: string;
  shape: number[];
  /** 'fixed': saved and fed like a parameter, never trained (the linear base). */
  role: 'param' | 'moving_mean' | 'moving_variance' | 'fixed';
}

export interface DecoderNet {
  options: DecoderOptions;
  layers: DecoderLayer[];
  /** Parameters and moving statistics, in the Decoder's creation (= save) order. */
  tensors: TensorSpec[];
  /** Trainable parameters, in the Decoder's Adam order. */
  trainables: TensorSpec[];
  /** BN layer names in forward order (the order of batch statistics). */
  bnLayers: Array<{ name: string; channels: number; perChannel: (batch: number) => number }>;
}

export function decoderNet(opts: DecoderOptions): DecoderNet {
  const { startSide, base, blocks: chans } = decoderGeometry(opts);
  const cells = startSide * startSide;
  const tensors: TensorSpec[] = [];
  const layers: DecoderLayer[] = [];
  const bnLayers: DecoderNet['bnLayers'] = [];
  const param = (name: string, shape: number[]) => tensors.push({ name, shape, role: 'param' });
  const bn = (name: string, c: number, side: number) => {
    param(`${name}/gamma`, [c]);
    param(`${name}/beta`, [c]);
    tensors.push({ name: `${name}/moving_mean`, shape: [c], role: 'moving_mean' });
    tensors.push({ name: `${name}/moving_variance`, shape: [c], role: 'moving_variance' });
    bnLayers.push({ name, channels: c, perChannel: (n) => n * side * side });
  };
  param('dense/kernel', [opts.inputDim, cells * base]);
  bn('dense/bn', cells * base, 1);
  layers.push({ kind: 'dense', name: 'dense', inDim: opts.inputDim, outDim: cells * base });
  layers.push({ kind: 'bn', name: 'dense/bn', channels: cells * base, relu: true });
  layers.push({ kind: 'toMap', channels: base, side: startSide });
  let inC = base;
  let side = startSide;
  chans.forEach((c, i) => {
    side *= 2;
    param(`up${i}/kernel`, [4, 4, c, inC]);
    bn(`up${i}/bn`, c, side);
    layers.push({ kind: 'convT', name: `up${i}`, inC, outC: c, bias: false });
    layers.push({ kind: 'bn', name: `up${i}/bn`, channels: c, relu: true });
    if (i < chans.length - 1 && opts.residualLayers > 0) {
      const body: Array<{ conv: string; bn: string; channels: number }> = [];
      for (let r = 0; r < opts.residualLayers; r++) {
        param(`res${i}_${r}/kernel`, [3, 3, c, c]);
        bn(`res${i}_${r}/bn`, c, side);
        body.push({ conv: `res${i}_${r}/kernel`, bn: `res${i}_${r}/bn`, channels: c });
      }
      layers.push({ kind: 'residual', body });
    }
    inC = c;
  });
  param('out/kernel', [4, 4, 3, inC]);
  param('out/bias', [3]);
  layers.push({ kind: 'convT', name: 'out', inC, outC: 3, bias: true });
  if (opts.linearBase) {
    const shapes = linearBaseShapes(opts);
    tensors.push({ name: 'base/kernel', shape: shapes.kernel, role: 'fixed' });
    tensors.push({ name: 'base/bias', shape: shapes.bias, role: 'fixed' });
    layers.push({ kind: 'linearBase', size: opts.outputSize });
  } else {
    layers.push({ kind: 'sigmoid' });
  }
  return { options: opts, layers, tensors, trainables: tensors.filter((t) => t.role === 'param'), bnLayers };
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
