/**
 * The JSON schemas in models/schemas are generated from the TypeBox sources: this test fails when they drift
 * (fix: `node bin/faceinv.js schemas`), and validates every shipped encoder config against its schema.
 */
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Ajv from 'ajv';
import { SCHEMA_FILES, defaultSchemaDir, schemaText, staleSchemaFiles, writeSchemaFiles } from '../../../daemon/config/schemaFiles';
import { validateEncoderConfig } from '../../../daemon/protocol/encoderConfig';
import { command as schemasCommand } from '../../../daemon/cli/commands/schemas';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const ENCODER_DIR = path.join(REPO, 'models', 'encoders');

describe('config schema files', () => {
  it('models/schemas matches the TypeBox sources (run "faceinv schemas" if this fails)', () => {
    assert.strictEqual(defaultSchemaDir(), path.join(REPO, 'models', 'schemas'));
    for (const { file, schema } of SCHEMA_FILES) {
      const target = path.join(REPO, 'models', 'schemas', file);
      assert.ok(fs.existsSync(target), `${target} is missing`);
      assert.strictEqual(fs.readFileSync(target, 'utf8'), schemaText(schema), `${target} differs from its TypeBox source`);
    }
    assert.deepStrictEqual(staleSchemaFiles(), []);
  });

  it('every shipped encoder config passes the written schema (plain ajv) and the semantic checks', () => {
    const files = fs.readdirSync(ENCODER_DIR).filter((f) => f.endsWith('.json'));
    assert.ok(files.length >= 4, `expected the four shipped encoders, found ${files.join(', ')}`);
    const schema = JSON.parse(fs.readFileSync(path.join(REPO, 'models', 'schemas', 'encoder.schema.json'), 'utf8')) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    const check = ajv.compile(schema);
    for (const f of files) {
      const value = JSON.parse(fs.readFileSync(path.join(ENCODER_DIR, f), 'utf8')) as unknown;
      assert.ok(check(value), `${f}: ${JSON.stringify(check.errors)}`);
      assert.deepStrictEqual(validateEncoderConfig(value, f), [], f);
      assert.strictEqual((value as { id: string }).id, f.replace(/\.json$/, ''), `${f}: id should match the file name`);
    }
  });

  it('writeSchemaFiles + staleSchemaFiles detect a hand-edited or missing file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceinv-schemas-'));
    try {
      assert.strictEqual(staleSchemaFiles(dir)[0]?.reason, 'missing');
      writeSchemaFiles(dir);
      assert.deepStrictEqual(staleSchemaFiles(dir), []);
      const f = path.join(dir, 'encoder.schema.json');
      fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('"inputSize"', '"inputSizeX"'));
      assert.deepStrictEqual(staleSchemaFiles(dir).map((s) => s.reason), ['differs']);
      const log = console.log; const err = console.error;
      console.log = () => undefined; console.error = () => undefined;
      try {
        assert.strictEqual(await schemasCommand.run(['--check', '--dir', dir]), 1);
        assert.strictEqual(await schemasCommand.run(['--dir', dir]), 0);
        assert.strictEqual(await schemasCommand.run(['--check', '--dir', dir]), 0);
      } finally {
        console.log = log; console.error = err;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
