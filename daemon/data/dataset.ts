/**
 * Folder-per-identity image datasets: `<root>/<Identity>/<image>`. Accepts either such a root or a folder that
 * holds the LFW archive folder (`<dir>/lfw-deepfunneled/<Person>/<Person>_0001.jpg`, or `lfw/`,
 * `lfw_funneled/`). Listing is sorted, so image order (and everything keyed on it) is deterministic.
 * Files with an image extension are listed even if they turn out not to be images: the pipeline reports them.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededShuffle } from './split';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic'];
/** Sub-folders that hold an LFW-style archive, tried in order. */
export const ARCHIVE_FOLDERS = ['lfw-deepfunneled', 'lfw', 'lfw_funneled'];

export interface DatasetImage {
  /** Absolute path. */
  file: string;
  /** Path relative to the dataset root, with '/' separators: `<Identity>/<name>`. */
  rel: string;
  identity: string;
}

export interface ImageDataset {
  /** Absolute folder holding the identity folders. */
  root: string;
  /** The folder the user named (may be the parent of `root` for LFW); pairs.txt etc. are looked for here. */
  givenDir: string;
  /** Short stable id: folder name + hash of the absolute root (cache file names). */
  id: string;
  /** Sorted identity names (folder names) that hold at least one image. */
  identities: string[];
  /** Images sorted by rel. */
  images: DatasetImage[];
}

/** Resolves the identity-folder root of `dir` (see header). Throws naming `dir` when there is none. */
export function resolveDatasetRoot(dir: string): string {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new Error(`dataset ${abs}: not a directory`);
  for (const sub of ARCHIVE_FOLDERS) {
    const cand = path.join(abs, sub);
    if (fs.existsSync(cand) && fs.statSync(cand).isDirectory()) return cand;
  }
  return abs;
}

export function datasetId(root: string): string {
  const h = crypto.createHash('sha1').update(path.resolve(root)).digest('hex').slice(0, 10);
  return `${path.basename(root).replace(/[^A-Za-z0-9._-]/g, '_')}-${h}`;
}

/** Lists a folder-per-identity dataset. Throws when the root holds no identity folder with images. */
export function openImageDataset(dir: string): ImageDataset {
  const root = resolveDatasetRoot(dir);
  const images: DatasetImage[] = [];
  const identities: string[] = [];
  // Symbolic links are followed (a dataset may be a folder of links into a read-only copy).
  const folders = fs.readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() || (d.isSymbolicLink() && isDir(path.join(root, d.name))))
    .map((d) => d.name)
    .sort();
  for (const identity of folders) {
    const files = fs.readdirSync(path.join(root, identity), { withFileTypes: true })
      .filter((d) => (d.isFile() || d.isSymbolicLink()) && IMAGE_EXTENSIONS.includes(path.extname(d.name).toLowerCase()))
      .map((d) => d.name)
      .sort();
    if (files.length === 0) continue;
    identities.push(identity);
    for (const f of files) images.push({ file: path.join(root, identity, f), rel: `${identity}/${f}`, identity });
  }
  if (images.length === 0) {
    throw new Error(`dataset ${root}: no identity folders with images (${IMAGE_EXTENSIONS.join(' ')}) found`);
  }
  return { root, givenDir: path.resolve(dir), id: datasetId(root), identities, images };
}

function isDir(p: string): boolean {
  return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A dataset restricted to some identities (e.g. one side of a split); same root and id. */
export function subsetByIdentity(ds: ImageDataset, keep: Iterable<string>): ImageDataset {
  const set = new Set(keep);
  return {
    ...ds,
    identities: ds.identities.filter((i) => set.has(i)),
    images: ds.images.filter((im) => set.has(im.identity)),
  };
}

/** Keeps at most `max` identities, chosen with a seeded shuffle, so quick runs stay identity-diverse. */
export function limitIdentities(ds: ImageDataset, max: number | undefined, seed: number): ImageDataset {
  if (!max || ds.identities.length <= max) return ds;
  const order = seededShuffle([...ds.identities], seed ^ 0x5eed);
  return subsetByIdentity(ds, order.slice(0, max));
}
