/**
 * `faceinv schemas [--check] [--dir DIR]`: writes the config JSON schemas generated from their TypeBox
 * sources (daemon/config/schemaFiles.ts) into models/schemas, or with --check exits 1 when a file is stale.
 */
import { CliCommand } from '../command';
import { parseArgs } from '../args';
import { defaultSchemaDir, staleSchemaFiles, writeSchemaFiles } from '../../config/schemaFiles';

export const command: CliCommand = {
  name: 'schemas',
  summary: 'Write (or --check) the config JSON schemas in models/schemas',
  usage: 'Usage: faceinv schemas [--check] [--dir DIR]\n\n' +
    '  --check     do not write; exit 1 if a schema file is missing or differs from its TypeBox source\n' +
    '  --dir DIR   schema folder (default: models/schemas of this installation)',
  async run(args: string[]): Promise<number> {
    const parsed = parseArgs(args, { values: ['dir'], booleans: ['check'] });
    const dir = parsed.flags.get('dir') ?? defaultSchemaDir();
    if (parsed.booleans.has('check')) {
      const stale = staleSchemaFiles(dir);
      for (const s of stale) console.error(`${s.file}: ${s.reason} from the generated schema; run "faceinv schemas"`);
      if (stale.length === 0) console.log(`schemas in ${dir} are up to date`);
      return stale.length === 0 ? 0 : 1;
    }
    for (const file of writeSchemaFiles(dir)) console.log(`wrote ${file}`);
    return 0;
  },
};
