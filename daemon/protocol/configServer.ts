/**
 * The editor ↔ config language server channel (LSP, node IPC), beyond the standard diagnostics, hover and
 * code actions: which files are Face Inversion configs, and the custom requests the editor's pickers use so
 * that they list exactly the encoders the daemon will resolve (one registry: daemon/encoders/registry.ts).
 * Each request is one declaration with a `faceinv/…` method, its direction in the doc comment and its
 * payload types.
 */

export type ConfigKind = 'encoder' | 'run' | 'audit';

/** Which config a file is, by name: `*.faceinv-encoder.json` / `models/encoders/*.json`, the run forms, `*.faceinv-audit.json`. */
export function configKindOf(file: string): ConfigKind | undefined {
  const norm = file.replace(/\\/g, '/');
  if (/\.faceinv-encoder\.json$/i.test(norm) || /(^|\/)models\/encoders\/[^/]+\.json$/i.test(norm)) return 'encoder';
  if (/\.faceinv-run\.json$/i.test(norm) || /(^|\/)models\/experiments\/[^/]+\.json$/i.test(norm)) return 'run';
  if (/\.faceinv-audit\.json$/i.test(norm)) return 'audit';
  return undefined;
}

/** One usable encoder config, as a picker shows it. */
export interface EncoderSummary {
  id: string;
  /** Absolute config file. */
  file: string;
  format: string;
  embeddingDim: number;
  description: string;
  /** The route the daemon's judge takes for `"route": "auto"`, and why. */
  route: 'whitebox' | 'blackbox';
  reason: string;
  /** The shipped config this workspace one replaces, when it does. */
  shadows?: string;
  /** An HTTP encoder's `auth.secret`: the name of the editor secret the daemon needs with its jobs. */
  secret?: string;
}

/** editor → server: the encoders a run config of the open workspace can name (shipped + workspace), by id. */
export const ListEncodersRequest = {
  method: 'faceinv/listEncoders',
} as const;
export type ListEncodersParams = Record<string, never>;
export interface ListEncodersResult {
  encoders: EncoderSummary[];
  /** Encoder files that exist but are invalid, with their first problem. */
  invalid: { file: string; problem: string }[];
}
