/**
 * Synthetic run folders for the dashboard tests (layout: daemon/protocol/runFolder.ts), written to a temp dir:
 * run.json, metrics.jsonl with a decreasing loss (train every step, test every 10), reconstructions with
 * originals and an evaluation/report.json (syntheticReport). With LFW present (read-only, never copied into the repo) the
 * originals are 112×112 centre crops of real LFW faces and the "reconstructions" blurred copies of them;
 * without it both are synthetic gradients.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { rate } from '../../../daemon/evaluation/stats';
import type { EvaluationReport, MetricsLine, ReconstructionIndex, RunManifest } from '../../../daemon/protocol/runFolder';

/** /work/shared/data/lfw, resolved from the compiled test (out/test/unit/webview → repo root → ../shared). */
export const LFW_IMAGES = path.resolve(__dirname, '..', '..', '..', '..', '..', 'shared', 'data', 'lfw', 'lfw-deepfunneled');
export const HAVE_LFW = fs.existsSync(path.join(LFW_IMAGES, 'Aaron_Eckhart', 'Aaron_Eckhart_0001.jpg'));

export const FIXTURE_PEOPLE = ['Aaron_Peirsol', 'Abdullah_Gul', 'Adam_Sandler', 'Aaron_Sorkin', 'Abel_Pacheco', 'Adam_Scott'];

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `faceinv-${prefix}-`));
}

export function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

export function manifest(name: string, over: Partial<RunManifest> = {}): RunManifest {
  return {
    name, kind: 'blackbox', encoderId: 'arcface512-faceplugin', embeddingDim: 512,
    route: { chosen: 'blackbox', requested: 'auto', reason: 'encoder is an ONNX graph without gradients in tfjs' },
    createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T11:00:00.000Z', state: 'finished',
    progress: { step: 200, totalSteps: 200, epoch: 4, totalEpochs: 4 }, trainSeconds: 1800,
    ...over,
  };
}

/** `steps` train lines with loss 1/(1+0.05 s) plus noise-free test lines every 10 steps. */
export function metricsLines(steps: number, from = 0): MetricsLine[] {
  const out: MetricsLine[] = [];
  for (let s = from; s < from + steps; s++) {
    const time = new Date(Date.UTC(2026, 10, 27, 10, 0, s)).toISOString();
    out.push({ time, step: s, epoch: Math.floor(s / 50), split: 'train', loss: 1 / (1 + 0.05 * s) + 0.02 * Math.sin(s), imgPerSec: 40 });
    if (s % 10 === 9) out.push({ time, step: s, epoch: Math.floor(s / 50), split: 'test', loss: 1.1 / (1 + 0.04 * s) });
  }
  return out;
}

export function appendMetrics(runDir: string, lines: MetricsLine[]): void {
  fs.appendFileSync(path.join(runDir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

/**
 * A valid report (daemon/protocol/report.ts) with fixed numbers: 6 targets, the attack's redetect type I at
 * 1e-2…1e-5 = 5, 4, 3, 1 of 6, one "no face" failure (the last target) under redetect; the baselines below it.
 * Tests that need a report produced by the real evaluation use test/fixtures/evaluatedRun.ts instead.
 */
export function syntheticReport(name: string, ids: { id: string; identity: string }[]): EvaluationReport {
  const n = ids.length;
  const points = [1e-2, 1e-3, 1e-4, 1e-5];
  // Counts are given for 6 targets and scaled to n.
  const row = (subject: 'attack' | 'nearest-face' | 'mean-face', protocol: 'direct' | 'redetect', encoderId: string, hits6: number[], failed = 0, hits = hits6.map((h) => Math.round((h * n) / 6))): EvaluationReport['rows'][number] => ({
    subject, protocol, encoderId, transfer: encoderId !== 'arcface512-faceplugin', probes: n, failed: Math.min(failed, n), failures: failed && n ? { 'no-face': failed } : {},
    typeI: hits.map((h) => rate(h, n)),
    typeII: {
      perPair: hits.map((h) => rate(2 * h, 2 * n)), perPairClusterCi: hits.map(() => [0.1, 0.9] as [number, number]),
      perProbe: hits.map((h) => h / n), perIdentity: hits.map((h) => h / n), pairs: 2 * n, probesWithPairs: n, identitiesWithPairs: n,
    },
    rank1: rate(Math.min(hits[1], Math.max(0, n - 1)), Math.max(0, n - 1)), rank1Excluded: Math.min(1, n), meanCosine: 0.5,
  });
  const rows: EvaluationReport['rows'] = [];
  for (const enc of ['arcface512-faceplugin', 'faceapi-resnet128']) {
    for (const protocol of ['direct', 'redetect'] as const) {
      const f = protocol === 'redetect' ? 1 : 0;
      rows.push(row('attack', protocol, enc, enc === 'arcface512-faceplugin' ? [5, 4, 3, 1] : [4, 2, 1, 0], f));
      rows.push(row('nearest-face', protocol, enc, [6, 5, 1, 0]));
      rows.push(row('mean-face', protocol, enc, [0, 0, 0, 0]));
    }
  }
  const thr = (encoderId: string, base: number) => ({
    encoderId, images: 2555, identities: 1150,
    points: points.map((fmr, k) => ({ fmr, threshold: base + 0.05 * k, impostorsAbove: Math.round(3245817 * fmr), impostorPairs: 3245817, lowSupport: fmr < 1e-5 * 1.01 && encoderId !== 'arcface512-faceplugin' })),
  });
  return {
    version: 2, createdAt: '2026-11-27T11:05:00.000Z', run: name, attackedEncoderId: 'arcface512-faceplugin', route: 'blackbox',
    method: 'black box: PCA face model, 512 components; ridge-regression start; zeroth-order search, 100 queries per target',
    frame: { template: 'arcface-5pt', size: 112 }, probes: n, identities: n, singleImageIdentities: 1, operatingPoints: points,
    thresholds: [thr('arcface512-faceplugin', 0.25), thr('faceapi-resnet128', 0.9)], rows,
    imageQuality: { ssim: 0.4123, psnr: 17.84, compared: n, references: [{ subject: 'mean-face', ssim: 0.4811, psnr: 14.2, compared: n }, { subject: 'same-person', ssim: 0.3826, psnr: 12.9, compared: 1 }] }, optimiserMeanCosine: 0.59, queriesPerTarget: 96, attackSeconds: 318,
    items: ids.map((x, i) => {
      const failed = i === n - 1;
      return {
        id: x.id, identity: x.identity, source: `${x.identity}/${x.id}.jpg`, image: `${x.id}.png`,
        attack: { direct: { cosine: 0.7 - 0.05 * i }, redetect: failed ? { cosine: null, failure: 'no-face' } : { cosine: 0.68 - 0.05 * i } },
        nearestFace: { rel: 'Someone_Else/Someone_Else_0001.jpg', direct: { cosine: 0.4 }, redetect: { cosine: 0.38 } },
        passesAt: failed ? null : [1e-5, 1e-4, 1e-4, 1e-3, 1e-2, null][i % 6],
        optimiserCosine: 0.72 - 0.05 * i, queries: 96,
      };
    }),
  };
}

async function facePngs(i: number, person: string): Promise<{ original: Buffer; recon: Buffer }> {
  if (HAVE_LFW) {
    const src = path.join(LFW_IMAGES, person, `${person}_0001.jpg`);
    // LFW deep-funneled images are 250×250 with the face centred: a 112×112 crop around the centre.
    const crop = sharp(src).extract({ left: 69, top: 62, width: 112, height: 112 });
    const original = await crop.clone().png().toBuffer();
    const recon = await sharp(original).blur(3.5).modulate({ saturation: 0.7 }).png().toBuffer();
    return { original, recon };
  }
  const px = Buffer.alloc(112 * 112 * 3);
  for (let y = 0; y < 112; y++) for (let x = 0; x < 112; x++) {
    const o = (y * 112 + x) * 3;
    px[o] = (x * 2 + i * 40) & 255; px[o + 1] = (y * 2) & 255; px[o + 2] = (i * 60) & 255;
  }
  const original = await sharp(px, { raw: { width: 112, height: 112, channels: 3 } }).png().toBuffer();
  const recon = await sharp(original).blur(4).png().toBuffer();
  return { original, recon };
}

export interface FixtureOptions {
  manifest?: Partial<RunManifest>;
  steps?: number;
  faces?: number;
  evaluation?: boolean;
}

/** A finished (by default) black-box run folder `runsRoot/name`; returns its path. */
export async function makeRun(runsRoot: string, name: string, opts: FixtureOptions = {}): Promise<string> {
  const dir = path.join(runsRoot, name);
  fs.mkdirSync(dir, { recursive: true });
  writeJson(path.join(dir, 'run.json'), manifest(name, opts.manifest));
  fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '');
  appendMetrics(dir, metricsLines(opts.steps ?? 200));
  const n = opts.faces ?? 6;
  const ids: { id: string; identity: string }[] = [];
  if (n > 0) {
    const rdir = path.join(dir, 'reconstructions');
    fs.mkdirSync(rdir, { recursive: true });
    const index: ReconstructionIndex = { createdAt: '2026-11-27T11:00:00.000Z', encoderId: 'arcface512-faceplugin', items: [] };
    for (let i = 0; i < n; i++) {
      const person = FIXTURE_PEOPLE[i % FIXTURE_PEOPLE.length];
      const id = `${person}_0001`;
      const { original, recon } = await facePngs(i, person);
      fs.writeFileSync(path.join(rdir, `${id}.png`), recon);
      fs.writeFileSync(path.join(rdir, `${id}.orig.png`), original);
      index.items.push({ id, identity: person.replace(/_/g, ' '), source: `${person}/${person}_0001.jpg`, image: `${id}.png`, original: `${id}.orig.png` });
      ids.push({ id, identity: person.replace(/_/g, ' ') });
    }
    writeJson(path.join(rdir, 'index.json'), index);
  }
  if (opts.evaluation ?? true) writeJson(path.join(dir, 'evaluation', 'report.json'), syntheticReport(name, ids));
  return dir;
}
