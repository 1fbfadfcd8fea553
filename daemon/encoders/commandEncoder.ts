/**
 * An encoder behind an external process (format "command"): the black-box case where all we have is a
 * program that turns face crops into templates (a vendor SDK, a Python script). One process per `embed`
 * call. Protocol:
 *  - stdin: one JSON header line `{"shape":[N,…],"dtype":"float32","layout":"NHWC"|"NCHW","channelOrder":…}`
 *    then N·prod(shape[1:]) float32 little-endian values: the crops already preprocessed per the config
 *    (normalization, channel order, layout); then stdin closes.
 *  - stdout: JSON `{"embeddings": number[N][embeddingDim]}`; exit code 0.
 * Anything else (non-zero exit, bad JSON, wrong row count or length) is an Error naming the command.
 */
import { spawn } from 'node:child_process';
import type { EncoderConfig } from '../protocol/encoderConfig';
import type { AlignedBatch, Encoder } from './types';
import { checkAlignedBatch, l2NormalizeInPlace, toModelInput } from './preprocess';

export interface CommandEncoderOptions {
  /** Working directory of the process (default: the workspace folder or the current directory). */
  cwd?: string;
  /** Kill the process after this many ms (default 120 000). */
  timeoutMs?: number;
}

export class CommandEncoder implements Encoder {
  readonly id: string;
  readonly dim: number;
  readonly inputSize: number;
  private readonly argv: string[];
  private disposed = false;

  private constructor(private readonly config: EncoderConfig, private readonly opts: CommandEncoderOptions) {
    if (!('command' in config.model)) throw new Error(`encoder "${config.id}": format "command" needs model.command`);
    this.argv = config.model.command;
    this.id = config.id;
    this.dim = config.embeddingDim;
    this.inputSize = config.inputSize;
  }

  /** Starts the command once on a grey dummy face to check that it answers with `embeddingDim` values. */
  static async load(config: EncoderConfig, opts: CommandEncoderOptions = {}): Promise<CommandEncoder> {
    const enc = new CommandEncoder(config, opts);
    const s = config.inputSize;
    const rows = await enc.runRaw(new Float32Array(3 * s * s).fill(0), 1);
    if (rows[0].length !== config.embeddingDim) {
      throw new Error(`${enc.who()}: the command outputs ${rows[0].length} values per face, config embeddingDim is ${config.embeddingDim}`);
    }
    return enc;
  }

  private who(): string {
    return `encoder "${this.id}" (command ${JSON.stringify(this.argv.join(' '))})`;
  }

  private runRaw(data: Float32Array, n: number): Promise<Float32Array[]> {
    const s = this.inputSize;
    const shape = this.config.layout === 'NCHW' ? [n, 3, s, s] : [n, s, s, 3];
    const header = JSON.stringify({ shape, dtype: 'float32', layout: this.config.layout, channelOrder: this.config.channelOrder });
    return new Promise((resolve, reject) => {
      const child = spawn(this.argv[0], this.argv.slice(1), { cwd: this.opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let settled = false;
      const fail = (msg: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new Error(`${this.who()}: ${msg}`));
      };
      const timeoutMs = this.opts.timeoutMs ?? 120_000;
      const timer = setTimeout(() => { child.kill('SIGKILL'); fail(`no answer within ${timeoutMs} ms`); }, timeoutMs);
      child.on('error', (e) => fail(`cannot start: ${e.message}`));
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.stdin.on('error', () => { /* reported through the exit code / output checks */ });
      child.on('close', (code) => {
        if (settled) return;
        const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-5).join('\n');
        if (code !== 0) return fail(`exited with code ${code}${stderr ? `: ${stderr}` : ''}`);
        let parsed: { embeddings?: unknown };
        try {
          parsed = JSON.parse(Buffer.concat(out).toString('utf8')) as { embeddings?: unknown };
        } catch (e) {
          return fail(`stdout is not JSON: ${(e as Error).message}`);
        }
        const rows = parsed.embeddings;
        if (!Array.isArray(rows) || rows.length !== n || !rows.every((r) => Array.isArray(r) && r.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
          return fail(`stdout must be {"embeddings": number[${n}][dim]} with finite numbers`);
        }
        settled = true;
        clearTimeout(timer);
        resolve((rows as number[][]).map((r) => Float32Array.from(r)));
      });
      child.stdin.write(`${header}\n`);
      child.stdin.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  /** The command's own outputs, [N][dim]. */
  async embedRaw(images: AlignedBatch): Promise<Float32Array[]> {
    if (this.disposed) throw new Error(`${this.who()}: used after dispose()`);
    checkAlignedBatch(images, this.inputSize, this.who());
    const prepared = toModelInput(images, this.config);
    const data = (await prepared.data()) as Float32Array;
    prepared.dispose();
    const rows = await this.runRaw(data, images.shape[0]);
    const bad = rows.findIndex((r) => r.length !== this.dim);
    if (bad >= 0) throw new Error(`${this.who()}: row ${bad} has ${rows[bad].length} values, expected ${this.dim}`);
    return rows;
  }

  async embed(images: AlignedBatch): Promise<Float32Array[]> {
    return (await this.embedRaw(images)).map(l2NormalizeInPlace);
  }

  dispose(): void {
    this.disposed = true;
  }
}
