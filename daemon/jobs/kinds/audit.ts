/**
 * `audit`: audit a template store (daemon/audit/run.ts) from an audit config file and/or fields, as
 * `faceinv audit` does (the CLI runs this job in process). Secrets for HTTP encoders (`auth.secret`) come with the params from the editor's
 * secret storage; the queue keeps params in memory only (job info and logs never carry them).
 */
import * as path from 'node:path';
import { AuditJob } from '../../protocol/jobKinds';
import { auditConfigFrom } from '../../audit/configFrom';
import { auditDirOf, runAudit } from '../../audit/run';
import { resolveDatasetPath } from '../../config/datasetPath';
import { confinePath } from '../../security/paths';
import { activeRoots } from '../../security/roots';
import { defineJobKind } from '../defineJobKind';

export const auditJob = defineJobKind(AuditJob, {
  summary: 'Audit a template store: invert every template, score each against its own template at FMR 1e-3…1e-5 beside the nearest-reference-photo baseline; a self-contained HTML report.',
  label: (p) => `audit ${path.basename(p.config ?? p.templates ?? 'templates')}`,
  async run(p, ctx) {
    if (!p.config && (!p.encoder || !p.templates)) throw new Error('audit: give an audit config file, or encoder and templates');
    const roots = activeRoots(ctx.workspaceDir).all;
    const file = p.config ? confinePath(path.resolve(ctx.workspaceDir, p.config), roots, 'audit params.config') : undefined;
    const config = auditConfigFrom(file, {
      name: p.name, encoder: p.encoder, templates: p.templates, reference: p.reference, referenceSplit: p.referenceSplit, route: p.route,
      budget: p.budget, transfer: p.transfer, out: p.out, search: p.search, chunkSize: p.chunkSize, onEncoderError: p.onEncoderError,
      operatingPoints: p.operatingPoints, keepImages: p.keepImages, seed: p.seed, sample: p.sample, margin: p.margin,
    });
    // Every path the config names stays inside the daemon's roots, as for run configs (daemon/jobs/confine.ts).
    confinePath(path.resolve(ctx.workspaceDir, config.templates), roots, 'audit templates');
    for (const [k, t] of config.transfer.entries()) confinePath(path.resolve(ctx.workspaceDir, t.templates), roots, `audit transfer[${k}].templates`);
    if (config.protection) {
      confinePath(path.resolve(ctx.workspaceDir, config.protection.config), roots, 'audit protection.config');
      confinePath(path.resolve(ctx.workspaceDir, config.protection.keys), roots, 'audit protection.keys');
    }
    confinePath(resolveDatasetPath(config.reference.path, ctx.workspaceDir), roots, 'audit reference.path');
    confinePath(auditDirOf(config, ctx.workspaceDir), roots, 'audit outDir');
    const out = await runAudit(config, ctx, {
      overwrite: p.overwrite, retryFailed: p.retryFailed, maxChunks: p.maxChunks, cacheDir: ctx.cacheDir, workers: ctx.workers, ...(p.queue ? { queue: p.queue } : {}),
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
