/**
 * A TF.js IOHandler that reads a model.json (graph or layers format) and its weight shards from disk.
 * `tf.io.fileSystem` ships only with tfjs-node, which is not installable offline here (see
 * /work/shared/ENVIRONMENT.md), so the union package needs this small reader. Errors name the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tf } from '../tfjs/tf';

/** Loads `modelJsonFile` and the `weightsManifest` shards next to it. `who` prefixes error messages. */
export function fileSystemLoader(modelJsonFile: string, who = modelJsonFile): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let text: string;
      try {
        text = await fs.promises.readFile(modelJsonFile, 'utf8');
      } catch (err) {
        throw new Error(`${who}: cannot read model file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`${who}: model file is not valid JSON: ${(err as Error).message}`);
      }
      if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new Error(`${who}: not a TF.js model.json (needs "modelTopology" and "weightsManifest")`);
      }
      const dir = path.dirname(modelJsonFile);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Buffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const f = path.join(dir, p);
            try {
              buffers.push(await fs.promises.readFile(f));
            } catch (err) {
              throw new Error(`${who}: cannot read weights shard ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
            }
          }
        }
        const joined = Buffer.concat(buffers);
        const expected = specs.reduce((n, s) => n + weightBytes(s), 0);
        if (joined.byteLength !== expected) {
          throw new Error(`${who}: weights are ${joined.byteLength} bytes, the manifest describes ${expected} (truncated or wrong .bin?)`);
        }
        const data = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength) as ArrayBuffer;
        return [specs, data];
      });
    },
  };
}

/** Bytes one manifest entry occupies in the shard (quantised entries use the quantised dtype's size). */
function weightBytes(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  if (q === 'uint8') return n;
  if (q === 'uint16' || q === 'float16') return 2 * n;
  if (spec.dtype === 'string') throw new Error(`string weights ("${spec.name}") are not supported`);
  return 4 * n; // float32, int32, bool are stored as 4 bytes by the TF.js converter
}
