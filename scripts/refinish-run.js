#!/usr/bin/env node
// Re-finishes the reconstructions of a finished PCA-face-model run in place (daemon/attack/faceModel/detail.ts),
// so the same search answers can be scored with and without a finish: each face is projected back into the run's
// face model (its PNGs are renderings of latents, so this recovers them to rounding), finished with the attacker
// photos of the run's own split, and written over the PNG. Work on a copy of the run folder, then
// `faceinv evaluate COPY`. Usage: npm run build && cp -r runs/quick-attack runs/qa-finish &&
//   node scripts/refinish-run.js runs/qa-finish [contrast=1] [detail=0] [neighbours=32]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const sharp = require('sharp');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { loadPcaFaceModel } = require(O + 'attack/faceModel/pca');
const { openImageDataset, subsetByIdentity } = require(O + 'data/dataset');
const { getEmbeddingsWithCrops } = require(O + 'data/embeddingCache');
const { resolveDatasetPath } = require(O + 'config/datasetPath');
const { initEngine } = require(O + 'tfjs/backend');

async function main() {
  const [run, ...rest] = process.argv.slice(2);
  if (!run) throw new Error('usage: node scripts/refinish-run.js RUN_COPY [contrast=1] [detail=0] [neighbours=32]');
  const a = Object.fromEntries(rest.map((x) => x.split('=')));
  const finish = { contrast: (a.contrast ?? '1') === '1', detail: +(a.detail ?? 0), neighbours: +(a.neighbours ?? 32) };
  await initEngine({});
  const pca = loadPcaFaceModel(run);
  if (!pca) throw new Error(`${run} has no PCA face model (facemodel/pca.json): only PCA runs can be re-finished`);
  const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8'));
  const split = JSON.parse(fs.readFileSync(path.join(run, 'split.json'), 'utf8'));
  const ds = openImageDataset(resolveDatasetPath(config.dataset.path, process.cwd()));
  const train = await getEmbeddingsWithCrops(subsetByIdentity(ds, split.train), config.encoder, pca.frame, {});
  const n = train.rels.length;
  pca.useFinish({ crops: train.crops, latents: await pca.project(train.crops, n), n }, finish);
  const dir = path.join(run, 'reconstructions');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.png') && !f.endsWith('.orig.png')).sort();
  const S = pca.frame.size, S3 = S * S * 3;
  const faces = new Uint8Array(files.length * S3);
  for (const [i, f] of files.entries()) faces.set(await sharp(path.join(dir, f)).removeAlpha().raw().toBuffer(), i * S3);
  const z = await pca.project(faces, files.length);
  await pca.finishFaces(z, files.length, faces);
  for (const [i, f] of files.entries()) await sharp(Buffer.from(faces.subarray(i * S3, (i + 1) * S3)), { raw: { width: S, height: S, channels: 3 } }).png().toFile(path.join(dir, f));
  console.log(`re-finished ${files.length} faces of ${run}: ${pca.describe()}`);
}
main().then(() => process.exit(0), (e) => { console.error(e.message ?? e); process.exit(1); });
