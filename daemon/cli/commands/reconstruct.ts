import * as path from 'node:path';
import { loadDecoderModel } from '../../decoder/decoderModel';
import { decodeEmbeddings, writeReconstructions } from '../../decoder/reconstruct';
import { l2NormalizeRows, readEmbeddingsFile } from '../../io/embeddingsFile';
import { intFlag, parseArgs } from '../args';
import { CliCommand, UsageError } from '../command';
import { initEngineFromFlags } from '../engineFlags';

export const command: CliCommand = {
  name: 'reconstruct',
  summary: 'Decode embeddings into face images with a trained black-box decoder (PNGs + HTML contact sheet).',
  usage: `faceinv reconstruct --model MODEL_OR_RUN_DIR --embeddings FILE [--dim N] [--out DIR] [--backend NAME]
  FILE: .json (array of vectors, [{id, embedding}], or {embeddings: …}), .npy (float32/float64, N×D),
  or raw little-endian float32 (then --dim is required). Embeddings are L2-normalised before decoding.`,
  async run(args) {
    const a = parseArgs(args, { values: ['model', 'embeddings', 'dim', 'out', 'backend'] });
    const modelArg = a.flags.get('model');
    const file = a.flags.get('embeddings');
    if (!modelArg || !file) throw new UsageError('--model and --embeddings are required');
    await initEngineFromFlags(a, true);
    const { decoder, meta, dir } = await loadDecoderModel(path.resolve(modelArg));
    try {
      const given = a.flags.has('dim') ? intFlag(a, 'dim', 0) : undefined;
      if (given !== undefined && given !== meta.embeddingDim) {
        throw new UsageError(`--dim ${given} does not match the model's input dimension ${meta.embeddingDim} (encoder ${meta.encoderId})`);
      }
      const { ids, rows } = readEmbeddingsFile(path.resolve(file), meta.embeddingDim);
      l2NormalizeRows(rows);
      const images = decodeEmbeddings(decoder, rows);
      const S = meta.outputSize;
      const out = path.resolve(a.flags.get('out') ?? `${path.basename(file).replace(/\.[^.]+$/, '')}-reconstructions`);
      await writeReconstructions(out, ids.map((id, i) => ({ id, image: images.subarray(i * S * S * 3, (i + 1) * S * S * 3) })), S,
        { encoderId: meta.encoderId, model: dir, title: `Reconstructions of ${path.basename(file)}` });
      console.log(`${rows.length} reconstructions written to ${out} (open ${path.join(out, 'index.html')})`);
      return 0;
    } finally {
      decoder.dispose();
    }
  },
};
