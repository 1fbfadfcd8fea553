/**
 * `faceinv embed`: embed every image of a folder-per-identity dataset (LFW layout accepted) with an encoder,
 * into the resumable embedding cache; optionally also fill aligned-crop caches. Progress on stderr; at the
 * end a summary listing every image that failed. Exit code 0 when every image was embedded, 1 otherwise.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { parseArgs, intFlag } from '../args';
import { CliCommand, UsageError } from '../command';
import { openImageDataset } from '../../data/dataset';
import { runFacePipeline, defaultCacheDir, PLAIN_ORT_LOADER } from '../../data/pipeline';
import { encoderTarget } from '../../data/encoderTarget';
import { stderrProgress } from '../../data/progress';
import { formatFailures, formatStats } from '../../data/summary';
import { AlignmentSpec, getTemplate } from '../../data/templates';
import { parseBackendChoice } from '../../tfjs/backend';
import { setEnvValue } from '../../protocol/env';

/** "arcface-5pt:128,dlib-5pt-chip:150" → specs; throws UsageError naming the bad item. */
export function parseCropSpecs(raw: string): AlignmentSpec[] {
  return raw.split(',').filter((s) => s.trim()).map((item) => {
    const m = /^\s*([a-z0-9-]+):(\d+)\s*$/.exec(item);
    if (!m) throw new UsageError(`--crops: "${item}" is not TEMPLATE:SIZE (e.g. arcface-5pt:128)`);
    let template: AlignmentSpec['template'];
    try {
      template = getTemplate(m[1]).name;
    } catch (err) {
      throw new UsageError(`--crops: ${(err as Error).message}`);
    }
    return { template, size: Number(m[2]) };
  });
}

export const command: CliCommand = {
  name: 'embed',
  summary: 'Embed a face dataset with an encoder into the resumable embedding cache (lists failures).',
  usage: 'faceinv embed --encoder ID --dataset DIR [--cache DIR] [--workers N] [--crops TEMPLATE:SIZE,...]\n' +
    '              [--workspace DIR] [--backend NAME] [--failures FILE.json] [--plain-ort]\n' +
    '  --workspace folder whose encoder configs (models/encoders/, *.faceinv-encoder.json) count too (default: cwd)\n' +
    '  --dataset   folder of identity folders, or a folder holding lfw-deepfunneled/\n' +
    '  --cache     cache root (default <repo or cwd>/.cache/embeddings); reruns skip finished images\n' +
    '  --workers   worker threads (default: CPU count)\n' +
    '  --crops     also cache aligned uint8 crops, e.g. arcface-5pt:128\n' +
    '  --failures  write every failure as JSON [{ file, kind, detail }]\n' +
    '  --plain-ort ONNX encoders as a plain ONNX Runtime session of the model file (batch and graph as shipped):\n' +
    '              the speed baseline; use a separate --cache to time it\n' +
    'A dataset of aligned crops (declared by a faceinv-dataset.json {"aligned": "arcface-5pt:112"} in its folder, or\n' +
    'detected: the photos sampled are all square at the encoder\'s crop size) goes to the encoder without detection.\n' +
    'Exit code: 0 all images embedded, 1 some failed (listed), 2 bad arguments.',
  async run(args) {
    const a = parseArgs(args, { values: ['encoder', 'dataset', 'cache', 'workers', 'crops', 'workspace', 'backend', 'failures'], booleans: ['plain-ort'] });
    const encoderId = a.flags.get('encoder');
    const datasetDir = a.flags.get('dataset');
    if (!datasetDir) throw new UsageError('--dataset DIR is required');
    const crops = parseCropSpecs(a.flags.get('crops') ?? '');
    if (!encoderId && crops.length === 0) throw new UsageError('--encoder ID is required (or --crops alone to cache crops only)');
    const workers = intFlag(a, 'workers', 0, 0) || undefined;
    const backend = a.flags.has('backend') ? parseBackendChoice(a.flags.get('backend') as string, '--backend') : undefined;
    const cacheDir = a.flags.get('cache') ?? defaultCacheDir();
    let ds: ReturnType<typeof openImageDataset>;
    try {
      ds = openImageDataset(datasetDir);
    } catch (err) {
      throw new UsageError(`--dataset: ${(err as Error).message}`);
    }
    const target = encoderId ? encoderTarget(encoderId, { workspaceDir: path.resolve(a.flags.get('workspace') ?? process.cwd()) }) : undefined;
    const enc = target && a.booleans.has('plain-ort') ? { ...target, loader: PLAIN_ORT_LOADER } : target;
    if (backend) setEnvValue('FACEINV_BACKEND', backend);
    console.error(`dataset ${ds.root}: ${ds.images.length} images, ${ds.identities.length} identities; cache ${cacheDir}`);
    const out = await runFacePipeline(ds, { encoder: enc, crops }, {
      cacheDir,
      workers,
      progress: stderrProgress(enc ? `embed ${enc.id}` : 'align'),
    });
    console.log(formatStats(out.stats));
    if (enc) console.log(`encoder ${enc.id} (model ${enc.modelHash.slice(0, 12)}, ${enc.alignment.template} ${enc.alignment.size}px): ${out.images.length - out.failures.length} embeddings of dim ${out.dim}`);
    for (const line of formatFailures(out.failures)) console.log(line);
    const failuresFile = a.flags.get('failures');
    if (failuresFile) fs.writeFileSync(failuresFile, JSON.stringify(out.failures, null, 2));
    return out.failures.length > 0 ? 1 : 0;
  },
};
