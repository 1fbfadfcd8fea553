import { BACKEND_CHOICES, BackendChoice, parseBackendChoice } from '../../engine/backend';
import { startDaemon } from '../../server/start';
import { intFlag, parseArgs } from '../args';
import { CliCommand } from '../command';

/** Printed on stdout once listening, for the extension (which spawns us) to pick up. No secrets. */
export const READY_PREFIX = 'FACEINV_READY ';

export const command: CliCommand = {
  name: 'daemon',
  summary: 'Run the compute daemon (WebSocket on 127.0.0.1) that the editor and `faceinv` clients talk to.',
  usage: `faceinv daemon [--port N] [--host ADDR --allow-remote] [--workspace DIR] [--backend ${BACKEND_CHOICES.join('|')}]
               [--threads N] [--connection-file FILE] [--max-message-bytes N]
  --port 0 (default) picks any free port. The url and a fresh token go to the connection file
  (default ~/.faceinv/daemon.json, mode 0600); "${READY_PREFIX.trim()} {json}" is printed on stdout when ready.`,
  async run(args) {
    const a = parseArgs(args, { values: ['port', 'host', 'workspace', 'backend', 'threads', 'connection-file', 'max-message-bytes'], booleans: ['allow-remote'] });
    const backend: BackendChoice = parseBackendChoice(a.flags.get('backend') ?? process.env.FACEINV_BACKEND ?? 'auto', '--backend');
    const daemon = await startDaemon({
      host: a.flags.get('host'),
      port: intFlag(a, 'port', 0, 0),
      workspaceDir: a.flags.get('workspace'),
      backend,
      threads: a.flags.has('threads') ? intFlag(a, 'threads', 1) : undefined,
      connectionFile: a.flags.get('connection-file'),
      allowRemote: a.booleans.has('allow-remote'),
      maxMessageBytes: a.flags.has('max-message-bytes') ? intFlag(a, 'max-message-bytes', 1024) : undefined,
    });
    process.stdout.write(`${READY_PREFIX}${JSON.stringify({ url: daemon.url, port: daemon.port, pid: process.pid, connectionFile: daemon.connectionFile })}\n`);
    // Crash guards: a stray exception in a callback is logged, not fatal; the queue already isolates jobs.
    process.on('uncaughtException', (err) => console.error(`[daemon] uncaught exception (continuing): ${err.stack ?? err}`));
    process.on('unhandledRejection', (err) => console.error(`[daemon] unhandled rejection (continuing): ${err instanceof Error ? err.stack : err}`));
    await new Promise<void>((resolve) => {
      const stop = () => void daemon.stop().then(resolve);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      daemon.server.onClosed(() => resolve());
    });
    return 0;
  },
};
