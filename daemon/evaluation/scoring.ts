/**
 * The evaluation's scoring: each encoder's gallery of the test photos and its thresholds (with their bootstrap
 * resamples), then every subject's images under the protocols asked, embedded and scored against that gallery —
 * the report's rows, the attacked encoder's per-probe cosines and the realism features. evaluate.ts calls it in two
 * passes (`direct` and `redetect`, then `independent` when it fits the budget).
 */
import type { AlignmentSpec } from '../data/templates';
import { getEmbeddings, type DataApiOptions, type EmbeddingSet } from '../data/embeddingCache';
import { encoderTarget } from '../data/encoderTarget';
import type { ImageDataset } from '../data/dataset';
import { allPairScores, type AllPairScores } from '../data/verify';
import { loadEncoderById } from '../encoders/load';
import type { ReconstructionIndex } from '../protocol/runFolder';
import type { EncoderThresholds, Protocol, ScoreRow, Subject } from '../protocol/report';
import type { AttackContext } from '../runs/attackContext';
import { bootstrapRates, type BootProbe, impostorScores, percentileInterval, resampledThresholds, type resampleIdentities } from './bootstrap';
import { CropEmbeddingCache } from './cropEmbeddingCache';
import type { meanFaceGeometry } from './meanGeometry';
import { directCrop, embedCrops, redetectedCrops, type AlignedOrFailure, type Redetected } from './protocols';
import type { ScoringRole } from './roles';
import { type Gallery, successAttackRates } from './sar';
import { encoderThresholds } from './thresholds';

/** Unique images of one subject and, per probe, which of them it shows. */
export interface SubjectImages {
  subject: Subject;
  images: Uint8Array[];
  of: number[];
}

/** One scoring encoder's gallery (the test photos' templates) and thresholds, kept for both scoring passes. */
export interface EncoderScorer {
  encId: string; role: ScoringRole; gallery: Gallery; thresholds: EncoderThresholds;
  /** The thresholds at each operating point, and per bootstrap resample (null: no bootstrap). */
  fixed: number[]; thrB: Float64Array[] | null;
}

/** One scoring encoder's gallery and thresholds; the attacked encoder reuses the templates and all-pair scores already computed. */
export async function encoderScorer(encId: string, role: ScoringRole, attacked: { id: string; set: EmbeddingSet; pairs: AllPairScores }, test: readonly string[], testDs: ImageDataset, points: number[],
  resamples: ReturnType<typeof resampleIdentities> | null, dataOpts: DataApiOptions): Promise<EncoderScorer> {
  const isAttacked = encId === attacked.id;
  const gallery: Gallery = isAttacked ? attacked.set : await getEmbeddings(testDs, encId, dataOpts);
  const thr = encoderThresholds(encId, gallery, test, points, isAttacked ? attacked.pairs : allPairScores(gallery, test));
  let thrB: Float64Array[] | null = null;
  if (resamples) {
    thrB = resampledThresholds(impostorScores(gallery, resamples, 4 * Math.max(...points)), resamples, points);
    thr.points.forEach((p, j) => {
      const ci = percentileInterval(Float64Array.from(thrB as Float64Array[], (t) => t[j]));
      if (ci) p.bootstrapCi = ci;
    });
  }
  return { encId, role, gallery, thresholds: thr, fixed: thr.points.map((p) => p.threshold), thrB };
}

/** The log's line for one encoder's attack row under one protocol. */
export function logAttackRow(rows: readonly ScoreRow[], encId: string, role: ScoringRole, protocol: Protocol, points: number[], ctx: AttackContext): void {
  const a = rows.find((r) => r.subject === 'attack' && r.protocol === protocol && r.encoderId === encId);
  if (!a) return;
  ctx.log('info', `${encId} (${role}), ${protocol}: type I ${points.map((p, i) => `@${p} ${pct(a.typeI[i].rate)}`).join(' ')}; type II per identity @1e-3 ${pct(a.typeII.perIdentity[points.indexOf(1e-3)] ?? null)}`);
}

/** What one scoring pass of one encoder reads (its EncoderScorer less the thresholds report) and where it writes. */
export interface SubjectScoring extends Omit<EncoderScorer, 'thresholds'> {
  attackedId: string; points: number[];
  resamples: ReturnType<typeof resampleIdentities> | null; bootIdentity: Map<string, number> | null;
  realismId: string | null; realismEmb: Map<Subject, (Float32Array | null)[]>;
  rows: ScoreRow[]; attackedCos: Map<string, { cosine: number | null; failure?: string }[]>;
  subjects: SubjectImages[]; protocols: Protocol[]; found: Map<string, Redetected[]>;
  items: ReconstructionIndex['items']; frame: AlignmentSpec; meanGeometry: ReturnType<typeof meanFaceGeometry>; ctx: AttackContext;
  /** Where the templates of the baselines' and real crops' aligned crops are kept (cropEmbeddingCache.ts). */
  cacheDir: string;
}

/** Every subject under every protocol, embedded by one encoder and scored against its gallery (rows, bootstrap, realism features). */
export async function scoreSubjects(c: SubjectScoring): Promise<void> {
  const { encId, role, attackedId, gallery, fixed, points, thrB, resamples, bootIdentity, realismId, realismEmb, rows, attackedCos, subjects, protocols, found, items, frame, meanGeometry, ctx } = c;
  const target = encoderTarget(encId, { workspaceDir: ctx.workspaceDir });
  const spec = target.alignment;
  const cache = CropEmbeddingCache.open(c.cacheDir, target);
  const row = new Map(gallery.rels.map((r, i) => [r, i]));
  const encoder = await loadEncoderById(encId, { workspaceDir: ctx.workspaceDir });
  try {
    for (const s of subjects) {
      for (const protocol of protocols) {
        const crops: AlignedOrFailure[] = protocol === 'direct'
          ? s.images.map((img) => ({ crop: directCrop(img, frame, spec, meanGeometry) }))
          : redetectedCrops(found.get(`${s.subject}/${protocol}`) as Redetected[], spec);
        // The reconstructions are new in every run: only the baselines' and real crops' templates are kept.
        const embedded = await embedCrops(encoder, crops, spec, s.subject === 'attack' ? undefined : cache);
        const probes = items.map((it, i) => {
          const src = row.get(it.source as string);
          const e = embedded[s.of[i]];
          return src === undefined
            ? { embedding: null, failure: 'source-not-embedded', sourceRow: 0 }
            : { embedding: e.embedding, ...(e.failure ? { failure: e.failure.split(':')[0] } : {}), sourceRow: src };
        });
        if (encId === realismId && protocol === 'direct') realismEmb.set(s.subject, probes.map((p) => p.embedding));
        const sar = successAttackRates(probes, gallery, fixed);
        let bootstrap: ScoreRow['bootstrap'];
        if (resamples && thrB && bootIdentity) {
          const bp: BootProbe[] = items.map((it, i) => ({
            identity: bootIdentity.get((it.source as string).split('/')[0]) as number,
            typeI: sar.cosines[i], pairScores: sar.pairScores[i], pairs: sar.pairCounts[i],
          }));
          const withThr = bootstrapRates(bp, resamples, (b) => (thrB as Float64Array[])[b], points.length);
          const fixedThr = bootstrapRates(bp, resamples, () => fixed, points.length);
          bootstrap = { ...withThr, fixedThreshold: { typeI: fixedThr.typeI, typeIIPerIdentity: fixedThr.typeIIPerIdentity } };
        }
        rows.push({
          subject: s.subject, protocol, encoderId: encId, transfer: role === 'transfer', role,
          probes: sar.count, failed: sar.notEmbedded, failures: sar.failures, typeI: sar.typeI, typeII: sar.typeII,
          rank1: sar.rank1, rank1Excluded: sar.rank1Excluded, meanCosine: sar.meanCosine,
          ...(bootstrap ? { bootstrap } : {}),
        });
        if (encId === attackedId && (s.subject === 'attack' || s.subject === 'nearest-face')) {
          attackedCos.set(`${s.subject}/${protocol}`, sar.cosines.map((c, i) => ({ cosine: c, ...(probes[i].failure ? { failure: probes[i].failure } : {}) })));
        }
      }
    }
  } finally {
    encoder.dispose();
    cache.close();
  }
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(100 * x).toFixed(1)}%`;
}
