#!/usr/bin/env node
// The LFW check of `faceinv audit`: writes the template store of the main job's 300 held-out
// targets — the same photos `faceinv demo` (models/experiments/quick-attack.json) attacks: the test side of
// the seed-0 identity split, chosen by the evaluation's seeded rule — as templates only (the audit never
// opens the photos), by arcface512-faceplugin (store.npy, rows named by their photo in store-ids.json) and
// by faceapi-resnet128 (store-faceapi.json, for transfer), plus an audit config whose reference set is the
// training side of the same split and whose attack is the main job's.
//
//   npm run build && node scripts/lfw-audit-store.js [OUT_DIR]        (default audits/lfw-300-input)
//   node bin/faceinv.js audit OUT_DIR/lfw-300.faceinv-audit.json
//   node scripts/lfw-audit-compare.js audits/lfw-300/report.json runs/quick-attack/evaluation/report.json   (docs/audit.md)
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const OUT = path.resolve(process.argv[2] ?? path.join('audits', 'lfw-300-input'));
const R = path.join(__dirname, '..', 'out', 'daemon');
const { initEngine } = require(path.join(R, 'tfjs', 'backend'));
const { resolveDatasetPath } = require(path.join(R, 'config', 'datasetPath'));
const { openImageDataset, subsetByIdentity } = require(path.join(R, 'data', 'dataset'));
const { makeIdentitySplit } = require(path.join(R, 'data', 'split'));
const { getEmbeddings } = require(path.join(R, 'data', 'embeddingCache'));
const { chooseRows } = require(path.join(R, 'evaluation', 'evaluate'));
const { npyBytes } = require(path.join(R, 'audit', 'templateStore'));

(async () => {
  await initEngine({ backend: process.env.FACEINV_BACKEND ?? 'wasm' });
  const ds = openImageDataset(resolveDatasetPath('lfw', process.cwd()));
  const split = makeIdentitySplit(ds.identities, { seed: 0, testFraction: 0.2 });
  const test = subsetByIdentity(ds, split.test);
  const a = await getEmbeddings(test, 'arcface512-faceplugin', {});
  const rows = chooseRows(a.rels.length, 300, 0);
  const ids = rows.map((r) => a.rels[r]);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'store.npy'), npyBytes(rows.map((r) => a.embeddings.subarray(r * a.dim, (r + 1) * a.dim)), a.dim));
  fs.writeFileSync(path.join(OUT, 'store-ids.json'), JSON.stringify(ids, null, 1));
  const b = await getEmbeddings(test, 'faceapi-resnet128', {});
  const bRow = new Map(b.rels.map((r, i) => [r, i]));
  const transfer = ids.filter((id) => bRow.has(id)).map((id) => ({ id, embedding: Array.from(b.embeddings.subarray(bRow.get(id) * b.dim, (bRow.get(id) + 1) * b.dim)) }));
  fs.writeFileSync(path.join(OUT, 'store-faceapi.json'), JSON.stringify(transfer));
  // store.npy rows have no ids; the transfer store is matched by id, so the audited store goes as JSON with ids too.
  fs.writeFileSync(path.join(OUT, 'store.json'), JSON.stringify(ids.map((id, i) => ({ id, embedding: Array.from(a.embeddings.subarray(rows[i] * a.dim, (rows[i] + 1) * a.dim)) }))));
  const rel = (f) => path.relative(process.cwd(), path.join(OUT, f));
  const config = {
    $schema: path.relative(OUT, path.join(__dirname, '..', 'models', 'schemas', 'audit.schema.json')),
    name: 'lfw-300',
    description: 'The 300 held-out LFW targets of the main job as a template store (templates only), audited with the main job\'s attack; reference = the training identities of the seed-0 split.',
    encoder: 'arcface512-faceplugin',
    templates: rel('store.json'),
    reference: { path: 'lfw', split: { seed: 0, testFraction: 0.2, use: 'train' } },
    route: 'blackbox',
    budget: 100,
    faceModel: { components: 512 },
    start: 'ridge',
    search: { method: 'zeroth-order' },
    transfer: [{ encoder: 'faceapi-resnet128', templates: rel('store-faceapi.json') }],
    operatingPoints: [1e-3, 1e-4, 1e-5],
  };
  fs.writeFileSync(path.join(OUT, 'lfw-300.faceinv-audit.json'), `${JSON.stringify(config, null, 2)}\n`);
  console.log(`${ids.length} templates of ${new Set(ids.map((i) => i.split('/')[0])).size} people (${transfer.length} with a faceapi-resnet128 template) → ${OUT}\nnext: node bin/faceinv.js audit ${rel('lfw-300.faceinv-audit.json')}`);
})().catch((err) => { console.error(err); process.exit(1); });
