/**
 * Every config JSON schema the project writes to `models/schemas/`, generated from the TypeBox sources so
 * editors (and the config language server) validate the same shapes the daemon does. Add a row per schema.
 * `faceinv schemas [--check]` writes or checks them; `test/unit/config/schemas.test.ts` fails on drift.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EncoderConfigSchema } from '../protocol/encoderConfig';
import { RunConfigFileSchema } from '../protocol/runConfig';
import { AuditConfigFileSchema } from '../protocol/auditConfig';
import { ProtectConfigFileSchema } from '../protocol/protectConfig';

export interface SchemaFile {
  /** File name inside the schema folder, e.g. `encoder.schema.json`. */
  readonly file: string;
  /** The JSON schema object (TypeBox schemas are plain JSON schema). */
  readonly schema: object;
}

export const SCHEMA_FILES: SchemaFile[] = [
  { file: 'encoder.schema.json', schema: EncoderConfigSchema },
  { file: 'run.schema.json', schema: RunConfigFileSchema },
  { file: 'audit.schema.json', schema: AuditConfigFileSchema },
  { file: 'protect.schema.json', schema: ProtectConfigFileSchema },
];

/** Folder the shipped schemas live in: `<repo>/models/schemas` (this file is `out/daemon/config/*.js`). */
export function defaultSchemaDir(): string {
  return path.resolve(__dirname, '..', '..', '..', 'models', 'schemas');
}

/** The exact text written for a schema (stable key order from the TypeBox source, 2-space indent, newline). */
export function schemaText(schema: object): string {
  // JSON.stringify drops TypeBox's symbol-keyed metadata ([Kind], [OptionalKind]); only JSON schema remains.
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...schema }, null, 2)}\n`;
}

/** Writes every schema file into `dir`; returns the paths written. */
export function writeSchemaFiles(dir: string = defaultSchemaDir()): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return SCHEMA_FILES.map(({ file, schema }) => {
    const target = path.join(dir, file);
    fs.writeFileSync(target, schemaText(schema));
    return target;
  });
}

/** Lists schema files in `dir` that are missing or differ from the generated text. */
export function staleSchemaFiles(dir: string = defaultSchemaDir()): { file: string; reason: 'missing' | 'differs' }[] {
  const stale: { file: string; reason: 'missing' | 'differs' }[] = [];
  for (const { file, schema } of SCHEMA_FILES) {
    const target = path.join(dir, file);
    if (!fs.existsSync(target)) stale.push({ file: target, reason: 'missing' });
    else if (fs.readFileSync(target, 'utf8') !== schemaText(schema)) stale.push({ file: target, reason: 'differs' });
  }
  return stale;
}
