/**
 * The editor ↔ config language server channel (LSP, node IPC), beyond the standard diagnostics, hover and
 * code actions: which files are Face Inversion configs, and the custom requests the editor's pickers use so
 * that they list exactly the encoders the daemon will resolve (one registry: daemon/encoders/registry.ts).
 * Each request is one declaration with a `faceinv/…` method, its direction in the doc comment and its
 * payload types.
 */

export type ConfigKind = 'encoder' | 'run' | 'audit' | 'protect';

/** Which config a file is, by name: `*.faceinv-encoder.json` / `models/encoders/*.json`, the run forms, `*.faceinv-audit.json`, `*.faceinv-protect.json`. */
export function configKindOf(file: string): ConfigKind | undefined {
  const norm = file.replace(/\\/g, '/');
  if (/\.faceinv-encoder\.json$/i.test(norm) || /(^|\/)models\/encoders\/[^/]+\.json$/i.test(norm)) return 'encoder';
  if (/\.faceinv-run\.json$/i.test(norm) || /(^|\/)models\/experiments\/[^/]+\.json$/i.test(norm)) return 'run';
  if (/\.faceinv-audit\.json$/i.test(norm)) return 'audit';
  if (/\.faceinv-protect\.json$/i.test(norm)) return 'protect';
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

/**
 * The dataset settings the editor's daemon runs with (`faceInversion.dataset.*`), so the config checks look
 * for LFW and confine dataset paths exactly as that daemon will.
 */
export interface DatasetSettings {
  /** The LFW folder chosen by the user (FACEINV_LFW of the daemon), '' when none. */
  lfw: string;
  /** More folders the daemon may read (`--data-root`), absolute. */
  dataRoots: string[];
}

/** editor → server (notification): the dataset settings changed (also sent as `initializationOptions.dataset`). */
export const DatasetSettingsNotification = {
  method: 'faceinv/datasetSettings',
  /** Untrusted input normalised: strings only, '' for none. */
  from(value: unknown): DatasetSettings {
    const v = typeof value === 'object' && value !== null ? value as Record<string, unknown> : {};
    return {
      lfw: typeof v.lfw === 'string' ? v.lfw.trim() : '',
      dataRoots: Array.isArray(v.dataRoots) ? v.dataRoots.filter((r): r is string => typeof r === 'string' && r.trim().length > 0).map((r) => r.trim()) : [],
    };
  },
} as const;

/**
 * editor → server: where the editor's daemon would find LFW with the current dataset settings, and, with
 * `folder`, whether that folder can serve as a dataset (the Choose Dataset Folder picker asks before saving).
 */
export const DatasetStatusRequest = {
  method: 'faceinv/datasetStatus',
} as const;
export interface DatasetStatusParams { folder?: string }
export interface DatasetStatusResult {
  /** The LFW folder found, when any. */
  lfw?: string;
  /** Where LFW was looked for, in order. */
  looked: string[];
  /** Why `folder` cannot serve (missing, not a folder, no identity folders with images); absent when it can. */
  folderProblem?: string;
}
