/** `--backend` / FACEINV_BACKEND handling shared by the commands that compute. */
import { initEngine, parseBackendChoice, EngineInfo } from '../engine/backend';
import type { ParsedArgs } from './args';

export async function initEngineFromFlags(a: ParsedArgs, quiet = false): Promise<EngineInfo> {
  const backend = parseBackendChoice(a.flags.get('backend') ?? process.env.FACEINV_BACKEND ?? 'auto', '--backend');
  const info = await initEngine({ backend, log: quiet ? () => undefined : (m) => console.error(m) });
  if (!quiet) console.error(`backend: ${info.backend} (${info.threads} threads)`);
  return info;
}
