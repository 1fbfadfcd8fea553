/**
 * Candidates past the attacker's photos for the decision oracle's first accept (issue 25, item 4): variants of
 * each photo — its mirror image, a slight zoom, a gamma change — submitted like photos. Each is a real face the
 * system's encoder places a little away from the photo (arcface512-faceplugin: the mirror's template has a
 * median cosine of about 0.98 to the photo's), so a subject that a photo narrowly misses may accept a variant:
 * the ceiling (subjects any candidate matches) rises. Whether that helps within a budget depends on how often one
 * candidate is accepted, which this bench measures beside the ceiling and the hub order's curve.
 *
 * Setting of ./oracleSearch.ts `--decision` (seed-0 split; enrolled template = the first photo of each held-out
 * person; thresholds from the attacker's impostor pairs; answers from the encoder's templates of the 8-bit crops).
 * `--validate`: the attacker's own identities split 80 / 20 (seeded as oracleSearch's master-face check); the
 * 80 %'s photos and their variants are the candidates, the 20 %'s first photos the subjects; no held-out subject read.
 *
 *   node out/daemon/bench/decisionVariants.js [--validate] [--variants flip,zoom,gamma] [--subjects 300] [--orders] [--queries 2000,5000,10000,20000]
 *   --orders: also the first-accept curve of the hub order of the photos alone and with the variants (minutes per
 *   variant: the order's coverage counts take an exact dot product of every candidate with every own identity).
 */
import { loadEncoderById } from '../encoders/load';
import { firstAccepts, hubOrders } from '../attack/oracle/decisionSearch';
import { initEngine } from '../tfjs/backend';
import { tf } from '../tfjs/tf';
import { rows } from './scoreOracle';
import { forEachDotBlock } from '../math/blockDots';
import { firstRows, median, openLfw, ownValidationSplit, pct, type Lfw } from './oracleSearch';
import { cosine } from '../attack/oracle/scoreRecovery';

/** A photo's variant: [n, S, S, 3] in [0, 1] → the same shape. */
const VARIANTS: Record<string, (x: tf.Tensor4D) => tf.Tensor4D> = {
  flip: (x) => tf.reverse(x, 2),
  // 4 px cut from each side of a 112-px crop, scaled back: the face 8 % larger.
  zoom: (x) => { const s = x.shape[1]; return tf.image.resizeBilinear(tf.slice(x, [0, 4, 4, 0], [-1, s - 8, s - 8, 3]), [s, s], false, true); },
  gamma: (x) => tf.pow(x, 0.8),
};

interface Options { orders: boolean; validate: boolean; variants: string[]; subjects: number; queries: number[]; encoder: string }

function parse(argv: string[]): Options {
  const o: Options = { orders: false, validate: false, variants: ['flip', 'zoom', 'gamma'], subjects: 300, queries: [2000, 5000, 10000, 20000], encoder: 'arcface512-faceplugin' };
  for (let i = 0; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (k === '--validate') { o.validate = true; i--; } else if (k === '--orders') { o.orders = true; i--; } else if (k === '--variants') o.variants = v.split(',');
    else if (k === '--subjects') o.subjects = Number(v);
    else if (k === '--queries') o.queries = v.split(',').map(Number);
    else throw new Error(`unknown option ${k}`);
  }
  const bad = o.variants.filter((n) => !VARIANTS[n]);
  if (bad.length) throw new Error(`--variants: unknown ${bad.join(', ')} (known: ${Object.keys(VARIANTS).join(', ')})`);
  return o;
}

/** The encoder's templates of `variant` of each crop row of `photoRows`, rounded to 8 bits as a submitted PNG. */
async function variantTemplates(L: Lfw, encoderId: string, photoRows: number[], variant: string): Promise<Float32Array> {
  const encoder = await loadEncoderById(encoderId);
  const S = encoder.inputSize, S3 = S * S * 3;
  if (L.set.crops.length !== L.set.rels.length * S3) throw new Error(`the crops are not ${S}-px crops of ${encoderId}`);
  const out = new Float32Array(photoRows.length * L.dim);
  try {
    for (let s = 0; s < photoRows.length; s += 64) {
      const m = Math.min(64, photoRows.length - s);
      const buf = new Uint8Array(m * S3);
      for (let i = 0; i < m; i++) buf.set(L.set.crops.subarray(photoRows[s + i] * S3, (photoRows[s + i] + 1) * S3), i * S3);
      const x = tf.tidy(() => tf.div(tf.round(tf.mul(VARIANTS[variant](tf.div(tf.tensor4d(buf, [m, S, S, 3], 'float32'), 255) as tf.Tensor4D), 255)), 255) as tf.Tensor4D);
      try { (await encoder.embed(x)).forEach((e, i) => out.set(e, (s + i) * L.dim)); } finally { x.dispose(); }
    }
  } finally {
    encoder.dispose();
  }
  return out;
}

/** [na, nb] cosines of unit rows. */
function cosines(a: Float32Array, b: Float32Array, dim: number): Float32Array {
  const na = a.length / dim, nb = b.length / dim, out = new Float32Array(na * nb);
  forEachDotBlock(a, na, b, nb, dim, (first, _count, scores) => out.set(scores, first * nb), 2048);
  return out;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  await initEngine({});
  const t0 = Date.now();
  const L = await openLfw({ decision: false, encoder: o.encoder, subjects: o.subjects });
  const idOf = (r: number) => L.set.identities[r];
  let photoRows = L.trainIdx, subjectRows = L.subjects.map((s) => L.firstOf.get(s)!);
  if (o.validate) {
    const split = ownValidationSplit(L);
    photoRows = split.fit;
    subjectRows = firstRows(L, split.val);
  }
  const popRows = firstRows(L, photoRows);
  const n = photoRows.length, thr = L.thr[1];
  const sets: { name: string; templates: Float32Array }[] = [{ name: 'photos', templates: rows(L.set.embeddings, L.dim, photoRows) }];
  for (const v of o.variants) sets.push({ name: v, templates: await variantTemplates(L, o.encoder, photoRows, v) });
  const subjects = rows(L.set.embeddings, L.dim, subjectRows), nS = subjectRows.length;
  console.log(`${o.validate ? 'validation (own identities 80 / 20)' : 'held-out'}: ${n} photos, ${nS} subjects, system threshold ${thr.toFixed(4)} (FMR ${L.fmrs[1]}); templates ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const hit = sets.map((s) => cosines(s.templates, subjects, L.dim));
  const toPhoto = (v: Float32Array) => median(Array.from({ length: n }, (_, i) => cosine(v.subarray(i * L.dim, (i + 1) * L.dim), sets[0].templates.subarray(i * L.dim, (i + 1) * L.dim))));
  const all = new Uint8Array(nS);
  console.log('candidates | median cosine to the photo | accepts per million (candidate, subject) pairs | subjects any matches');
  sets.forEach((s, k) => {
    // One pass: the accepted pairs, and which subjects any candidate of this set matches.
    const matched = new Uint8Array(nS);
    let acc = 0;
    hit[k].forEach((c, i) => { if (c >= thr) { acc++; matched[i % nS] = 1; all[i % nS] = 1; } });
    console.log(`${s.name} | ${k ? toPhoto(s.templates).toFixed(3) : '1'} | ${((1e6 * acc) / hit[k].length).toFixed(1)} | ${pct(Array.from(matched, Boolean))}`);
  });
  console.log(`photos and every variant | | | ${pct(Array.from(all, Boolean))}`);
  if (!o.orders) return;
  // The hub order (greedy coverage of own identities at the threshold) of the photos alone and with the variants.
  const ids = photoRows.map(idOf), population = rows(L.set.embeddings, L.dim, popRows), popIds = popRows.map(idOf);
  const extra = { templates: new Float32Array((sets.length - 1) * n * L.dim), ids: sets.slice(1).flatMap(() => ids) };
  sets.slice(1).forEach((s, k) => extra.templates.set(s.templates, k * n * L.dim));
  const t1 = Date.now();
  const column = new Map(subjectRows.map((r, j) => [String(r), j]));
  const orders = { photos: hubOrders(sets[0].templates, ids, population, popIds, L.dim, { thresholds: [thr], looser: L.thr[0] - 0.05 })[0], 'photos + variants': hubOrders(sets[0].templates, ids, population, popIds, L.dim, { thresholds: [thr], looser: L.thr[0] - 0.05, extra })[0] };
  console.log(`hub orders ${((Date.now() - t1) / 1000).toFixed(0)} s`);
  console.log(`hub order | ${o.queries.map((q) => `≤${q}`).join(' | ')}`);
  for (const [name, order] of Object.entries(orders)) {
    const res = await firstAccepts(subjectRows.map(String), order, async (s, p) => hit[Math.floor(p / n)][(p % n) * nS + column.get(s)!] >= thr, Math.max(...o.queries));
    console.log(`${name} (${order.length}) | ${o.queries.map((q) => pct(res.map((r) => r.photo >= 0 && r.queries <= q))).join(' | ')}`);
  }
}

if (require.main === module) main().catch((e) => { console.error((e as Error).stack); process.exit(1); });
