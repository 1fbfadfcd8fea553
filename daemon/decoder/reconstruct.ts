/**
 * Decoding embeddings into faces with a trained black-box decoder, and writing them as PNGs with an index
 * and an HTML contact sheet (what a user opens to look at an attack's output).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writePng } from '../data/image';
import { tf } from '../tfjs/tf';
import type { Decoder } from '../nets/decoder';
import { ReconstructionIndex, ReconstructionItem } from '../protocol/runFolder';
import { writeFileAtomic, writeJsonAtomic } from '../runs/runFolder';

/** Decodes unit-norm embeddings in batches: returns [N, S, S, 3] uint8 images. */
export function decodeEmbeddings(decoder: Decoder, rows: readonly Float32Array[], batch = 32): Uint8Array {
  const S = decoder.options.outputSize;
  const S3 = S * S * 3;
  const out = new Uint8Array(rows.length * S3);
  for (let s = 0; s < rows.length; s += batch) {
    const chunk = rows.slice(s, s + batch);
    const data = tf.tidy(() => {
      const z = tf.tensor2d(chunk.map((r) => Array.from(r)), [chunk.length, decoder.options.inputDim]);
      return decoder.forward(z, false).mul(255).round().clipByValue(0, 255).toInt();
    });
    out.set(data.dataSync() as Int32Array, s * S3);
    data.dispose();
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export function contactSheetHtml(index: ReconstructionIndex, title: string): string {
  const cells = index.items.map((it) => `<figure>${it.original ? `<img src="${escapeHtml(it.original)}" alt="original">` : ''}` +
    `<img src="${escapeHtml(it.image)}" alt="reconstruction"><figcaption>${escapeHtml(it.identity ?? it.id)}` +
    `${it.cosine !== undefined ? ` · cos ${it.cosine.toFixed(3)}` : ''}</figcaption></figure>`).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font:13px system-ui,sans-serif;margin:16px;background:#fafafa}h1{font-size:16px}
main{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;background:#fff;padding:6px;border:1px solid #ddd}
img{width:128px;height:128px;image-rendering:auto}figcaption{max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
</style></head><body><h1>${escapeHtml(title)}</h1><p>${index.items.length} reconstructions from ${escapeHtml(index.encoderId)} embeddings` +
    `${index.model ? ` · model ${escapeHtml(index.model)}` : ''} · ${escapeHtml(index.createdAt)}. Left: aligned original (when known); right: reconstruction.</p>` +
    `<main>\n${cells}\n</main></body></html>\n`;
}

function safeName(id: string, i: number): string {
  const base = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80) || 'item';
  return `${String(i).padStart(4, '0')}_${base}`;
}

export interface WriteItem {
  id: string;
  identity?: string;
  source?: string;
  /** [S,S,3] uint8 */
  image: Uint8Array;
  original?: Uint8Array;
  cosine?: number;
  queries?: number;
}

/** Writes PNGs, index.json and index.html into `outDir` (created). */
export async function writeReconstructions(outDir: string, items: readonly WriteItem[], size: number, meta: { encoderId: string; model?: string; title: string; frame?: { template: string; size: number } }): Promise<ReconstructionIndex> {
  fs.mkdirSync(outDir, { recursive: true });
  const entries: ReconstructionItem[] = [];
  for (const [i, it] of items.entries()) {
    const name = safeName(it.id, i);
    await writePng(path.join(outDir, `${name}.png`), it.image, size, size);
    if (it.original) await writePng(path.join(outDir, `${name}.orig.png`), it.original, size, size);
    entries.push({
      id: it.id, image: `${name}.png`,
      ...(it.original ? { original: `${name}.orig.png` } : {}),
      ...(it.identity ? { identity: it.identity } : {}),
      ...(it.source ? { source: it.source } : {}),
      ...(it.cosine !== undefined ? { cosine: it.cosine } : {}),
      ...(it.queries !== undefined ? { queries: it.queries } : {}),
    });
  }
  const index: ReconstructionIndex = {
    createdAt: new Date().toISOString(), encoderId: meta.encoderId, ...(meta.model ? { model: meta.model } : {}),
    ...(meta.frame ? { frame: meta.frame } : {}), items: entries,
  };
  writeJsonAtomic(path.join(outDir, 'index.json'), index);
  writeFileAtomic(path.join(outDir, 'index.html'), contactSheetHtml(index, meta.title));
  return index;
}
