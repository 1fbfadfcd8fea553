/**
 * An audit config from its three sources, in one place for the CLI and the daemon's `audit` job: a
 * `*.faceinv-audit.json` file (optional), then the flags or job params that override its fields, then the
 * schema's defaults (daemon/protocol/auditConfig.ts). JSON and schema problems are one Error naming the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertAuditConfig, type AuditConfig, type TransferConfig } from '../protocol/auditConfig';

export interface AuditOverrides {
  name?: string;
  encoder?: string;
  templates?: string;
  reference?: string;
  /** "train" | "test", optionally ":seed[:testFraction]". */
  referenceSplit?: string;
  route?: string;
  budget?: number;
  search?: string;
  transfer?: TransferConfig[];
  out?: string;
  chunkSize?: number;
  onEncoderError?: string;
  operatingPoints?: number[];
  keepImages?: number;
  seed?: number;
  /** Templates to sample, or "all". */
  sample?: number | 'all';
  margin?: number;
}

export function readAuditConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read audit config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new Error(`audit config ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** "train", "test:3", "train:0:0.2" → the reference split. */
export function parseReferenceSplit(v: string): { use: 'train' | 'test'; seed: number; testFraction: number } {
  const [use, seed, frac] = v.split(':');
  if (use !== 'train' && use !== 'test') throw new Error(`reference split "${v}": expected train or test, optionally :SEED[:TEST_FRACTION] (e.g. train:0:0.2)`);
  const s = seed === undefined ? 0 : Number(seed);
  const f = frac === undefined ? 0.2 : Number(frac);
  if (!Number.isInteger(s) || s < 0) throw new Error(`reference split "${v}": the seed must be an integer ≥ 0`);
  if (!(f > 0 && f < 1)) throw new Error(`reference split "${v}": the test fraction must be in (0, 1)`);
  return { use, seed: s, testFraction: f };
}

/** A name for an audit of `templates` when none is given: the file's base name, made safe. */
export function defaultAuditName(templates: string): string {
  const base = path.basename(templates).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return `audit-${base || 'templates'}`.slice(0, 100);
}

export function auditConfigFrom(file: string | undefined, o: AuditOverrides): AuditConfig {
  const base: Record<string, unknown> = file ? readAuditConfigFile(file) : {};
  const v: Record<string, unknown> = { ...base };
  const set = (k: string, x: unknown) => { if (x !== undefined) v[k] = x; };
  set('encoder', o.encoder);
  set('templates', o.templates);
  set('route', o.route);
  set('budget', o.budget);
  set('outDir', o.out);
  set('chunkSize', o.chunkSize);
  set('onEncoderError', o.onEncoderError);
  set('operatingPoints', o.operatingPoints);
  set('keepImages', o.keepImages);
  set('seed', o.seed);
  set('sample', o.sample);
  set('margin', o.margin);
  if (o.transfer?.length) v.transfer = o.transfer;
  if (o.search !== undefined) v.search = { ...((base.search as object | undefined) ?? {}), method: o.search };
  if (o.reference !== undefined || o.referenceSplit !== undefined) {
    const ref: Record<string, unknown> = { ...((base.reference as object | undefined) ?? {}) };
    if (o.reference !== undefined) ref.path = o.reference;
    if (o.referenceSplit !== undefined) ref.split = parseReferenceSplit(o.referenceSplit);
    v.reference = ref;
  }
  v.name = o.name ?? base.name ?? (typeof v.templates === 'string' ? defaultAuditName(v.templates) : undefined);
  return assertAuditConfig(v, file ?? 'audit flags');
}
