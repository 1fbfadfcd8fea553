#!/usr/bin/env node
// Issue 24's scale figures for `faceinv audit` (docs/scaling.md), on LFW with a cheap attack (the ridge start
// alone, no search: a template's result then depends on the template only, so a store of repeats has exactly
// its base's rate):
//
//   node scripts/audit-scale-bench.js queue  [--store 20000] [--sample 600] [--workers 3]
//       a store of --store templates (repeats of a base of LFW held-out templates); its seeded sample of --sample
//       audited through a real redis-server and BullMQ by 1 local worker, then by --workers local workers; prints
//       the per-template cost, both wall times, their ratio, and whether the two reports agree.
//   node scripts/audit-scale-bench.js sample [--base 1000] [--store 100000] [--sample 1000]
//       the base store audited whole (its rate is the full store's: the store repeats the base), then the store's
//       --sample audited; prints both and whether the sample's Wilson interval covers the full-store rate.
//
// Needs `npm run build`, LFW, and for `queue` redis-server (Debian package). Writes under audits/scale-bench/.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const R = path.join(ROOT, 'out', 'daemon');
const BIN = path.join(ROOT, 'bin', 'faceinv.js');
const OUT = path.join(ROOT, 'audits', 'scale-bench');

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A store of `rows` templates repeating `base` LFW held-out templates (test side of the seed-0 split), and the audit config. */
async function writeStore(base, rows, name) {
  const { initEngine } = require(path.join(R, 'tfjs', 'backend'));
  const { resolveDatasetPath } = require(path.join(R, 'config', 'datasetPath'));
  const { openImageDataset, subsetByIdentity } = require(path.join(R, 'data', 'dataset'));
  const { makeIdentitySplit } = require(path.join(R, 'data', 'split'));
  const { getEmbeddings } = require(path.join(R, 'data', 'embeddingCache'));
  const { chooseRows } = require(path.join(R, 'evaluation', 'evaluate'));
  const { npyBytes } = require(path.join(R, 'audit', 'templateStore'));
  await initEngine({ backend: 'wasm' });
  const ds = openImageDataset(resolveDatasetPath('lfw', ROOT));
  const split = makeIdentitySplit(ds.identities, { seed: 0, testFraction: 0.2 });
  const a = await getEmbeddings(subsetByIdentity(ds, split.test), 'arcface512-faceplugin', {});
  const picked = chooseRows(a.rels.length, Math.min(base, a.rels.length), 0).map((r) => a.embeddings.subarray(r * a.dim, (r + 1) * a.dim));
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${name}.npy`);
  fs.writeFileSync(file, npyBytes(Array.from({ length: rows }, (_, i) => picked[i % picked.length]), a.dim));
  const config = {
    name: `scale-${name}`, encoder: 'arcface512-faceplugin', templates: path.relative(ROOT, file), route: 'blackbox',
    reference: { path: 'lfw', split: { seed: 0, testFraction: 0.2, use: 'train' }, maxIdentities: 300 },
    search: { method: 'none', detectorCheck: false }, faceModel: { components: 64 }, operatingPoints: [1e-3, 1e-4], chunkSize: 50, keepImages: 0,
  };
  const cfg = path.join(OUT, `${name}.faceinv-audit.json`);
  fs.writeFileSync(cfg, JSON.stringify(config, null, 2));
  return cfg;
}

/** Runs the CLI; resolves with its exit code, its output and when (ms) each output line came. */
function cli(args, opts = {}) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args, '--backend', 'wasm', '--workers', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    const on = (b) => { for (const l of b.toString().split('\n')) if (l.trim()) { lines.push({ t: Date.now(), l }); opts.onLine?.(l); } };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.on('exit', (code) => resolve({ code, lines }));
    opts.onSpawn?.(p);
  });
}

const freePort = () => new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });

async function queuedRun(cfg, sample, workers, port, out) {
  const url = `redis://127.0.0.1:${port}`;
  const ready = [];
  const procs = [];
  const done = [];
  for (let i = 0; i < workers; i++) {
    let resolveReady;
    ready.push(new Promise((r) => { resolveReady = r; }));
    done.push(cli(['worker', cfg, '--sample', String(sample), '--queue', url, '--worker-name', `w${i + 1}`, '--idle-exit', '5'], { onLine: (l) => { if (/serves queue/.test(l)) resolveReady(); }, onSpawn: (p) => procs.push(p) }));
  }
  await Promise.all(ready);
  let tQueued = 0;
  const t0 = Date.now();
  const coord = await cli(['audit', cfg, '--sample', String(sample), '--queue', url, '--out', out, '--overwrite'], { onLine: (l) => { if (/chunks on queue/.test(l)) tQueued = Date.now(); } });
  const wall = (Date.now() - (tQueued || t0)) / 1000;
  await Promise.all(done);
  if (coord.code !== 0) throw new Error(`audit failed:\n${coord.lines.slice(-20).map((x) => x.l).join('\n')}`);
  return { wall, report: JSON.parse(fs.readFileSync(path.join(ROOT, out, 'report.json'), 'utf8')), csv: fs.readFileSync(path.join(ROOT, out, 'templates.csv'), 'utf8') };
}

async function benchQueue() {
  const store = flag('store', 20000), sample = flag('sample', 600), n = flag('workers', 3);
  const cfg = await writeStore(1000, store, `store${store}`);
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const one = await queuedRun(cfg, sample, 1, port, 'audits/scale-bench/queue-1');
    const many = await queuedRun(cfg, sample, n, port, `audits/scale-bench/queue-${n}`);
    const per = one.wall / sample;
    console.log(`queue bench: ${sample} templates (seeded sample of a ${store.toLocaleString('en-US')}-template store), cheap attack (ridge start, no search), 2-core machine`);
    console.log(`  1 worker: ${one.wall.toFixed(1)} s (${per.toFixed(3)} s per template); ${n} workers: ${many.wall.toFixed(1)} s; ratio ×${(one.wall / many.wall).toFixed(2)}`);
    console.log(`  workers: ${many.report.workers.map((w) => `${w.name} ${w.chunks} chunks`).join(', ')}; reports agree: ${one.csv === many.csv ? 'yes (templates.csv byte for byte)' : 'NO'}`);
    console.log(`  whole ${store.toLocaleString('en-US')}-template store at that cost: ${(per * store / 60).toFixed(1)} min on 1 worker`);
  } finally {
    redis.kill('SIGKILL');
  }
}

async function benchSample() {
  const base = flag('base', 1000), store = flag('store', 100000), sample = flag('sample', 1000);
  const baseCfg = await writeStore(base, base, `base${base}`);
  const bigCfg = await writeStore(base, store, `store${store}`);
  const t0 = Date.now();
  const full = await cli(['audit', baseCfg, '--all', '--out', 'audits/scale-bench/base-full', '--overwrite', '--json']);
  const t1 = Date.now();
  const sampled = await cli(['audit', bigCfg, '--sample', String(sample), '--out', 'audits/scale-bench/sampled', '--overwrite', '--json']);
  const t2 = Date.now();
  if (full.code !== 0 || sampled.code !== 0) throw new Error('an audit failed');
  const a = JSON.parse(fs.readFileSync(path.join(OUT, 'base-full', 'report.json'), 'utf8'));
  const b = JSON.parse(fs.readFileSync(path.join(OUT, 'sampled', 'report.json'), 'utf8'));
  console.log(`sample bench: a ${store.toLocaleString('en-US')}-template store repeating ${base} LFW held-out templates (its rate is theirs); cheap attack`);
  console.log(`  full base audited in ${((t1 - t0) / 1000).toFixed(0)} s; sample of ${sample} of the store in ${((t2 - t1) / 1000).toFixed(0)} s`);
  for (const [k, v] of a.verdicts.entries()) {
    for (const [j, p] of v.points.entries()) {
      if (!p.attainable) continue;
      const s = b.verdicts[k].points[j].attack;
      const covers = s.ci[0] <= p.attack.rate && p.attack.rate <= s.ci[1];
      console.log(`  ${v.encoderId}/${v.protocol} FMR ${p.fmr}: full-store rate ${(100 * p.attack.rate).toFixed(1)} %; sample ${(100 * s.rate).toFixed(1)} % (95 % CI ${(100 * s.ci[0]).toFixed(1)}–${(100 * s.ci[1]).toFixed(1)}): ${covers ? 'covers' : 'MISSES'}`);
    }
  }
  console.log(`  ${b.sample.sentence}`);
}

(process.argv[2] === 'sample' ? benchSample() : process.argv[2] === 'queue' ? benchQueue() : Promise.reject(new Error('usage: audit-scale-bench.js queue|sample [flags]')))
  .catch((e) => { console.error(e.message); process.exit(1); });
