/**
 * Registers our wasm kernels (missing or slow in tfjs-backend-wasm 4.22), one file per kernel. Idempotent.
 * A stock kernel of the same name (Conv2DBackpropInput) is replaced; BatchMatMul wraps the stock one.
 */
import { tf } from '../tf';
import { makeBatchMatMulConfig } from './batchMatMul';
import { conv2DBackpropFilterConfig } from './conv2DBackpropFilter';
import { conv2DBackpropInputConfig } from './conv2DBackpropInput';
import { depthwiseConv2dNativeBackpropFilterConfig } from './depthwiseConv2dNativeBackpropFilter';
import { depthwiseConv2dNativeBackpropInputConfig } from './depthwiseConv2dNativeBackpropInput';
import { unsortedSegmentSumConfig } from './unsortedSegmentSum';

export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseConv2dNativeBackpropInputConfig,
  depthwiseConv2dNativeBackpropFilterConfig,
  unsortedSegmentSumConfig,
];

let ourBatchMatMul: tf.KernelConfig | undefined;

/** Stock kernels we wrap (captured once, before our registration replaces them). */
let stockBatchMatMul: tf.KernelConfig | undefined;

export function registerWasmKernels(): void {
  const all = [...WASM_KERNELS];
  const current = tf.getKernel('BatchMatMul', 'wasm');
  if (!stockBatchMatMul && current) stockBatchMatMul = current;
  if (stockBatchMatMul) {
    if (!ourBatchMatMul) ourBatchMatMul = makeBatchMatMulConfig(stockBatchMatMul);
    all.push(ourBatchMatMul);
  }
  for (const k of all) {
    const existing = tf.getKernel(k.kernelName, 'wasm');
    if (existing && existing.kernelFunc === k.kernelFunc) continue;
    if (existing) tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
  }
}

// Registered on load (tf.ts imports this module), so they exist even if wasm starts before initEngine.
registerWasmKernels();
