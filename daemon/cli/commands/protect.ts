/**
 * `faceinv protect CONFIG`: evaluate template protection schemes (daemon/protect/run.ts) through the daemon's
 * `protect` job in this process, so the CLI and the editor cannot drift; prints the verdicts and where the
 * report is. Exit 0 when done, 2 for a bad config, 1 on an error.
 */
import * as path from 'node:path';
import { consoleContext } from '../../jobs/consoleContext';
import { loadProtectConfig } from '../../jobs/kinds/protect';
import { ProtectJob } from '../../protocol/jobKinds';
import { runJobKind } from '../../jobs/runInProcess';
import { daemonRoots, setActiveRoots } from '../../security/roots';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

const USAGE = `faceinv protect CONFIG.faceinv-protect.json [options]
  Which template protection scheme keeps a face system accurate and its templates safe? For each scheme of the
  config (BioHashing, IoM-GRP, IoM-URP, PolyProtect, MLP-Hash) and for no protection, on the held-out LFW
  identities: FNMR at the operating points, EER and DET curves with keys secret and with a stolen key;
  stolen-key inversion to faces (and a key-unknown learned attack) scored as SAR type I / II at the protected
  and the unprotected threshold beside the nearest-face baseline; unlinkability D↔sys (Gomez-Barrero et al.
  2018) with its plot; renewability. Writes <out>/report.html and report.json (default protect/<name>).

  --data-root DIR · --workspace DIR · --cache DIR · --backend NAME · --workers N · --json`;

export const command: CliCommand = {
  name: 'protect',
  summary: 'Evaluate template protection schemes (ISO/IEC 30136: accuracy, irreversibility attacked with faces, unlinkability, renewability); a self-contained HTML report comparing them.',
  usage: USAGE,
  async run(args) {
    const a = parseArgs(args, { values: ['workspace', 'cache', 'backend', 'workers', 'data-root'], booleans: ['json'] });
    if (a.positionals.length !== 1) throw new UsageError('give one protection config file (*.faceinv-protect.json)');
    const file = path.resolve(a.positionals[0]);
    try {
      loadProtectConfig(file);
    } catch (err) {
      console.error(`faceinv protect: ${(err as Error).message}`);
      return 2;
    }
    const json = a.booleans.has('json');
    const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
    const extra = (a.flags.get('data-root') ?? '').split(path.delimiter).filter(Boolean).map((d) => path.resolve(workspace, d));
    await initEngineFromFlags(a, json);
    setActiveRoots(daemonRoots({ workspaceDir: workspace, dataRoots: [path.dirname(file), ...extra] }));
    const ctx = consoleContext(workspace, { cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined });
    try {
      const out = await runJobKind(ProtectJob, { config: file, command: `faceinv protect ${args.join(' ')}` }, ctx);
      if (json) console.log(JSON.stringify(out, null, 2));
      else {
        console.log(`\nVerdicts (${(out.seconds / 60).toFixed(1)} min):`);
        for (const v of out.verdicts) console.log(`  ${v}`);
        console.log(`\nreport: ${out.report}\n        ${out.json}`);
      }
      return 0;
    } catch (err) {
      console.error(`faceinv protect: ${(err as Error).message}`);
      return 1;
    } finally {
      ctx.close();
    }
  },
};
