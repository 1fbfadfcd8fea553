/**
 * `audit`: audit a template store (daemon/audit/run.ts) from an audit config file and/or fields, as
 * `faceinv audit` does (the CLI runs this job in process). Secrets for HTTP encoders (`auth.secret`) come with the params from the editor's
 * secret storage; the queue keeps params in memory only (job info and logs never carry them).
 */
import * as path from 'node:path';
import { Type } from '@sinclair/typebox';
import { auditConfigFrom } from '../../audit/configFrom';
import { auditDirOf, runAudit } from '../../audit/run';
import { resolveDatasetPath } from '../../config/datasetPath';
import { confinePath } from '../../security/paths';
import { activeRoots } from '../../security/roots';
import { defineJobKind } from '../defineJobKind';

const PathParam = Type.String({ minLength: 1, maxLength: 4096 });

const AuditFields = {
    config: Type.Optional(PathParam),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    encoder: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    templates: Type.Optional(PathParam),
    reference: Type.Optional(PathParam),
    referenceSplit: Type.Optional(Type.String({ maxLength: 40 })),
    route: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('whitebox'), Type.Literal('blackbox')])),
    budget: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    transfer: Type.Optional(Type.Array(Type.Object({ encoder: Type.String({ minLength: 1, maxLength: 100 }), templates: PathParam }, { additionalProperties: false }), { maxItems: 8 })),
    out: Type.Optional(PathParam),
    search: Type.Optional(Type.Union([Type.Literal('zeroth-order'), Type.Literal('genetic'), Type.Literal('none')])),
    chunkSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    onEncoderError: Type.Optional(Type.Union([Type.Literal('pause'), Type.Literal('continue')])),
    operatingPoints: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), { minItems: 1, maxItems: 8 })),
    keepImages: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000 })),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    overwrite: Type.Optional(Type.Boolean()),
    retryFailed: Type.Optional(Type.Boolean()),
    /** Stop after this many chunks in this session (trial runs, tests). */
    maxChunks: Type.Optional(Type.Integer({ minimum: 1 })),
    /** The command line that asked for the audit, for the report's "reproduce" section. */
    command: Type.Optional(Type.String({ maxLength: 4096 })),
    /** HTTP encoders' auth.secret values by name; held in memory for this job only. */
    secrets: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.String({ maxLength: 16384 }))),
};

export const auditJob = defineJobKind({
  kind: 'audit',
  summary: 'Audit a template store: invert every template, score each against its own template at FMR 1e-3…1e-5 beside the nearest-reference-photo baseline; a self-contained HTML report.',
  // Either an audit config file or an encoder and its templates: a submission with neither is refused by
  // its schema before it is queued.
  params: Type.Union([
    Type.Object({ ...AuditFields, config: PathParam }, { additionalProperties: false }),
    Type.Object({ ...AuditFields, encoder: Type.String({ minLength: 1, maxLength: 100 }), templates: PathParam }, { additionalProperties: false }),
  ]),
  label: (p) => `audit ${path.basename(p.config ?? p.templates ?? 'templates')}`,
  async run(p, ctx) {
    if (!p.config && (!p.encoder || !p.templates)) throw new Error('audit: give an audit config file, or encoder and templates');
    const roots = activeRoots(ctx.workspaceDir).all;
    const file = p.config ? confinePath(path.resolve(ctx.workspaceDir, p.config), roots, 'audit params.config') : undefined;
    const config = auditConfigFrom(file, {
      name: p.name, encoder: p.encoder, templates: p.templates, reference: p.reference, referenceSplit: p.referenceSplit, route: p.route,
      budget: p.budget, transfer: p.transfer, out: p.out, search: p.search, chunkSize: p.chunkSize, onEncoderError: p.onEncoderError,
      operatingPoints: p.operatingPoints, keepImages: p.keepImages, seed: p.seed,
    });
    // Every path the config names stays inside the daemon's roots, as for run configs (daemon/jobs/confine.ts).
    confinePath(path.resolve(ctx.workspaceDir, config.templates), roots, 'audit templates');
    for (const [k, t] of config.transfer.entries()) confinePath(path.resolve(ctx.workspaceDir, t.templates), roots, `audit transfer[${k}].templates`);
    confinePath(resolveDatasetPath(config.reference.path, ctx.workspaceDir), roots, 'audit reference.path');
    confinePath(auditDirOf(config, ctx.workspaceDir), roots, 'audit outDir');
    const out = await runAudit(config, ctx, {
      overwrite: p.overwrite, retryFailed: p.retryFailed, maxChunks: p.maxChunks, cacheDir: ctx.cacheDir, workers: ctx.workers,
      ...(p.secrets ? { secrets: p.secrets } : {}), command: p.command ?? `faceinv audit${file ? ` ${file}` : ''} (from the editor)`,
    });
    const main = out.report.verdicts.find((v) => !v.transfer && v.protocol === 'redetect');
    return {
      state: out.state, auditDir: out.auditDir, report: out.files.html, json: out.files.json, csv: out.files.csv,
      ...(out.stopReason ? { stopReason: out.stopReason } : {}),
      verdict: main?.points.map((q) => q.sentence) ?? [],
    };
  },
});
