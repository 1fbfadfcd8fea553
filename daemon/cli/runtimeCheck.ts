/**
 * Can this JavaScript runtime run the daemon? Run by the extension before it starts one
 * (`<runtime> out/daemon/cli/runtimeCheck.js`), with the editor's own runtime first (Electron with
 * ELECTRON_RUN_AS_NODE=1, as language clients start their servers) and `node` on PATH after it. Checks the
 * Node.js version and loads the daemon's native modules (their binaries must match the runtime), then prints
 * one line `FACEINV_RUNTIME {"ok":…,"node":…,"electron":…,"problems":[…]}` on stdout. Exit code 0 either way:
 * the answer is in the line. No daemon code is loaded, so it is quick.
 */

/** Prefix of the answer line. */
export const RUNTIME_PREFIX = 'FACEINV_RUNTIME ';
/** Oldest Node.js major version the daemon runs on (package.json engines). */
export const MIN_NODE_MAJOR = 20;
/** Native modules the daemon cannot work without (images, face detection and ONNX encoders). */
export const NATIVE_MODULES = ['sharp', 'onnxruntime-node'] as const;

export interface RuntimeReport {
  ok: boolean;
  node: string;
  electron?: string;
  problems: string[];
}

export function checkRuntime(load: (name: string) => unknown = require): RuntimeReport {
  const problems: string[] = [];
  const major = Number(process.versions.node.split('.')[0]);
  if (!(major >= MIN_NODE_MAJOR)) problems.push(`Node.js ${process.versions.node} is older than ${MIN_NODE_MAJOR}`);
  for (const name of NATIVE_MODULES) {
    try {
      load(name);
    } catch (err) {
      problems.push(`${name} does not load: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { ok: problems.length === 0, node: process.versions.node, ...(process.versions.electron ? { electron: process.versions.electron } : {}), problems };
}

if (require.main === module) {
  process.stdout.write(`${RUNTIME_PREFIX}${JSON.stringify(checkRuntime())}\n`);
}
