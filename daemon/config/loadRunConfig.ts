/** Reads a run config file: JSON errors and schema problems become one Error naming the file. */
import * as fs from 'node:fs';
import { assertRunConfig, RunConfig } from '../protocol/runConfig';
import { isPlainObject } from '../protocol/json';

function readJsonFile(file: string): unknown {
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
  return value;
}

/** The file's JSON as written (no defaults filled): what a tool that rewrites the file starts from. */
export function readRunConfigJson(file: string): Record<string, unknown> {
  const value = readJsonFile(file);
  if (!isPlainObject(value)) throw new Error(`run config ${file} is not a JSON object`);
  return value;
}

export function loadRunConfig(file: string): RunConfig {
  return assertRunConfig(readJsonFile(file), file);
}
