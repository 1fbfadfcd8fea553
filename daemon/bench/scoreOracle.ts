/**
 * Measures the score oracle with an encoder copy (../attack/oracle/scoreRecovery.ts) on held-out LFW: the
 * attacker's photos are the training side of the seed-0 identity split (its prior and its probe pool), the
 * enrolled templates the first photo of held-out people; each answer is the cosine of a probe to the enrolled
 * template, rounded to `decimals` when given. Prints, per query count, the recovered template's median cosine
 * to the enrolled one and the share of subjects whose recovered template the system accepts at FMR 1e-3 / 1e-4
 * (template level: the inversion to an image by `invertTargets` comes after and is not measured here).
 *
 *   node out/daemon/bench/scoreOracle.js [--write-store FILE.json] [--subjects 300] [--decimals 2] [--noise 0] [--queries 50,100,200,400] [--pool 4000]
 */
import { writeFileSync } from 'node:fs';
import { resolveDatasetPath } from '../config/datasetPath';
import { openImageDataset } from '../data/dataset';
import { getEmbeddings } from '../data/embeddingCache';
import { makeIdentitySplit, mulberry32, seededShuffle } from '../data/split';
import { cosine, designProbes, fitTemplatePrior, recoverTemplate, scoreNoiseVariance, unit } from '../attack/oracle/scoreRecovery';
import { roundScore } from '../math/roundScore';

interface Options { decision?: boolean; writeStore?: string; subjects: number; decimals?: number; noise: number; queries: number[]; pool: number; encoder: string }

function parse(argv: string[]): Options {
  const o: Options = { subjects: 300, noise: 0, queries: [25, 50, 100, 200, 300, 400, 512], pool: 4000, encoder: 'arcface512-faceplugin' };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1];
    if (argv[i] === '--subjects') o.subjects = Number(v);
    else if (argv[i] === '--decimals') o.decimals = Number(v);
    else if (argv[i] === '--noise') o.noise = Number(v);
    else if (argv[i] === '--queries') o.queries = v.split(',').map(Number);
    else if (argv[i] === '--pool') o.pool = Number(v);
    else if (argv[i] === '--encoder') o.encoder = v;
    else if (argv[i] === '--write-store') o.writeStore = v;
    else if (argv[i] === '--decision') { o.decision = true; i--; }
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

export function rows(emb: Float32Array, dim: number, idx: number[]): Float32Array {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((r, k) => out.set(emb.subarray(r * dim, (r + 1) * dim), k * dim));
  return out;
}

/** Thresholds at the given FMRs from impostor cosines of `n` random cross-identity pairs of the attacker's photos. */
export function thresholds(emb: Float32Array, dim: number, ids: string[], idx: number[], fmrs: number[], n = 400000): number[] {
  const rand = mulberry32(7);
  const s: number[] = [];
  while (s.length < n) {
    const a = idx[Math.floor(rand() * idx.length)], b = idx[Math.floor(rand() * idx.length)];
    if (ids[a] === ids[b]) continue;
    s.push(cosine(emb.subarray(a * dim, (a + 1) * dim), emb.subarray(b * dim, (b + 1) * dim)));
  }
  s.sort((x, y) => y - x);
  return fmrs.map((f) => s[Math.max(0, Math.ceil(f * n) - 1)]);
}

/**
 * The benches' enrolled subjects: held-out identities of the seed-0 split (first photo enrolled, second for
 * type II), a seeded choice of `count`; the attacker's photos are the rows of the other identities.
 */
export function enrolledSubjects(datasetIdentities: readonly string[], rowIdentities: readonly string[], count: number):
  { trainIdx: number[]; firstOf: Map<string, number>; secondOf: Map<string, number>; subjects: string[] } {
  const test = new Set(makeIdentitySplit(datasetIdentities, { seed: 0, testFraction: 0.2 }).test);
  const trainIdx = rowIdentities.flatMap((id, i) => (test.has(id) ? [] : [i]));
  const firstOf = new Map<string, number>();
  const secondOf = new Map<string, number>();
  rowIdentities.forEach((id, i) => {
    if (!test.has(id)) return;
    if (!firstOf.has(id)) firstOf.set(id, i); else if (!secondOf.has(id)) secondOf.set(id, i);
  });
  return { trainIdx, firstOf, secondOf, subjects: seededShuffle([...firstOf.keys()].sort(), 0).slice(0, count) };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const ds = openImageDataset(resolveDatasetPath('lfw', process.cwd()));
  const set = await getEmbeddings(ds, o.encoder, {});
  const dim = set.dim;
  const { trainIdx, firstOf, secondOf, subjects } = enrolledSubjects(ds.identities, set.identities, o.subjects);
  if (o.writeStore) {
    // The enrolled subjects as an audit template store (JSON, id = the subject), for `faceinv audit` / `serve-verifier`.
    writeFileSync(o.writeStore, JSON.stringify(subjects.map((id) => { const r = firstOf.get(id)!; return { id, embedding: Array.from(set.embeddings.subarray(r * dim, (r + 1) * dim)) }; })));
    console.log(`wrote ${subjects.length} enrolled templates to ${o.writeStore}`);
  }
  const fmrs = [1e-3, 1e-4];
  const thr = thresholds(set.embeddings, dim, set.identities, trainIdx, fmrs);
  if (o.decision) return decisionBaseline(o, set.embeddings, dim, trainIdx, subjects.map((id) => firstOf.get(id)!), thr, fmrs);
  const t0 = Date.now();
  const prior = fitTemplatePrior(rows(set.embeddings, dim, trainIdx), trainIdx.length, dim);
  const poolIdx = seededShuffle(trainIdx.slice(), 1).slice(0, Math.min(o.pool, trainIdx.length));
  const maxQ = Math.max(...o.queries);
  const design = designProbes(prior, rows(set.embeddings, dim, poolIdx), poolIdx.length, maxQ, scoreNoiseVariance({ decimals: o.decimals, noise: o.noise }));
  console.log(`${o.encoder}: ${trainIdx.length} attacker photos, pool ${poolIdx.length}, ${subjects.length} held-out subjects, decimals ${o.decimals ?? 'none'}, noise ${o.noise}; thresholds ${thr.map((t, k) => `${t.toFixed(4)} @FMR ${fmrs[k]}`).join(', ')}; design ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const want = new Set(o.queries);
  const cos1 = new Map<number, number[]>(o.queries.map((q) => [q, []]));
  const cos2 = new Map<number, number[]>(o.queries.map((q) => [q, []]));
  const rng = mulberry32(11);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  for (const id of subjects) {
    const r = firstOf.get(id)!;
    const t = set.embeddings.subarray(r * dim, (r + 1) * dim);
    const scores = Array.from({ length: maxQ }, (_, k) => {
      const s = cosine(design.probes.subarray(k * dim, (k + 1) * dim), t) + o.noise * gauss();
      return roundScore(s, o.decimals);
    });
    const other = secondOf.get(id);
    recoverTemplate(design, scores, maxQ, (k, m) => {
      if (!want.has(k)) return;
      const u = unit(m);
      cos1.get(k)!.push(cosine(u, t));
      if (other !== undefined) cos2.get(k)!.push(cosine(u, set.embeddings.subarray(other * dim, (other + 1) * dim)));
    });
  }
  const med = (a: number[]) => { const s = a.slice().sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
  const pct = (a: number[], th: number) => (100 * a.filter((c) => c >= th).length) / a.length;
  console.log('queries | median cos to enrolled | type I @1e-3 | type I @1e-4 | type II @1e-4 (other photo, n) | prior variance left');
  for (const q of o.queries) {
    const a = cos1.get(q)!, b = cos2.get(q)!;
    console.log(`${q} | ${med(a).toFixed(4)} | ${pct(a, thr[0]).toFixed(1)} % | ${pct(a, thr[1]).toFixed(1)} % | ${b.length ? pct(b, thr[1]).toFixed(1) : '–'} % (${b.length}) | ${design.residual[q - 1].toFixed(4)}`);
  }
}

/**
 * The decision oracle answered non-adaptively with the attacker's own photos (in a seeded random order), the
 * naive hard-label attack: a subject falls as soon as one probe photo is accepted at the system's threshold
 * (that photo is then a face the system accepts for it). Prints the share fallen after each query count.
 */
function decisionBaseline(o: Options, emb: Float32Array, dim: number, trainIdx: number[], enrolledRows: number[], thr: number[], fmrs: number[]): void {
  const order = seededShuffle(trainIdx.slice(), 2);
  const firstAccept = fmrs.map(() => [] as number[]);
  for (const r of enrolledRows) {
    const t = emb.subarray(r * dim, (r + 1) * dim);
    const first = fmrs.map(() => Infinity);
    order.forEach((p, k) => {
      const s = cosine(emb.subarray(p * dim, (p + 1) * dim), t);
      thr.forEach((th, f) => { if (s >= th && first[f] === Infinity) first[f] = k + 1; });
    });
    first.forEach((q, f) => firstAccept[f].push(q));
  }
  console.log(`decision oracle, non-adaptive probes = the attacker's ${order.length} photos in random order; ${enrolledRows.length} held-out subjects; thresholds ${thr.map((t, k) => `${t.toFixed(4)} @FMR ${fmrs[k]}`).join(', ')}`);
  console.log(`queries | ${fmrs.map((f) => `accepted @${f}`).join(' | ')}`);
  for (const q of o.queries.filter((x) => x <= order.length)) console.log(`${q} | ${firstAccept.map((a) => `${((100 * a.filter((x) => x <= q).length) / a.length).toFixed(1)} %`).join(' | ')}`);
}

if (require.main === module) main().catch((e) => { console.error((e as Error).message); process.exit(1); });
