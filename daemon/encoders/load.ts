/**
 * How an encoder config becomes a running `Encoder` (daemon/encoders/types.ts), one implementation per format;
 * configs come from the registry (registry.ts).
 */
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { Encoder } from './types';
import { OnnxEncoder } from './onnxEncoder';
import { FaceApiResnetEncoder } from './faceApiResnet';
import { TfjsModelEncoder } from './tfjsModelEncoder';
import { CommandEncoder } from './commandEncoder';
import { HttpEncoder } from './httpEncoder';
import { findEncoderConfig, RegistryScope, resolveModelPath, scopeOf } from './registry';

export interface EncoderLoadOptions {
  /** Folder `{ path }` models are relative to, and where npm packages are looked up first. */
  workspaceDir?: string;
  /** onnxruntime intra-op threads (onnx encoders). */
  threads?: number;
  /** Faces per onnxruntime run for dynamic or lifted batches (ONNX encoders). */
  maxBatch?: number;
  /** Also what only TF.js gradients need (ONNX: the TF.js import of a differentiable model, for `forward`). */
  differentiable?: boolean;
  /**
   * ONNX encoders as a plain ONNX Runtime session of the file (its own batch, PRelu as it is, spinning threads:
   * onnxruntime-node's defaults): the baseline the bench and `faceinv embed --plain-ort` compare against.
   */
  plainOrt?: boolean;
  /** TF.js graph encoders: embed on TF.js even where ONNX Runtime could (the bench's reference; default FACEINV_ENGINE). */
  tfjsEmbedding?: boolean;
  /** Kill a command encoder's process after this many ms. */
  timeoutMs?: number;
  /** Secrets handed over for the job (http encoders' `auth.secret`), by name; never stored. */
  secrets?: Readonly<Record<string, string>>;
}

/** Loads the model a config describes; checks the real output size against `embeddingDim`. */
export async function loadEncoder(config: EncoderConfig, opts: EncoderLoadOptions = {}): Promise<Encoder> {
  switch (config.format) {
    case 'onnx':
      return OnnxEncoder.load(config, resolveModelPath(config, opts.workspaceDir), {
        threads: opts.threads, maxBatch: opts.maxBatch, differentiable: opts.differentiable,
        ...(opts.plainOrt ? { keepFixedBatch: true, keepPrelu: true, spinning: true } : {}),
      });
    case 'face-api':
      return FaceApiResnetEncoder.load(config, resolveModelPath(config, opts.workspaceDir));
    case 'tfjs-graph':
    case 'tfjs-layers':
      return TfjsModelEncoder.load(config, resolveModelPath(config, opts.workspaceDir), { tfjsEmbedding: opts.tfjsEmbedding });
    case 'command':
      return CommandEncoder.load(config, { cwd: opts.workspaceDir, timeoutMs: opts.timeoutMs });
    case 'http':
      return HttpEncoder.load(config, { secrets: opts.secrets });
  }
}

/** Finds `id` in the registry (shipped configs and the scope's workspace folders) and loads it. */
export async function loadEncoderById(id: string, opts: EncoderLoadOptions & RegistryScope = {}): Promise<Encoder> {
  return loadEncoder(findEncoderConfig(id, opts.workspaceDirs ? opts : scopeOf(opts.workspaceDir)).config, opts);
}

/** `loadEncoderById` with `plainOrt` (the pipeline's loader for the plain-ORT comparison). */
export async function loadPlainEncoderById(id: string, opts: EncoderLoadOptions & RegistryScope = {}): Promise<Encoder> {
  return loadEncoderById(id, { ...opts, plainOrt: true });
}
