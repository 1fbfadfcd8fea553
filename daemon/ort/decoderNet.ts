/**
 * The engine's description of the W1 decoder (daemon/nets/decoder.ts), as data: the layer sequence and every
 * tensor of the checkpoint with its name, shape and role, in the order Decoder.save writes them (parameters
 * and moving statistics in creation order, then Adam m/v per trainable), so the ONNX Runtime trainer reads
 * and writes the very same decoder.json + weights.bin.
 */
import type { DecoderOptions } from '../nets/decoder';

export type DecoderLayer =
  | { kind: 'dense'; name: string; inDim: number; outDim: number }
  | { kind: 'bn'; name: string; channels: number; relu: true }
  | { kind: 'toMap'; channels: number; side: number }
  | { kind: 'convT'; name: string; inC: number; outC: number; bias: boolean }
  | { kind: 'residual'; body: Array<{ conv: string; bn: string; channels: number }> }
  | { kind: 'sigmoid' };

export interface TensorSpec {
  name: string;
  shape: number[];
  role: 'param' | 'moving_mean' | 'moving_variance';
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

function blockChannels(outputSize: 64 | 128, base: number): number[] {
  return outputSize === 128 ? [base / 2, base / 4, base / 8, base / 16] : [base / 2, base / 4, base / 8];
}

export function decoderNet(opts: DecoderOptions): DecoderNet {
  const base = opts.baseChannels ?? 512;
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
  param('dense/kernel', [opts.inputDim, 16 * base]);
  bn('dense/bn', 16 * base, 1);
  layers.push({ kind: 'dense', name: 'dense', inDim: opts.inputDim, outDim: 16 * base });
  layers.push({ kind: 'bn', name: 'dense/bn', channels: 16 * base, relu: true });
  layers.push({ kind: 'toMap', channels: base, side: 4 });
  const chans = blockChannels(opts.outputSize, base);
  let inC = base;
  let side = 4;
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
  layers.push({ kind: 'sigmoid' });
  return { options: opts, layers, tensors, trainables: tensors.filter((t) => t.role === 'param'), bnLayers };
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
