/**
 * Where the face analysis models live and how their ONNX sessions are opened. The detector and the 68-point
 * landmark model come from the npm package `faceplugin-face-recognition-js` (MIT), unpacked into node_modules by
 * scripts/fetch-model-packages.js; they run on onnxruntime-node's CPU provider.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';

export const FACEPLUGIN_PACKAGE = 'faceplugin-face-recognition-js';

/** Absolute path of `model/<name>` inside the faceplugin package; throws naming the fix when it is missing. */
export function facepluginModelPath(name: 'fr_detect.onnx' | 'fr_landmark.onnx' | 'fr_feature.onnx'): string {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${FACEPLUGIN_PACKAGE}/package.json`));
  } catch {
    dir = path.resolve(__dirname, '..', '..', '..', 'node_modules', FACEPLUGIN_PACKAGE);
  }
  const file = path.join(dir, 'model', name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: run "node scripts/fetch-model-packages.js" (npm postinstall) to unpack ${FACEPLUGIN_PACKAGE}`);
  }
  return file;
}

export interface SessionOptions {
  /** onnxruntime intra-op threads (default 1: the pipeline parallelises across images with worker threads). */
  threads?: number;
}

export async function openSession(file: string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    intraOpNumThreads: opts.threads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
}
