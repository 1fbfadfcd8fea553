import { BACKEND_CHOICES, BackendChoice, parseBackendChoice } from '../../tfjs/backend';
import { installCrashGuards, startDaemon, stopOnSignals } from '../../server/start';
import { intFlag, parseArgs } from '../args';
import { CliCommand } from '../command';
import { cliOutput } from '../engineFlags';
import { envValue } from '../../protocol/env';

/** Printed on stdout once listening, for the extension (which spawns us) to pick up. No secrets. */
export const READY_PREFIX = 'FACEINV_READY ';

/** Pulls every `--name V` / `--name=V` out of `args` (a repeatable flag) and returns them with the rest. */
export function takeRepeated(args: readonly string[], name: string): { values: string[]; rest: string[] } {
  const values: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === `--${name}`) {
      if (i + 1 >= args.length) { rest.push(a); continue; } // parseArgs reports the missing value
      values.push(args[++i]);
    } else if (a.startsWith(`--${name}=`)) {
      values.push(a.slice(name.length + 3));
    } else {
      rest.push(a);
    }
  }
  return { values, rest };
}

export const command: CliCommand = {
  name: 'daemon',
  summary: 'Run the compute daemon (WebSocket on 127.0.0.1) that the editor and `faceinv` clients talk to.',
  usage: `faceinv daemon [--port N] [--host ADDR --allow-remote] [--workspace DIR] [--backend ${BACKEND_CHOICES.join('|')}]
               [--threads N] [--connection-file FILE] [--max-message-bytes N] [--data-root DIR]... [--verbose]
  --port 0 (default) picks any free port. The url and a fresh token go to the connection file
  (default ~/.faceinv/daemon.json, mode 0600); "${READY_PREFIX.trim()} {json}" is printed on stdout when ready.
  Jobs may only use paths inside the workspace, the --data-root folders (repeatable; LFW next to the
  repository is added when present), the repository's models/ and the model packages.
  The log (stderr) names the engine in one line; --verbose adds debug lines such as the engine probe.`,
  async run(args) {
    const { values: dataRoots, rest } = takeRepeated(args, 'data-root');
    const a = parseArgs(rest, { values: ['port', 'host', 'workspace', 'backend', 'threads', 'connection-file', 'max-message-bytes', 'data-root'], booleans: ['allow-remote'] });
    const backend: BackendChoice = parseBackendChoice(a.flags.get('backend') ?? envValue('FACEINV_BACKEND') ?? 'auto', '--backend');
    // Debug lines (the engine probe trail among them) only with --verbose.
    const log = (level: string, message: string) => {
      if (level === 'debug' && !cliOutput.verbose) return;
      console.error(`[${new Date().toISOString()}] ${level}: ${message}`);
    };
    // Crash guards first: a stray exception in a callback is logged, not fatal; the queue already isolates jobs.
    const removeGuards = installCrashGuards(log);
    try {
      const daemon = await startDaemon({
        host: a.flags.get('host'),
        port: intFlag(a, 'port', 0, 0),
        workspaceDir: a.flags.get('workspace'),
        backend,
        threads: a.flags.has('threads') ? intFlag(a, 'threads', 1) : undefined,
        connectionFile: a.flags.get('connection-file'),
        allowRemote: a.booleans.has('allow-remote'),
        maxMessageBytes: a.flags.has('max-message-bytes') ? intFlag(a, 'max-message-bytes', 1024) : undefined,
        dataRoots,
        log,
      });
      process.stdout.write(`${READY_PREFIX}${JSON.stringify({ url: daemon.url, port: daemon.port, pid: process.pid, connectionFile: daemon.connectionFile })}\n`);
      await stopOnSignals(daemon, log);
      return 0;
    } finally {
      removeGuards();
    }
  },
};
