import * as path from 'node:path';
import { readRunConfigJson } from '../../config/loadRunConfig';
import { consoleContext } from '../../jobs/consoleContext';
import { writeFileAtomic } from '../../runs/runFolder';
import { GRID_NAMES, isGridName } from '../../attack/tune/grid';
import { tuneRunConfig } from '../../attack/tune/tune';
import { MIN_VALIDATION_IDENTITIES } from '../../attack/tune/validationCarve';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

/** "512,1024" → sizes; UsageError naming the bad item. */
function parseComponents(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const out = raw.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bad = out.find((k) => !(Number.isInteger(k) && k >= 2 && k <= 4096));
  if (bad !== undefined || !out.length) throw new UsageError(`--components: expected sizes like 512,1024 (integers 2–4096), got "${raw}"`);
  return out;
}

export const command: CliCommand = {
  name: 'tune',
  summary: "Choose a run config's zeroth-order search settings for its attacked encoder on a validation split of the training identities (never the test ones); write the tuned config.",
  usage: `faceinv tune CONFIG [--targets N] [--queries Q] [--grid ${GRID_NAMES.join('|')}] [--components K,…] [--out FILE] [--workspace DIR] [--cache DIR] [--workers N] [--backend NAME]
  A share of the config's training identities (split.validationFraction, else 10 %) is held out; the face model,
  the ridge start and the surrogate's map are fitted on the rest; N validation photos (default 64) are attacked
  with Q queries each (default: the config's search.queries) once per grid point (small: the config's settings
  and one step either way per axis; full: three values per axis), and the points are ranked by the attacked
  encoder's mean cosine. The surrogate is the config's, else the first usable one (none usable: queries only).
  Needs at least ${MIN_VALIDATION_IDENTITIES} validation identities. Prints a markdown table; --out writes the
  config with the best settings and a "tuned" record (the input file is never overwritten unless named).`,
  async run(args) {
    const a = parseArgs(args, { values: ['targets', 'queries', 'grid', 'components', 'out', 'workspace', 'cache', 'workers', 'backend'], booleans: [] });
    if (a.positionals.length !== 1) throw new UsageError('give exactly one run config file');
    const grid = a.flags.get('grid') ?? 'small';
    if (!isGridName(grid)) throw new UsageError(`--grid must be ${GRID_NAMES.join(' or ')}, got "${grid}"`);
    const targets = intFlag(a, 'targets', 64, 1);
    const queries = a.flags.has('queries') ? intFlag(a, 'queries', 0, 1) : undefined;
    const components = parseComponents(a.flags.get('components'));
    await initEngineFromFlags(a);
    const file = path.resolve(a.positionals[0]);
    const workspaceDir = path.resolve(a.flags.get('workspace') ?? process.cwd());
    const ctx = consoleContext(workspaceDir, { cacheDir: a.flags.get('cache') });
    try {
      const out = await tuneRunConfig(readRunConfigJson(file), file, {
        targets, grid, workspaceDir, cacheDir: a.flags.get('cache'), workers: a.flags.has('workers') ? intFlag(a, 'workers', 0, 0) : undefined,
        signal: ctx.signal, log: (level, m) => ctx.log(level, m), command: `faceinv tune ${args.join(' ')}`,
        ...(queries !== undefined ? { queries } : {}), ...(components ? { components } : {}),
      });
      console.log(out.table);
      console.log(`\nsurrogate: ${out.record.surrogate}\nbest: ${JSON.stringify(out.best)}`);
      const dest = a.flags.get('out');
      if (dest) {
        writeFileAtomic(path.resolve(dest), `${JSON.stringify(out.config, null, 2)}\n`);
        console.log(`tuned config written to ${dest}`);
      }
    } finally {
      ctx.close();
    }
    return 0;
  },
};
