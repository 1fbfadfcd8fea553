/**
 * What identifies an encoder's embeddings in the cache: its id, its alignment, and a hash over its config
 * file and every model file it reads (for TF.js / face-api manifests: the manifest plus each weight file it
 * lists). Editing the config's normalisation or replacing weights therefore invalidates cached embeddings.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findEncoderConfig, resolveModelPath, scopeOf } from '../encoders/registry';
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { EncoderTarget } from './pipeline';
import { isTemplateName } from './templates';

const hashMemo = new Map<string, string>();

/** SHA-256 of a file's bytes, memoised by path + size + mtime. */
export function hashFile(file: string): string {
  const st = fs.statSync(file);
  const memoKey = `${file}|${st.size}|${st.mtimeMs}`;
  const hit = hashMemo.get(memoKey);
  if (hit) return hit;
  const h = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  hashMemo.set(memoKey, h);
  return h;
}

/** The model file plus, for a JSON weights manifest / graph model, the weight files it names. */
export function modelFilesOf(modelFile: string): string[] {
  const files = [modelFile];
  if (modelFile.endsWith('.json')) {
    const j = JSON.parse(fs.readFileSync(modelFile, 'utf8')) as unknown;
    const manifest = Array.isArray(j) ? j : (j as { weightsManifest?: unknown }).weightsManifest;
    if (Array.isArray(manifest)) {
      for (const group of manifest as { paths?: string[] }[]) {
        for (const p of group.paths ?? []) files.push(path.resolve(path.dirname(modelFile), p));
      }
    }
  }
  return files;
}

/**
 * SHA-256 over the model files alone (for a command encoder: its command), whatever the config calls the
 * encoder: two configs with this hash run the same network, e.g. a workspace copy of a shipped encoder under
 * another id.
 */
export function modelFilesHash(config: EncoderConfig, workspaceDir?: string): string {
  const h = crypto.createHash('sha256');
  if (config.format === 'command' && 'command' in config.model) {
    h.update(JSON.stringify(config.model.command));
  } else {
    for (const f of modelFilesOf(resolveModelPath(config, workspaceDir))) h.update(`${hashFile(f)}\n`);
  }
  return h.digest('hex');
}

/** Looks `id` up in the registry (shipped configs + the workspace's) and builds its cache identity. */
export function encoderTarget(id: string, opts: { workspaceDir?: string } = {}): EncoderTarget {
  const entry = findEncoderConfig(id, scopeOf(opts.workspaceDir));
  const { config } = entry;
  if (!isTemplateName(config.alignment.template)) {
    throw new Error(`${entry.file}: alignment template "${config.alignment.template}" is not implemented by daemon/data/templates.ts`);
  }
  const h = crypto.createHash('sha256');
  // Only what changes the embeddings is hashed: editing a description, licence or the `known` claims
  // must not invalidate a cache of 13k embeddings.
  const { description: _d, license: _l, source: _s, known: _k, $schema: _x, ...embeddingRelevant } = config;
  h.update(JSON.stringify(embeddingRelevant));
  if (config.format === 'command' && 'command' in config.model) {
    h.update(JSON.stringify(config.model.command));
  } else {
    for (const f of modelFilesOf(resolveModelPath(config, opts.workspaceDir))) h.update(`${path.basename(f)}:${hashFile(f)}\n`);
  }
  return {
    id, modelHash: h.digest('hex'), alignment: { template: config.alignment.template, size: config.alignment.size },
    ...(opts.workspaceDir ? { workspaceDir: opts.workspaceDir } : {}),
  };
}
