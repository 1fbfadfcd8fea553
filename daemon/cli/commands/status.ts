import { DaemonClient } from '../../protocol/client';
import { formatBudget, formatSeconds, progressFraction } from '../../protocol/budget';
import { StatusRequest, type JobInfo } from '../../protocol/daemon';
import { readConnectionFile } from '../../protocol/connectionFile';
import { parseArgs } from '../args';
import { CliCommand } from '../command';
import { envValue } from '../../protocol/env';

/**
 * One job of `faceinv status`: `job 3f2a train running 42% (2.1 / 5 min, ETA 2m54s)  train quick.json`. Under a
 * budget the percentage is the budget's; a stopped job says why.
 */
export function jobStatusLine(j: JobInfo): string {
  const p = j.progress;
  const frac = progressFraction(p);
  const pct = frac === null ? '' : ` ${Math.floor(frac * 100)}%`;
  const detail = p?.budget
    ? ` (${[formatBudget(p.budget), p.stopReason ?? (p.etaSeconds !== undefined && j.state === 'running' ? `ETA ${formatSeconds(p.etaSeconds)}` : undefined)].filter(Boolean).join(', ')})`
    : p?.stopReason ? ` (${p.stopReason})` : '';
  return `job ${j.id} ${j.kind.padEnd(10)} ${j.state}${pct}${detail}  ${j.label}${j.error ? `  — ${j.error}` : ''}`;
}

export const command: CliCommand = {
  name: 'status',
  summary: 'Ask the running daemon for its backend, threads, versions, memory and jobs.',
  usage: 'faceinv status [--connection-file FILE | --url URL --token TOKEN] [--json]',
  async run(args) {
    const a = parseArgs(args, { values: ['connection-file', 'url', 'token'], booleans: ['json'] });
    const info = a.flags.has('url')
      ? { url: a.flags.get('url') as string, token: a.flags.get('token') ?? envValue('FACEINV_TOKEN') ?? '' }
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
      for (const j of s.jobs) console.log(jobStatusLine(j));
      return 0;
    } finally {
      await client.close();
    }
  },
};
