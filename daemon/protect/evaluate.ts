/**
 * The four ISO/IEC 30136 properties of one protection scheme (or of no protection), on held-out subjects:
 *
 * - accuracy: genuine / impostor scores of every pair of the subjects' photos; normal scenario = each subject
 *   enrolled under their own key; stolen-key scenario = impostors use the victim's key, i.e. everyone's
 *   templates under one key (the stolen-token scenario of the BioHashing literature);
 * - unlinkability (Gomez-Barrero et al., TIFS 2018): mated = two photos of one subject under two keys (their
 *   key and its renewal), non-mated = photos of two subjects under their own keys;
 * - irreversibility, attacked: for each victim, the template of their first photo is stolen.
 *   (a) with the key: the scheme's inversion (least squares / sign or argmax consistency / optimisation through
 *   the transform, daemon/protect/*.ts `attack`) → embedding → face (faces.ts) → the face's embedding, scored
 *   against the victim's templates (type I: the stolen one; type II: their second photo's) at the protected
 *   system's threshold (enrolled under the victim's key) and at the unprotected system's (cosine), beside the
 *   nearest-face baseline: the attacker's own photo whose template under the stolen key is closest;
 *   (b) without it: the attacker enrols their own photos under their own keys and fits a ridge map from
 *   protected template to embedding, applied to the victim's template;
 * - renewability: after the victim's key is renewed (generation 1) and they re-enrol (second photo), does the
 *   old template still match the new enrolment, and does the face reconstructed from the old template (with
 *   the old key) match it once the system enrols that face under the new key?
 * Thresholds are the normal scenario's at each FMR (the protected system's operating points).
 */
import { seededShuffle } from '../data/split';
import { fitRidge, applyRidge } from '../math/ridge';
import { subjectSeed } from './keys';
import { accuracy, accuracyIntervals, unlinkability, unlinkabilityInterval, wilson, type Accuracy, type Interval, type PairScores, type Unlinkability } from './metrics';
import { minimiseOnSphere } from './optimise';
import type { ProtectedTemplate, ProtectionScheme } from './types';

export interface SubjectSet {
  dim: number;
  /** [n, dim] unit embeddings of the held-out subjects' photos. */
  embeddings: Float32Array;
  identities: string[];
  rels: string[];
}

export interface AttackerSet {
  dim: number;
  /** [n, dim] unit embeddings of the attacker's own photos (other people). */
  embeddings: Float32Array;
  identities: string[];
}

export interface FaceOracle {
  invert(targets: readonly Float32Array[]): Promise<{ faces: Uint8Array[]; embeddings: Float32Array[] }>;
}

export interface PropertyOptions {
  fmrs: number[];
  targets: number;
  steps: number;
  learningRate: number;
  ridgeLambda: number;
  attackerPhotos: number;
  baselinePool: number;
  omega: number;
  bins?: number;
  seed: number;
  keySeed: number;
  keepFaces: number;
  /** Subject-bootstrap resamples for the EER / FNMR intervals (0 = none). */
  resamples: number;
  log?: (m: string) => void;
}

/** Success rates at one threshold, with their 95 % Wilson intervals over the victims. */
export interface RateAt { fmr: number; threshold: number; typeI: number; typeII: number; typeICI: Interval; typeIICI: Interval }
export interface AttackRates {
  /** Enrolled under the victim's key, compared with the scheme's comparator at its normal-scenario threshold. */
  protectedOp: RateAt[];
  /** Compared by cosine with the victim's unprotected embeddings at the unprotected threshold. */
  unprotectedOp: RateAt[];
  /** Mean cosine of the probe's embedding to the victim's stolen embedding. */
  meanCosine: number;
}

export interface RowResult {
  id: string;
  label: string;
  paper: string | null;
  template: string;
  accuracy: { normal: Accuracy; stolenKey: Accuracy | null };
  unlinkability: Unlinkability;
  attack: {
    victims: number;
    /** (a) stolen key: faces, the recovered embeddings themselves, and the nearest-face baseline. */
    stolenKey: AttackRates;
    stolenKeyEmbedding: AttackRates;
    baseline: AttackRates;
    /** (b) key unknown (null for the unprotected system). */
    keyUnknown: AttackRates | null;
    keyUnknownEmbedding: AttackRates | null;
  };
  renewability: { oldMatchesNew: { fmr: number; rate: number }[]; reconstructionMatchesNew: { fmr: number; rate: number }[] } | null;
  faces: { victim: string; stolenKey: Uint8Array; keyUnknown: Uint8Array | null }[];
  seconds: number;
}

function cos(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[ao + k] * b[bo + k];
  return s;
}

function rowsBy(identities: readonly string[]): Map<string, number[]> {
  const m = new Map<string, number[]>();
  identities.forEach((id, i) => { const r = m.get(id); if (r) r.push(i); else m.set(id, [i]); });
  return m;
}

/** Genuine / impostor scores over every pair of rows, by `score(i, j)`, with each side's subject. */
function allPairs(ids: readonly string[], score: (i: number, j: number) => number): PairScores {
  const n = ids.length;
  const index = new Map<string, number>();
  const subj = ids.map((id) => { let k = index.get(id); if (k === undefined) { k = index.size; index.set(id, k); } return k; });
  const same: number[] = [], sameSubject: number[] = [], diff: number[] = [], diffA: number[] = [], diffB: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
    const v = score(i, j);
    if (subj[i] === subj[j]) { same.push(v); sameSubject.push(subj[i]); } else { diff.push(v); diffA.push(subj[i]); diffB.push(subj[j]); }
  }
  return {
    same: Float64Array.from(same), sameSubject: Int32Array.from(sameSubject), diff: Float64Array.from(diff), diffA: Int32Array.from(diffA), diffB: Int32Array.from(diffB),
    subjects: index.size,
  };
}

/** Accuracy of a scenario with its subject-bootstrap intervals (o.resamples of them). */
function scoredAccuracy(p: PairScores, o: PropertyOptions): Accuracy {
  const acc = accuracy(p.same, p.diff, o.fmrs);
  return o.resamples > 1 && p.subjects > 1 ? { ...acc, intervals: accuracyIntervals(p, o.fmrs, o.resamples, o.seed) } : acc;
}

/** D↔sys of mated / non-mated pairs, with its subject-bootstrap interval (o.resamples of them). */
function scoredUnlinkability(p: PairScores, o: PropertyOptions): Unlinkability {
  const u = unlinkability(p.same, p.diff, { omega: o.omega, bins: o.bins });
  return o.resamples > 1 && p.subjects > 1 ? { ...u, dsysCI: unlinkabilityInterval(p, u, o.resamples, o.seed) } : u;
}

/** A success rate at a threshold: k of n victims, with Wilson's interval. */
function rateAt(fmr: number, threshold: number, I: number, II: number, n: number): RateAt {
  return { fmr, threshold, typeI: I / n, typeII: II / n, typeICI: wilson(I, n), typeIICI: wilson(II, n) };
}

export function chooseVictims(s: SubjectSet, count: number, seed: number): { id: string; first: number; second: number }[] {
  const by = rowsBy(s.identities);
  const ids = seededShuffle([...by.keys()].filter((id) => (by.get(id) as number[]).length >= 2).sort(), seed).slice(0, count);
  return ids.map((id) => { const r = by.get(id) as number[]; return { id, first: r[0], second: r[1] }; });
}

const row = (e: Float32Array, i: number, d: number) => e.subarray(i * d, (i + 1) * d);
function unit(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n) || 1;
  return Float32Array.from(v, (x) => x / n);
}

/** The unprotected system: cosine of the embeddings. */
export async function evaluateUnprotected(s: SubjectSet, a: AttackerSet, faces: FaceOracle, o: PropertyOptions): Promise<RowResult> {
  const t0 = Date.now();
  const d = s.dim, E = s.embeddings;
  const pairs = allPairs(s.identities, (i, j) => cos(E, i * d, E, j * d, d));
  const acc = scoredAccuracy(pairs, o);
  const unl = scoredUnlinkability(pairs, o);
  const victims = chooseVictims(s, o.targets, o.seed);
  const na = a.embeddings.length / d;
  const nearest = victims.map((v) => {
    let best = -Infinity, r = 0;
    for (let k = 0; k < na; k++) { const c = cos(E, v.first * d, a.embeddings, k * d, d); if (c > best) { best = c; r = k; } }
    return Float32Array.from(row(a.embeddings, r, d));
  });
  const stolen = victims.map((v) => Float32Array.from(row(E, v.first, d)));
  const inv = await faces.invert(stolen);
  const th = acc.points.map((p) => p.threshold);
  const rates = (probes: Float32Array[]): AttackRates => {
    const at = o.fmrs.map((fmr, k) => {
      let I = 0, II = 0;
      probes.forEach((p, i) => { if (cos(p, 0, E, victims[i].first * d, d) > th[k]) I++; if (cos(p, 0, E, victims[i].second * d, d) > th[k]) II++; });
      return rateAt(fmr, th[k], I, II, probes.length);
    });
    const meanCosine = probes.reduce((m, p, i) => m + cos(p, 0, E, victims[i].first * d, d), 0) / probes.length;
    return { protectedOp: at, unprotectedOp: at, meanCosine };
  };
  return {
    id: 'none', label: 'No protection', paper: null, template: `${d} floats (cosine)`,
    accuracy: { normal: acc, stolenKey: null }, unlinkability: unl,
    attack: { victims: victims.length, stolenKey: rates(inv.embeddings), stolenKeyEmbedding: rates(stolen), baseline: rates(nearest), keyUnknown: null, keyUnknownEmbedding: null },
    renewability: null,
    faces: victims.slice(0, o.keepFaces).map((v, i) => ({ victim: s.rels[v.first], stolenKey: inv.faces[i], keyUnknown: null })),
    seconds: (Date.now() - t0) / 1000,
  };
}

/** One protection scheme; `unprotected` gives the unprotected thresholds (its normal-scenario points). */
export async function evaluateScheme(scheme: ProtectionScheme, s: SubjectSet, a: AttackerSet, faces: FaceOracle, o: PropertyOptions, unprotected: Accuracy): Promise<RowResult> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const d = s.dim, E = s.embeddings, n = s.identities.length;
  const by = rowsBy(s.identities);
  const seedOf = (id: string, gen: number) => subjectSeed(o.keySeed, id, gen);
  // Enrolment: every photo under its subject's key (A), its renewed key (B), and one shared key (stolen).
  const tA: ProtectedTemplate[] = new Array(n), tB: ProtectedTemplate[] = new Array(n), tS: ProtectedTemplate[] = new Array(n);
  const kS = scheme.keyFromSeed(subjectSeed(o.keySeed, '\u0000stolen', 0));
  for (const [id, rows] of by) {
    const kA = scheme.keyFromSeed(seedOf(id, 0)), kB = scheme.keyFromSeed(seedOf(id, 1));
    for (const r of rows) {
      const e = row(E, r, d);
      tA[r] = scheme.enrol(e, kA); tB[r] = scheme.enrol(e, kB); tS[r] = scheme.enrol(e, kS);
    }
  }
  log(`${scheme.label}: ${n} photos of ${by.size} subjects enrolled under their keys, renewed keys and one shared key (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  const normalPairs = allPairs(s.identities, (i, j) => scheme.compare(tA[i], tA[j]));
  const stolenPairs = allPairs(s.identities, (i, j) => scheme.compare(tS[i], tS[j]));
  const acc = { normal: scoredAccuracy(normalPairs, o), stolenKey: scoredAccuracy(stolenPairs, o) };
  const linkPairs = allPairs(s.identities, (i, j) => scheme.compare(tA[i], tB[j]));
  const unl = scoredUnlinkability(linkPairs, o);
  log(`${scheme.label}: accuracy and unlinkability scored (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  // The attacker's photos: a seeded sample for the learned map (b) and the baseline pool (a).
  const na = a.embeddings.length / d;
  const order = seededShuffle(Int32Array.from({ length: na }, (_, i) => i), o.seed ^ 0xa77ac);
  const learnRows = Array.from(order.subarray(0, Math.min(na, o.attackerPhotos)));
  const poolRows = Array.from(order.subarray(0, Math.min(na, o.baselinePool)));
  let mean = new Float32Array(d);
  for (const r of learnRows) for (let k = 0; k < d; k++) mean[k] += a.embeddings[r * d + k] / learnRows.length;
  mean = Float32Array.from(mean);

  // (b) key unknown: the attacker's own photos under their own keys (64 accounts), ridge template → embedding.
  const accounts = 64;
  const accountKeys = Array.from({ length: accounts }, (_, k) => scheme.keyFromSeed(subjectSeed(o.keySeed ^ 0x5eed, `attacker-${k}`, 0)));
  const F = scheme.featureDim;
  const X = new Float32Array(learnRows.length * F), Y = new Float32Array(learnRows.length * d);
  learnRows.forEach((r, i) => {
    const e = row(a.embeddings, r, d);
    X.set(scheme.features(scheme.enrol(e, accountKeys[i % accounts])), i * F);
    Y.set(e, i * d);
  });
  const map = fitRidge(X, Y, learnRows.length, F, d, o.ridgeLambda);
  log(`${scheme.label}: key-unknown map fitted on ${learnRows.length} of the attacker's photos under ${accounts} keys (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  // (a) stolen key: invert each victim's template with their key; baseline: nearest attacker photo under that key.
  const victims = chooseVictims(s, o.targets, o.seed);
  const recovered: Float32Array[] = [], learned: Float32Array[] = [], nearest: Float32Array[] = [];
  for (const v of victims) {
    const kA = scheme.keyFromSeed(seedOf(v.id, 0));
    const T = tA[v.first];
    const { start, loss } = scheme.attack(T, kA, mean);
    recovered.push(Float32Array.from(minimiseOnSphere(start, loss, o.steps, o.learningRate).e));
    learned.push(unit(applyRidge(map, scheme.features(T), 1)));
    let best = -Infinity, br = poolRows[0];
    for (const r of poolRows) { const c = scheme.compare(scheme.enrol(row(a.embeddings, r, d), kA), T); if (c > best) { best = c; br = r; } }
    nearest.push(Float32Array.from(row(a.embeddings, br, d)));
  }
  log(`${scheme.label}: ${victims.length} stolen templates inverted with their keys (${((Date.now() - t0) / 1000).toFixed(1)} s); rendering faces`);
  const inv = await faces.invert([...recovered, ...learned]);
  const fS = inv.embeddings.slice(0, victims.length), fU = inv.embeddings.slice(victims.length);

  const thP = acc.normal.points.map((p) => p.threshold), thU = unprotected.points.map((p) => p.threshold);
  const keys = victims.map((v) => ({ a: scheme.keyFromSeed(seedOf(v.id, 0)), b: scheme.keyFromSeed(seedOf(v.id, 1)) }));
  const rates = (probes: Float32Array[]): AttackRates => {
    const enrolled = probes.map((p, i) => scheme.enrol(p, keys[i].a));
    const protectedOp = o.fmrs.map((fmr, k) => {
      let I = 0, II = 0;
      enrolled.forEach((t, i) => { if (scheme.compare(t, tA[victims[i].first]) > thP[k]) I++; if (scheme.compare(t, tA[victims[i].second]) > thP[k]) II++; });
      return rateAt(fmr, thP[k], I, II, probes.length);
    });
    const unprotectedOp = o.fmrs.map((fmr, k) => {
      let I = 0, II = 0;
      probes.forEach((p, i) => { if (cos(p, 0, E, victims[i].first * d, d) > thU[k]) I++; if (cos(p, 0, E, victims[i].second * d, d) > thU[k]) II++; });
      return rateAt(fmr, thU[k], I, II, probes.length);
    });
    const meanCosine = probes.reduce((m, p, i) => m + cos(p, 0, E, victims[i].first * d, d), 0) / probes.length;
    return { protectedOp, unprotectedOp, meanCosine };
  };
  // Renewability: the new enrolment is the second photo under the renewed key.
  const oldMatchesNew = o.fmrs.map((fmr, k) => ({ fmr, rate: victims.filter((v) => scheme.compare(tA[v.first], tB[v.second]) > thP[k]).length / victims.length }));
  const reconstructionMatchesNew = o.fmrs.map((fmr, k) => ({
    fmr, rate: victims.filter((v, i) => scheme.compare(scheme.enrol(fS[i], keys[i].b), tB[v.second]) > thP[k]).length / victims.length,
  }));
  return {
    id: scheme.id, label: scheme.label, paper: scheme.paper, template: `${scheme.outputDim} ${scheme.output}`,
    accuracy: acc, unlinkability: unl,
    attack: { victims: victims.length, stolenKey: rates(fS), stolenKeyEmbedding: rates(recovered), baseline: rates(nearest), keyUnknown: rates(fU), keyUnknownEmbedding: rates(learned) },
    renewability: { oldMatchesNew, reconstructionMatchesNew },
    faces: victims.slice(0, o.keepFaces).map((v, i) => ({ victim: s.rels[v.first], stolenKey: inv.faces[i], keyUnknown: inv.faces[victims.length + i] })),
    seconds: (Date.now() - t0) / 1000,
  };
}
