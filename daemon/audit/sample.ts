/**
 * Auditing a large store by a seeded random sample with a stated confidence (issue 24). A store of 10⁵–10⁷
 * templates takes days to years to invert whole on one machine; the rate the verdict gives is a proportion,
 * and a simple random sample of n templates gives it within a Wilson 95 % interval whose half-width shrinks
 * as 1/√n (Cochran's sample size for a margin ±m at 95 %: n₀ = z² p(1−p) / m², with the finite-population
 * correction n = n₀ / (1 + (n₀ − 1)/N)).
 *
 * The sample's rows depend on the store's size, the sample's size and the config's seed only, so the same
 * config draws the same templates on any machine, in any process.
 */
import { mulberry32 } from '../data/split';
import { Z95 } from '../evaluation/stats';
import type { AuditConfig } from '../protocol/auditConfig';
import type { TemplateStore } from './templateStore';

/** Stores above this many rows are sampled unless the config says `sample` (a number or "all"). */
export const SAMPLE_ABOVE = 5000;
/** What a template costs on a 2-core machine with a budget of 100 queries, at the slow end (issue 24: 1–4 s). */
export const PRIOR_SECONDS_PER_TEMPLATE = 4;
/** The default sample answers within this many seconds at the prior cost. */
export const DEFAULT_SAMPLE_SECONDS = 3600 * 0.9;

export interface SampleInfo {
  /** Templates drawn. */
  n: number;
  /** Rows of the store they were drawn from. */
  of: number;
  seed: number;
  /** Why this sample: asked for (`--sample`), or the default for a large store. */
  reason: 'asked' | 'default';
}

/** Row indices of a seeded simple random sample of `n` of `rows`, ascending (Floyd's algorithm: O(n) memory). */
export function sampleRows(rows: number, n: number, seed: number): number[] {
  if (n > rows) throw new Error(`a sample of ${n.toLocaleString('en-US')} templates is larger than the store, which has ${rows.toLocaleString('en-US')}; give --sample ${rows} or less, or --all`);
  const rand = mulberry32((seed ^ 0x5a3b1e) >>> 0);
  const out = new Set<number>();
  for (let j = rows - n; j < rows; j++) {
    const t = Math.floor(rand() * (j + 1));
    out.add(out.has(t) ? j : t);
  }
  return [...out].sort((a, b) => a - b);
}

/** Templates needed for a 95 % interval of half-width `margin` around a rate near `p` (0.5: the worst case), in a store of `population`. */
export function sampleSizeFor(margin: number, p = 0.5, population = Infinity): number {
  const q = Math.min(Math.max(p, 0), 1);
  // A rate at 0 or 1 still needs the interval's own width: take p no closer to the edge than the margin.
  const pp = Math.min(Math.max(q, margin), 1 - margin);
  const n0 = (Z95 * Z95 * pp * (1 - pp)) / (margin * margin);
  const n = Number.isFinite(population) ? n0 / (1 + (n0 - 1) / population) : n0;
  return Math.ceil(n);
}

/** The prior cost of one template under `config` (the budget scales the queries; a white box's steps likewise). */
export function priorSecondsPerTemplate(config: AuditConfig): number {
  const work = config.search.method === 'none' ? 1 : config.budget;
  return PRIOR_SECONDS_PER_TEMPLATE * Math.max(0.05, work / 100);
}

/**
 * The sample an audit of `rows` templates uses: config.sample when given ("all": none), else for a store above
 * SAMPLE_ABOVE rows the largest that the prior cost inverts within DEFAULT_SAMPLE_SECONDS (deterministic, so a
 * rerun of the same config resumes the same sample). Null: the whole store.
 */
export function chooseSample(config: AuditConfig, rows: number): SampleInfo | null {
  const s = config.sample;
  if (s === 'all') return null;
  if (typeof s === 'number') {
    if (s > rows) throw new Error(`a sample of ${s.toLocaleString('en-US')} templates is larger than the store, which has ${rows.toLocaleString('en-US')}; give --sample ${rows} or less, or --all`);
    return s === rows ? null : { n: s, of: rows, seed: config.seed, reason: 'asked' };
  }
  if (rows <= SAMPLE_ABOVE) return null;
  const n = Math.max(1, Math.min(rows, Math.floor(DEFAULT_SAMPLE_SECONDS / priorSecondsPerTemplate(config))));
  return n >= rows ? null : { n, of: rows, seed: config.seed, reason: 'default' };
}

/** The sampled rows of `store` as a store of their own; ids are kept (a store without ids keeps its row numbers as ids). */
export function sampledStore(store: TemplateStore, info: SampleInfo): TemplateStore {
  const rows = sampleRows(store.rows, info.n, info.seed);
  const dim = store.dim;
  const vectors = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => vectors.set(store.vectors.subarray(r * dim, (r + 1) * dim), i * dim));
  const flags = rows.map((r) => store.flags[r]);
  return {
    ...store, rows: rows.length, ids: rows.map((r) => store.ids[r]), vectors, flags,
    usable: flags.filter((f) => !f || f.usable).length, sourceRows: Int32Array.from(rows),
  };
}

/** The plain sentence said at the start of a sampled audit. */
export function sampleSentence(info: SampleInfo, config: AuditConfig): string {
  const n = info.n.toLocaleString('en-US'), of = info.of.toLocaleString('en-US');
  const hours = (info.n * priorSecondsPerTemplate(config)) / 3600;
  const half = (Z95 * 0.5) / Math.sqrt(info.n) * Math.sqrt((info.of - info.n) / Math.max(1, info.of - 1));
  const why = info.reason === 'default'
    ? `the store has ${of} templates, more than ${SAMPLE_ABOVE.toLocaleString('en-US')}: auditing a seeded random sample of ${n} (seed ${info.seed}), which answers in about ${hours.toFixed(1)} h at ${priorSecondsPerTemplate(config).toFixed(1)} s per template; --sample N chooses another size, --all inverts every template`
    : `auditing a seeded random sample of ${n} of the store's ${of} templates (seed ${info.seed})`;
  return `${why}; the verdict's rates are the store's within ±${(100 * half).toFixed(1)} points at worst (95 %)`;
}
