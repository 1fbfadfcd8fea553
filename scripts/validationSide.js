// The validation side the hand-run ablation scripts share (surrogate-validation.js, prior-validation.js): the
// default split's training identities (seed 0, 20 % held out for test) split again, 10 % held out for
// validation; the attacked encoder's templates and crops of the training side; the PCA face model of the fit
// photos (cached under <cache>/validation). Test identities are never read.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const O = path.join(__dirname, '..', 'out', 'daemon') + '/';
const { openImageDataset, subsetByIdentity } = require(O + 'data/dataset');
const { makeIdentitySplit } = require(O + 'data/split');
const { getEmbeddingsWithCrops } = require(O + 'data/embeddingCache');
const { resolveDatasetPath } = require(O + 'config/datasetPath');
const { defaultCacheDir } = require(O + 'data/pipeline');
const { buildPcaFaceModel, loadPcaFaceModel } = require(O + 'attack/faceModel/pca');

/** Rows `rows` of a row-major array of width `w`. */
const rowsOf = (rows, src, w) => { const o = new src.constructor(rows.length * w); rows.forEach((r, i) => o.set(src.subarray(r * w, (r + 1) * w), i * w)); return o; };

/** The training side under `encoder` (arcface-5pt 112 crops), its fit / validation rows, and a K-component PCA of the fit photos. */
async function openValidationSide(encoder, K) {
  const ds = openImageDataset(resolveDatasetPath('lfw', process.cwd()));
  const split = makeIdentitySplit(ds.identities, { seed: 0, testFraction: 0.2, validationFraction: 0.1 });
  const frame = { template: 'arcface-5pt', size: 112 };
  // The main job's training side (train + validation identities): its embeddings are already cached.
  const data = await getEmbeddingsWithCrops(subsetByIdentity(ds, [...split.train, ...split.validation]), encoder, frame, {});
  const val = new Set(split.validation), S3 = 112 * 112 * 3, d = data.dim;
  const fitRows = [], valRows = [];
  data.identities.forEach((id, i) => (val.has(id) ? valRows : fitRows).push(i));
  const fitCrops = rowsOf(fitRows, data.crops, S3), fitT = rowsOf(fitRows, data.embeddings, d);
  const pcaDir = path.join(defaultCacheDir(), 'validation', `pca${K}-seed0-val0.1`);
  let pca = fs.existsSync(path.join(pcaDir, 'facemodel', 'pca.json')) ? loadPcaFaceModel(pcaDir) : null;
  if (!pca) { pca = await buildPcaFaceModel(fitCrops, fitRows.length, frame, { components: K, seed: 0 }); await pca.save(pcaDir); }
  return { ds, split, frame, data, val, S3, d, fitRows, valRows, fitCrops, fitT, pca };
}

module.exports = { openValidationSide, rowsOf };
