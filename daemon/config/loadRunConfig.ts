/** Reads a run config file: JSON errors and schema problems become one Error naming the file. */
import * as fs from 'node:fs';
import { assertRunConfig, RunConfig } from '../protocol/runConfig';

export function loadRunConfig(file: string): RunConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read run config ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`run config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return assertRunConfig(value, file);
}
