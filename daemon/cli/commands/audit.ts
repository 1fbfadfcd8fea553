/**
 * `faceinv audit`: audit a template store the user owns (daemon/audit/run.ts) from a config file or flags;
 * prints the verdict and where the report is. Exit 0 when every chunk is scored, 3 when the audit paused
 * (the encoder service failed; run again to continue), 1 on an error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { auditConfigFrom, type AuditOverrides } from '../../audit/configFrom';
import type { AuditOutcome } from '../../audit/run';
import { consoleContext } from '../../jobs/consoleContext';
import { runJobKind } from '../../jobs/runInProcess';
import { intFlag, parseArgs, type ParsedArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';
import { ErrorCode, ProtocolError } from '../../protocol/message';
import { daemonRoots, setActiveRoots } from '../../security/roots';
import { AuditJob } from '../../protocol/jobKinds';
import { SEARCH_METHODS } from '../../protocol/runConfig';
import { parseQueueUrl } from '../../audit/queue';

const USAGE = `faceinv audit [CONFIG.faceinv-audit.json] [--encoder ID --templates FILE] [options]
  Can the templates of FILE be turned back into faces that encoder ID's system accepts, and how much better than a
  lookalike? Judges the route, calibrates the thresholds on a labelled reference set, inverts every template,
  scores each reconstruction against its own template (direct and re-detected) beside the nearest reference photo.

  --encoder ID              encoder config that made the templates (onnx, command or http)
  --templates FILE          .npy, .json, .jsonl or raw float32 (.f32/.bin)
  --reference DIR|lfw       labelled photos, a folder per person (default: LFW where found)
  --reference-split S       use one side of a seeded identity split: train|test[:SEED[:TEST_FRACTION]]
  --route auto|blackbox|whitebox        (default auto: the judge decides)
  --budget QUERIES          black box: encoder queries per template (default 100)
  --search zeroth-order|genetic|secant|none
                                        black-box search (default zeroth-order)
  --transfer ENCODER=FILE   also score with a second system, FILE = its templates of the same people
  --out DIR                 audit folder (default audits/<name>); --name NAME
  --chunk-size N            templates per resumable chunk (default 256)
  --on-encoder-error pause|continue     when the service fails as a whole (default pause)
  --operating-points LIST   FMRs, e.g. 1e-3,1e-4,1e-5 (default)
  --keep-images N           reconstructions kept as PNG (default 1000, a seeded sample)
  --data-root DIR[${path.delimiter}DIR…]  more folders the audit may read and write (paths named inside the config file);
                            the folders of the files named on this command line are allowed without it
  --sample N                audit a seeded random sample of N templates; the verdict gives its interval (default for a
                            store above 5,000 templates: a sample that answers in about an hour, said at the start)
  --all                     invert every template, however large the store
  --margin M                the ±M (95 %) the verdict says the sample size for (default 0.02)
  --queue redis://HOST:PORT put the chunks on a BullMQ queue; "faceinv worker" (same config or flags) on any
                            number of machines takes them; this process writes the results and the report
  --seed N · --overwrite · --retry-failed · --max-chunks N · --workspace DIR · --cache DIR · --backend NAME · --workers N · --json

  A killed or paused audit continues where it stopped when run again with the same settings. HTTP encoders read an
  auth.env variable, or for auth.secret the variable FACEINV_SECRET_<NAME> (the editor hands secrets over itself).
  Writes <out>/report.html (self-contained), report.json and templates.csv.`;

export function overridesOf(a: ParsedArgs): AuditOverrides {
  const num = (name: string) => (a.flags.has(name) ? intFlag(a, name, 0, 0) : undefined);
  const transfer = a.flags.get('transfer');
  let t: AuditOverrides['transfer'];
  if (transfer !== undefined) {
    t = transfer.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
      const eq = x.indexOf('=');
      const templates = eq >= 0 ? x.slice(eq + 1) : a.flags.get('transfer-templates');
      if (!templates) throw new UsageError(`--transfer ${x}: name that system's templates as ENCODER=FILE (or --transfer-templates FILE)`);
      return { encoder: eq >= 0 ? x.slice(0, eq) : x, templates };
    });
  }
  const points = a.flags.get('operating-points');
  const fmrs = points?.split(',').map((x) => Number(x.trim()));
  if (fmrs?.some((f) => !(f > 0 && f < 1))) throw new UsageError(`--operating-points ${points}: each must be a false match rate in (0, 1), e.g. 1e-3,1e-4`);
  const budget = a.flags.get('budget');
  if (budget !== undefined && !(Number.isInteger(Number(budget)) && Number(budget) >= 1)) throw new UsageError(`--budget must be a whole number of queries ≥ 1, got "${budget}"`);
  return {
    name: a.flags.get('name'), encoder: a.flags.get('encoder'), templates: a.flags.get('templates'), reference: a.flags.get('reference'),
    referenceSplit: a.flags.get('reference-split'), route: a.flags.get('route'), budget: budget === undefined ? undefined : Number(budget),
    search: a.flags.get('search'), transfer: t, out: a.flags.get('out'), chunkSize: num('chunk-size'), onEncoderError: a.flags.get('on-encoder-error'),
    operatingPoints: fmrs, keepImages: num('keep-images'), seed: num('seed'), sample: sampleOf(a), margin: marginOf(a),
  };
}

/** --sample N or --all (not both). */
function sampleOf(a: ParsedArgs): number | 'all' | undefined {
  if (a.booleans.has('all') && a.flags.has('sample')) throw new UsageError('give --sample N or --all, not both');
  if (a.booleans.has('all')) return 'all';
  return a.flags.has('sample') ? intFlag(a, 'sample', 1, 1) : undefined;
}

function marginOf(a: ParsedArgs): number | undefined {
  const m = a.flags.get('margin');
  if (m === undefined) return undefined;
  const v = Number(m);
  if (!(v > 0 && v <= 0.5)) throw new UsageError(`--margin must be a half-width in (0, 0.5], e.g. 0.02, got "${m}"`);
  return v;
}

/**
 * Folders a local audit may use besides the workspace: those of the files named on the command line (config,
 * templates, transfer templates, reference, out) and the --data-root list; each must exist.
 */
export function localDataRoots(file: string | undefined, o: AuditOverrides, dataRoot: string | undefined, workspace: string): string[] {
  const named = [file, o.templates, ...(o.transfer ?? []).map((t) => t.templates)].filter((p): p is string => !!p).map((p) => path.dirname(path.resolve(workspace, p)));
  if (o.reference && o.reference !== 'lfw') named.push(path.resolve(workspace, o.reference));
  if (o.out) named.push(path.dirname(path.resolve(workspace, o.out)));
  const given = (dataRoot ?? '').split(path.delimiter).filter(Boolean).map((d) => path.resolve(workspace, d));
  for (const d of given) if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) throw new UsageError(`--data-root ${d}: no such folder`);
  return [...new Set([...given, ...named.filter((d) => fs.existsSync(d))])];
}

/** A flag's value when it is one of `allowed` (undefined when unset); a usage error naming them when not. */
function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T | undefined {
  if (value === undefined) return undefined;
  const hit = allowed.find((x) => x === value);
  if (hit === undefined) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return hit;
}

/** The audit's flags that take a value, shared with `faceinv worker` (which must build the same audit). */
export const AUDIT_VALUE_FLAGS = ['encoder', 'templates', 'reference', 'reference-split', 'route', 'budget', 'search', 'transfer', 'transfer-templates', 'out', 'name',
  'chunk-size', 'on-encoder-error', 'operating-points', 'keep-images', 'seed', 'workspace', 'cache', 'backend', 'workers', 'data-root', 'sample', 'margin', 'queue'];

export const command: CliCommand = {
  name: 'audit',
  summary: 'Audit a template store you own: can its templates be inverted into faces your system accepts (ISO/IEC 30136), beside a lookalike baseline; a self-contained HTML report.',
  usage: USAGE,
  async run(args) {
    const a = parseArgs(args, {
      values: [...AUDIT_VALUE_FLAGS, 'max-chunks'],
      booleans: ['overwrite', 'retry-failed', 'json', 'all'],
    });
    if (a.positionals.length > 1) throw new UsageError('give at most one audit config file');
    const file = a.positionals[0] ? path.resolve(a.positionals[0]) : undefined;
    if (!file && (!a.flags.has('encoder') || !a.flags.has('templates'))) throw new UsageError('give an audit config file, or --encoder and --templates');
    let o: AuditOverrides;
    try {
      // Checked before the engine starts, so a bad config or flag exits 2 at once (the job checks it again).
      o = overridesOf(a);
      auditConfigFrom(file, o);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      console.error(`faceinv audit: ${(err as Error).message}`);
      return 2;
    }
    const json = a.booleans.has('json');
    const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
    const dataRoots = localDataRoots(file, o, a.flags.get('data-root'), workspace);
    await initEngineFromFlags(a, json);
    // Path confinement protects a daemon from its clients; here the user runs the audit on their own files, so the
    // folders of the files they named (and --data-root) are allowed as data roots of this process.
    setActiveRoots(daemonRoots({ workspaceDir: workspace, dataRoots }));
    const ctx = consoleContext(workspace, { cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined });
    try {
      // The daemon's audit job in this process (jobs/runInProcess.ts), so the CLI and the editor's audit cannot drift.
      // A config file, or an encoder and its templates (checked above).
      const source = file !== undefined ? { config: file, encoder: o.encoder, templates: o.templates }
        : o.encoder !== undefined && o.templates !== undefined ? { encoder: o.encoder, templates: o.templates } : undefined;
      if (!source) throw new UsageError('give an audit config file, or --encoder and --templates');
      const queueFlag = a.flags.get('queue');
      const queue = queueFlag === undefined ? undefined : parseQueueUrl(queueFlag);
      const out = await runJobKind(AuditJob, {
        ...source, name: o.name, reference: o.reference, referenceSplit: o.referenceSplit,
        route: oneOf(o.route, ['auto', 'whitebox', 'blackbox'] as const, '--route'), budget: o.budget, transfer: o.transfer, out: o.out,
        search: oneOf(o.search, SEARCH_METHODS, '--search'), chunkSize: o.chunkSize,
        onEncoderError: oneOf(o.onEncoderError, ['pause', 'continue'] as const, '--on-encoder-error'), operatingPoints: o.operatingPoints, keepImages: o.keepImages, seed: o.seed,
        overwrite: a.booleans.has('overwrite') || undefined, retryFailed: a.booleans.has('retry-failed') || undefined,
        maxChunks: a.flags.has('max-chunks') ? intFlag(a, 'max-chunks', 1, 1) : undefined, sample: o.sample, margin: o.margin,
        ...(queue ? { queue } : {}),
        command: `faceinv audit ${args.map((x) => (/\s/.test(x) ? JSON.stringify(x) : x)).join(' ')}`,
      }, ctx);
      const report = JSON.parse(fs.readFileSync(out.json, 'utf8')) as AuditOutcome['report'];
      const files = { html: out.report, json: out.json, csv: out.csv };
      if (json) console.log(JSON.stringify({ state: out.state, auditDir: out.auditDir, files, report }, null, 2));
      else {
        const v = report.verdicts;
        console.log(`\n${out.state === 'finished' ? 'Verdict' : `Verdict so far (${out.state}: ${out.stopReason})`} — ${report.encoder.id}, re-detected:`);
        for (const p of v.find((x) => !x.transfer && x.protocol === 'redetect')?.points ?? []) console.log(`  ${p.sentence}`);
        for (const t of v.filter((x) => x.transfer && x.protocol === 'redetect')) for (const p of t.points.filter((q) => q.attainable)) console.log(`  transfer: ${p.sentence}`);
        if (report.sample) console.log(`\n${report.sample.sentence}`);
        if (report.workers && report.workers.some((w) => w.name !== 'this process')) console.log(`\n${report.workers.length} worker(s): ${report.workers.map((w) => `${w.name} ${w.chunks} chunks, ${w.templates} templates, ${w.seconds.toFixed(0)} s`).join('; ')}`);
        console.log(`\nreport: ${files.html}\n        ${files.json}\n        ${files.csv}`);
      }
      return out.state === 'paused' ? 3 : 0;
    } catch (err) {
      const e = err as Error & { code?: number };
      // The confinement message speaks of the daemon's flag; in a shell the fix is this command's own flag.
      const msg = e instanceof ProtocolError && e.code === ErrorCode.PathNotAllowed
        ? e.message.replace(/add its folder with "faceinv daemon --data-root DIR"/, 'add its folder with --data-root DIR')
        : e.message;
      console.error(`faceinv audit: ${msg}`);
      return 1;
    } finally {
      ctx.close();
    }
  },
};
