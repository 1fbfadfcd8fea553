/**
 * `faceinv serve-verifier`: a verification service over a shipped encoder and an enrolled store, to rehearse
 * the attacks on what deployed systems expose (issue 25): a score, or only accept / reject. The service itself
 * is daemon/server/verifierService.ts; its wire protocol daemon/protocol/verifierApi.ts. Runs until Ctrl-C.
 */
import * as path from 'node:path';
import { readTemplateStore } from '../../audit/templateStore';
import { openImageDataset } from '../../data/dataset';
import { getEmbeddings } from '../../data/embeddingCache';
import { findEncoderConfig, scopeOf } from '../../encoders/registry';
import { loadEncoder } from '../../encoders/load';
import { tf } from '../../tfjs/tf';
import { DEFAULT_MEMO, startVerifierService, type VerifierService } from '../../server/verifierService';
import { intFlag, numberFlag, parseArgs, type ParsedArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

const USAGE = `faceinv serve-verifier (--templates FILE | --enrol DIR) [options]
  A face verification service to attack: POST /v1/verify { "subject": id, "image": base64 PNG of the aligned
  crop at the encoder's input size } answers { "score" } (the cosine to the subject's template) or, with
  --answer decision, { "accept" }. GET /v1/stats: the service's own query count per subject.

  --templates FILE     enrolled store: a template file the audit reads (.npy, .json, .jsonl, .f32); ids from the file
  --enrol DIR          enrol from photos, one folder per subject (its first photo, through the face pipeline)
  --encoder ID         encoder (default arcface512-faceplugin)
  --answer KIND        score (default) | decision
  --threshold T        decision: accept at cosine ≥ T
  --decimals N         round scores to N decimals        --noise SD   Gaussian noise on scores
  --attempts N         per-subject attempt limit, then 423 Locked
  --rate N             requests per second, then 429     --api-key-env VAR   require x-api-key = $VAR
  --memo N             embeddings kept of the last N distinct images (default 20000; 0: run the encoder on every query)
  --port N (default 8790) · --host H (default 127.0.0.1) · --log FILE (one JSON line per query) · --workspace DIR · --cache DIR`;

export interface ServeVerifierOptions {
  encoder: string; templates?: string; enrol?: string; answer: 'score' | 'decision'; threshold?: number; decimals?: number; noise?: number;
  attempts?: number; rate?: number; apiKey?: string; port: number; host: string; log?: string; workspace: string; cache?: string; memo?: number;
}

export function serveVerifierOptions(a: ParsedArgs, env: NodeJS.ProcessEnv = process.env): ServeVerifierOptions {
  const templates = a.flags.get('templates'), enrol = a.flags.get('enrol');
  if ((templates === undefined) === (enrol === undefined)) throw new UsageError('give exactly one of --templates FILE or --enrol DIR');
  const answer = a.flags.get('answer') ?? 'score';
  if (answer !== 'score' && answer !== 'decision') throw new UsageError(`--answer must be "score" or "decision", got "${answer}"`);
  const opt = (name: string) => (a.flags.has(name) ? numberFlag(a, name, 0) : undefined);
  const threshold = opt('threshold');
  if (answer === 'decision' && threshold === undefined) throw new UsageError('--answer decision needs --threshold');
  const keyVar = a.flags.get('api-key-env');
  const apiKey = keyVar ? env[keyVar] : undefined;
  if (keyVar && !apiKey) throw new UsageError(`--api-key-env names ${keyVar}, which is not set`);
  const workspace = path.resolve(a.flags.get('workspace') ?? process.cwd());
  return {
    encoder: a.flags.get('encoder') ?? 'arcface512-faceplugin', ...(templates ? { templates: path.resolve(workspace, templates) } : {}), ...(enrol ? { enrol: path.resolve(workspace, enrol) } : {}),
    answer, threshold, decimals: a.flags.has('decimals') ? intFlag(a, 'decimals', 0, 0) : undefined, noise: opt('noise'),
    attempts: a.flags.has('attempts') ? intFlag(a, 'attempts', 1) : undefined, rate: opt('rate'), apiKey,
    port: intFlag(a, 'port', 8790, 0), host: a.flags.get('host') ?? '127.0.0.1', log: a.flags.get('log'), workspace, cache: a.flags.get('cache'),
    memo: intFlag(a, 'memo', DEFAULT_MEMO, 0),
  };
}

/** Loads the encoder, enrols the store, starts the service; `dispose` closes both. */
export async function openVerifier(o: ServeVerifierOptions): Promise<VerifierService & { subjects: number }> {
  const entry = findEncoderConfig(o.encoder, scopeOf(o.workspace));
  const enc = await loadEncoder(entry.config, { workspaceDir: o.workspace });
  const enrolled = new Map<string, Float32Array>();
  if (o.templates) {
    const store = readTemplateStore(o.templates, entry.config.embeddingDim, entry.config.id);
    store.ids.forEach((id, r) => { if ((!store.flags[r] || store.flags[r]?.usable) && !enrolled.has(id)) enrolled.set(id, store.vectors.slice(r * store.dim, (r + 1) * store.dim)); });
  } else {
    const set = await getEmbeddings(openImageDataset(o.enrol as string), entry.config.id, { workspaceDir: o.workspace, ...(o.cache ? { cacheDir: o.cache } : {}) });
    set.identities.forEach((id, r) => { if (!enrolled.has(id)) enrolled.set(id, set.embeddings.slice(r * set.dim, (r + 1) * set.dim)); });
  }
  if (!enrolled.size) { enc.dispose(); throw new Error('no subject could be enrolled'); }
  const size = enc.inputSize;
  const embed = async (pixels: Uint8Array) => {
    const x = tf.tidy(() => tf.tensor4d(pixels, [1, size, size, 3], 'int32').toFloat().div(255) as tf.Tensor4D);
    try { return (await enc.embed(x))[0]; } finally { x.dispose(); }
  };
  const service = await startVerifierService({
    embed, size, enrolled, answer: o.answer, threshold: o.threshold, decimals: o.decimals, noise: o.noise, attemptLimit: o.attempts,
    ratePerSecond: o.rate, apiKey: o.apiKey, logFile: o.log, memo: o.memo,
  }, o.port, o.host);
  return { ...service, subjects: enrolled.size, close: async () => { await service.close(); enc.dispose(); } };
}

export const command: CliCommand = {
  name: 'serve-verifier',
  summary: 'A face verification service (score or accept/reject, rounding, noise, attempt limit, API key) over a shipped encoder, to rehearse attacks on it',
  usage: USAGE,
  async run(args) {
    const a = parseArgs(args, { values: ['templates', 'enrol', 'encoder', 'answer', 'threshold', 'decimals', 'noise', 'attempts', 'rate', 'api-key-env', 'port', 'host', 'log', 'workspace', 'cache', 'memo', 'backend'] });
    if (a.positionals.length) throw new UsageError(`unexpected argument "${a.positionals[0]}"`);
    const o = serveVerifierOptions(a);
    await initEngineFromFlags(a, true);
    const v = await openVerifier(o);
    console.log(`verifier: ${v.subjects} subjects enrolled with ${o.encoder}; ${o.answer === 'score' ? `scores${o.decimals !== undefined ? ` rounded to ${o.decimals} decimals` : ''}${o.noise ? `, noise ${o.noise}` : ''}` : `decisions at ${o.threshold}`}${o.attempts ? `; ${o.attempts} attempts per subject` : ''}${o.apiKey ? '; API key required' : ''}`);
    console.log(`listening on ${v.url} (POST /v1/verify, GET /v1/stats); Ctrl-C stops`);
    await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
    const st = v.stats();
    console.log(`stopping: ${st.total} queries answered, the encoder run on ${st.embedded} images`);
    await v.close();
    return 0;
  },
};
