/**
 * The per-image work of the face pipeline, run inside a worker thread (pipelineWorker.ts) or in-process:
 * decode → (face analysis unless cached) → align to each requested template → embed the encoder's crops in
 * one batch. Every failure is caught per image and returned as a FaceFailure; nothing here throws for a bad
 * image. Tensors live only inside `embedCrops` and are disposed there.
 */
import { tf } from '../tfjs/tf';
import { BackendChoice, getEngineInfo, initEngine } from '../tfjs/backend';
import type { Encoder } from '../encoders/types';
import { decodeImage, RgbImage } from './image';
import { FaceAnalyzer, FaceAnalysis, geometryOf } from './faceAnalysis';
import { alignFace } from './align';
import type { AlignmentSpec } from './templates';
import { FaceFailure, toFailure } from './errors';
import { cropFromAligned } from './preAligned';
import { envValue } from '../protocol/env';

/** How a worker obtains its encoder: `require(module)[exportName](id, { threads, embedOnly, workspaceDir })`. */
export interface EncoderLoaderSpec {
  module: string;
  exportName: string;
  id: string;
  /** Alignment the encoder's crops use (from its config). */
  alignment: AlignmentSpec;
  /** Workspace the id is looked up in (its encoder configs and relative model paths). */
  workspaceDir?: string;
}

export interface CoreInit {
  /** onnxruntime threads per session in this worker. */
  threads: number;
  encoder?: EncoderLoaderSpec;
  /** TF.js backend for the encoder (default: FACEINV_BACKEND, else 'wasm'); only started when none is running yet. */
  backend?: BackendChoice;
}

export interface WorkItem {
  /** Position in the caller's list (echoed back). */
  index: number;
  file: string;
  /** Cached analysis, when the caller has one (skips detection and landmarks). */
  analysis?: FaceAnalysis;
  /** Whether to produce the encoder's embedding. */
  embed: boolean;
  /** Extra aligned crops to return (uint8 [S,S,3] each). */
  crops: AlignmentSpec[];
  /** The photo is already an aligned crop in this template (preAligned.ts): the encoder's crop needs no detection. */
  preAligned?: AlignmentSpec;
}

export interface WorkResult {
  index: number;
  /** Present when analysed (fresh or echoed); absent on failure before analysis completed. */
  analysis?: FaceAnalysis;
  /** True when `analysis` was computed now (the caller should cache it). */
  analysedNow: boolean;
  failure?: FaceFailure;
  /** L2-normalised embedding (when requested and successful). */
  embedding?: Float32Array;
  /** Same order as WorkItem.crops. */
  crops?: Uint8Array[];
  /** True when the photo went to the encoder as it is, without detection. */
  preAligned?: boolean;
}

interface EmbedJob {
  r: WorkResult;
  file: string;
  /** [S, S, 3] uint8 in the encoder's alignment. */
  crop: Uint8Array;
}

export class PipelineCore {
  private constructor(private readonly analyzer: FaceAnalyzer, private readonly encoder: Encoder | null, private readonly encAlign: AlignmentSpec | null) {}

  static async create(init: CoreInit): Promise<PipelineCore> {
    const analyzer = await FaceAnalyzer.load({ threads: init.threads });
    let encoder: Encoder | null = null;
    if (init.encoder) {
      if (!getEngineInfo()) {
        const backend = init.backend ?? (envValue('FACEINV_BACKEND') ? undefined : 'wasm');
        await initEngine({ backend, threads: init.threads });
      }
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod = require(init.encoder.module) as Record<string, unknown>;
      const load = mod[init.encoder.exportName];
      if (typeof load !== 'function') {
        throw new Error(`${init.encoder.module} does not export a function "${init.encoder.exportName}" to load encoders`);
      }
      encoder = (await (load as (id: string, o: { threads: number; workspaceDir?: string }) => Promise<Encoder>)(init.encoder.id, { threads: init.threads, ...(init.encoder.workspaceDir ? { workspaceDir: init.encoder.workspaceDir } : {}) }));
    }
    return new PipelineCore(analyzer, encoder, init.encoder?.alignment ?? null);
  }

  get encoderDim(): number | null {
    return this.encoder?.dim ?? null;
  }

  async process(items: WorkItem[]): Promise<WorkResult[]> {
    const results: WorkResult[] = [];
    const toEmbed: EmbedJob[] = [];
    for (const item of items) {
      const r: WorkResult = { index: item.index, analysedNow: false };
      results.push(r);
      let image: RgbImage;
      try {
        image = await decodeImage(item.file);
      } catch (err) {
        r.failure = toFailure(item.file, err, 'corrupt');
        continue;
      }
      const direct = item.embed && item.crops.length === 0 && item.preAligned && this.encAlign ? cropFromAligned(image, this.encAlign) : null;
      if (direct) {
        r.preAligned = true;
        r.crops = [];
        toEmbed.push({ r, file: item.file, crop: direct });
        continue;
      }
      try {
        if (item.analysis) {
          r.analysis = item.analysis;
        } else {
          r.analysis = await this.analyzer.analyse(image, item.file);
          r.analysedNow = true;
        }
      } catch (err) {
        r.failure = toFailure(item.file, err, 'landmarks-failed');
        continue;
      }
      const geom = geometryOf(r.analysis);
      r.crops = item.crops.map((spec) => alignFace(image, geom, spec));
      if (item.embed) {
        if (!this.encoder || !this.encAlign) throw new Error('PipelineCore: embedding requested but no encoder was loaded');
        toEmbed.push({ r, file: item.file, crop: alignFace(image, geom, this.encAlign) });
      }
    }
    if (toEmbed.length > 0) await this.embedCrops(toEmbed);
    return results;
  }

  /** Embeds crops in one batch; if the batch throws, retries one by one so only the bad image fails. */
  private async embedCrops(list: EmbedJob[]): Promise<void> {
    const enc = this.encoder as Encoder & { embedUint8?: (crops: Uint8Array, n: number) => Promise<Float32Array[]> };
    const S = (this.encAlign as AlignmentSpec).size;
    const run = async (part: typeof list) => {
      const n = part.length;
      if (enc.embedUint8 && S === enc.inputSize) {
        // Host-side preprocessing, bit-identical to the TF.js path below (OnnxEncoder.embedUint8).
        const crops = new Uint8Array(n * S * S * 3);
        part.forEach((p, i) => crops.set(p.crop, i * S * S * 3));
        const rows = await enc.embedUint8(crops, n);
        if (rows.length !== n) throw new Error(`encoder ${enc.id} returned ${rows.length} embeddings for ${n} crops`);
        part.forEach((p, i) => { p.r.embedding = rows[i]; });
        return;
      }
      const buf = new Float32Array(n * S * S * 3);
      part.forEach((p, i) => {
        for (let k = 0; k < p.crop.length; k++) buf[i * S * S * 3 + k] = p.crop[k] / 255;
      });
      const input = tf.tidy(() => {
        const x = tf.tensor4d(buf, [n, S, S, 3]);
        return S === enc.inputSize ? x : tf.image.resizeBilinear(x, [enc.inputSize, enc.inputSize], false, true);
      });
      try {
        const rows = await enc.embed(input);
        if (rows.length !== n) throw new Error(`encoder ${enc.id} returned ${rows.length} embeddings for ${n} crops`);
        part.forEach((p, i) => { p.r.embedding = rows[i]; });
      } finally {
        input.dispose();
      }
    };
    try {
      await run(list);
    } catch (err) {
      if (list.length === 1) {
        list[0].r.failure = toFailure(list[0].file, err, 'embed-failed');
        return;
      }
      for (const p of list) {
        try {
          await run([p]);
        } catch (e) {
          p.r.failure = toFailure(p.file, e, 'embed-failed');
        }
      }
    }
  }

  async dispose(): Promise<void> {
    this.encoder?.dispose();
    await this.analyzer.dispose();
  }
}
