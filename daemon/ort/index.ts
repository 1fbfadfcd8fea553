/**
 * The ONNX Runtime engine's public API (see docs/engine.md):
 *   training   openDecoderRunner (engine choice + fallback, used by blackbox/train.ts), OrtDecoderTrainer
 *              (create/load, trainStep, forward, save — the Decoder's checkpoint format);
 *   decoding   decodeEmbeddingsOrt (reconstruct.ts decodeEmbeddings's output on ONNX Runtime);
 *   white box  loadOrtEncoderGrad / OrtEncoderGrad (E and (dE/dx)ᵀ·u, batched), OrtSearch + latentSearchOn
 *              (daemon/nets/latentSearch.ts) with decoderGenerator or pcaGenerator;
 *   graphs     GraphBuilder, gradients, importOnnx — for new networks, losses and generators.
 */
export { gradients, UndifferentiableOpError } from './autodiff';
export { openDecoderRunner, type DecoderRunner, type EngineDecision, type EngineRequest, ENGINE_REQUESTS } from './decoderRunner';
export { OrtDecoderTrainer, CheckpointMismatchError, type StepOutcome } from './trainer';
export { loadOrtEncoderGrad, OrtEncoderGrad, onnxEncoderSource, emitEncoder, type OnnxEncoderSource } from './encoderGraph';
export { decoderGenerator, pcaGenerator, type OrtGenerator, type PcaModel } from './generators';
export { OrtSearch } from './search';
export { decodeEmbeddingsOrt } from './decode';
export { GraphBuilder } from './graph';
export { importOnnx } from './importOnnx';
export { createSession, cudaAvailability, readProfile } from './session';
