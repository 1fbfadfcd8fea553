/**
 * The one door for the environment: every `FACEINV_*` variable the daemon, the CLI and the extension read is
 * named here, read here (when asked, so a test or a CLI flag that sets one is seen), and documented in
 * docs/environment.md. A variable read anywhere else is a bug (test/unit/architecture.test.ts looks).
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** Every variable, with what it does (docs/environment.md lists the same). */
export const ENV_VARIABLES = {
  FACEINV_HOME: 'per-user state: the connection file and default caches (default ~/.faceinv)',
  FACEINV_LFW: 'the LFW folder (lfw-deepfunneled/ and pairs.txt), also a data root of the daemon',
  FACEINV_BACKEND: 'the TF.js backend: auto | wasm | cpu | webgpu (a --backend flag wins)',
  FACEINV_THREADS: 'wasm backend threads (default: the core count, at most 8)',
  FACEINV_ENGINE: "the compute engine where a config says 'auto' or nothing: auto | onnxruntime | tfjs",
  FACEINV_ORT_THREADS: 'ONNX Runtime intra-op threads (default: the core count, at most 8)',
  FACEINV_ORT_SPIN: 'ONNX Runtime thread spinning: 1 on, 0 off (default: on when the machine is idle)',
  FACEINV_ORT_OPT: 'ONNX Runtime graph optimisation level: basic | extended | all (default all)',
  FACEINV_VERBOSE: '1 = the CLI prints debug lines (engine probes)',
  FACEINV_TOKEN: "the daemon's access token for `faceinv status --url`",
  FACEINV_SECRET_: 'FACEINV_SECRET_<NAME>: an HTTP encoder\'s auth.secret <name> for the command line',
} as const;

export type EnvVariable = Exclude<keyof typeof ENV_VARIABLES, 'FACEINV_SECRET_'>;

/** The variable's value, undefined when unset or empty. */
export function envValue(name: EnvVariable): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Sets a variable for this process and the workers and children it starts (CLI flags that stand for one). */
export function setEnvValue(name: EnvVariable, value: string): void {
  process.env[name] = value;
}

/** `FACEINV_HOME` or `~/.faceinv`. */
export function stateDirFromEnv(): string {
  return envValue('FACEINV_HOME') ?? path.join(os.homedir(), '.faceinv');
}

/** A positive whole number from the variable, undefined when unset; throws naming it when it is not one. */
export function envCount(name: EnvVariable): number | undefined {
  const raw = envValue(name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`environment variable ${name}: expected an integer ≥ 1, got '${raw}'`);
  return n;
}

/** An on/off switch: true for '1', false for '0', undefined otherwise. */
export function envSwitch(name: EnvVariable): boolean | undefined {
  const raw = envValue(name);
  return raw === '1' ? true : raw === '0' ? false : undefined;
}

/** The variable an HTTP encoder's named auth.secret is read from: FACEINV_SECRET_<NAME>, upper case, [^A-Z0-9] → _. */
export function secretVariable(name: string): string {
  return `FACEINV_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The named secret from the environment, undefined when unset. */
export function envSecret(name: string): string | undefined {
  const v = process.env[secretVariable(name)];
  return v === undefined || v === '' ? undefined : v;
}
