import { DaemonClient } from '../../protocol/client';
import { StatusRequest } from '../../protocol/daemon';
import { readConnectionFile } from '../../server/connectionFile';
import { parseArgs } from '../args';
import { CliCommand } from '../command';

export const command: CliCommand = {
  name: 'status',
  summary: 'Ask the running daemon for its backend, threads, versions, memory and jobs.',
  usage: 'faceinv status [--connection-file FILE | --url URL --token TOKEN] [--json]',
  async run(args) {
    const a = parseArgs(args, { values: ['connection-file', 'url', 'token'], booleans: ['json'] });
    const info = a.flags.has('url')
      ? { url: a.flags.get('url') as string, token: a.flags.get('token') ?? process.env.FACEINV_TOKEN ?? '' }
      : readConnectionFile(a.flags.get('connection-file'));
    const client = await DaemonClient.connect(info.url, info.token);
    try {
      const s = await client.request(StatusRequest, {}, 10000);
      if (a.booleans.has('json')) {
        console.log(JSON.stringify(s, null, 2));
        return 0;
      }
      console.log(`daemon pid ${s.pid} at ${info.url}, up ${s.uptimeSeconds.toFixed(0)} s, protocol ${s.protocol}`);
      console.log(`backend   ${s.backend} (${s.threads} threads) — ${s.backendReason}`);
      console.log(`versions  ${Object.entries(s.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      console.log(`memory    rss ${(s.memory.rssBytes / 2 ** 20).toFixed(0)} MiB, ${s.memory.numTensors} tensors (${(s.memory.numBytes / 2 ** 20).toFixed(1)} MiB)`);
      console.log(`workspace ${s.workspace}`);
      if (!s.jobs.length) console.log('jobs      none');
      for (const j of s.jobs) {
        const pct = j.progress && j.progress.total ? ` ${((100 * j.progress.step) / j.progress.total).toFixed(0)}%` : '';
        console.log(`job ${j.id} ${j.kind.padEnd(10)} ${j.state}${pct}  ${j.label}${j.error ? `  — ${j.error}` : ''}`);
      }
      return 0;
    } finally {
      await client.close();
    }
  },
};
