/**
 * A stand-in for `faceinv daemon` for the lifecycle tests: the real `DaemonServer` with only the `probe` job
 * kind (so these tests do not depend on the training code), the real connection file, and the same ready
 * line. Run as a child process: `node fakeDaemon.js daemon --port 0 --connection-file F [--workspace W]`.
 */
import { tf } from '../../../daemon/tfjs/tf';
import { probeJob } from '../../../daemon/jobs/kinds/probe';
import type { JobKind } from '../../../daemon/jobs/defineJobKind';
import { newToken } from '../../../daemon/server/auth';
import { removeConnectionFile, writeConnectionFile } from '../../../daemon/protocol/connectionFile';
import { DaemonServer } from '../../../daemon/server/server';
import { READY_PREFIX } from '../../../extension/daemonProcess';

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => { const k = argv.indexOf(`--${name}`); return k >= 0 ? argv[k + 1] : undefined; };
  const connectionFile = flag('connection-file');
  if (argv[0] !== 'daemon' || !connectionFile) throw new Error(`fakeDaemon: usage daemon --connection-file F (got ${argv.join(' ')})`);
  if (process.env.FAKE_DAEMON_FAIL) { console.error(`fake daemon failing on purpose: ${process.env.FAKE_DAEMON_FAIL}`); process.exit(3); }
  await tf.setBackend('cpu');
  const token = newToken();
  const server = new DaemonServer({
    host: '127.0.0.1', port: 0, token, workspaceDir: flag('workspace') ?? process.cwd(),
    kinds: new Map([['probe', probeJob as unknown as JobKind]]),
    engine: { backend: 'cpu', reason: 'fake daemon for tests', threads: 1, versions: {}, memory: () => tf.memory() },
  });
  const port = await server.listen();
  const url = `ws://127.0.0.1:${port}`;
  writeConnectionFile(connectionFile, { url, token, pid: process.pid, workspace: process.cwd(), startedAt: new Date().toISOString() });
  console.error(`fake daemon listening on ${url}`);
  process.stdout.write(`${READY_PREFIX}${JSON.stringify({ url, port, pid: process.pid, connectionFile })}\n`);
  process.once('SIGTERM', () => void server.close().then(() => { removeConnectionFile(connectionFile); process.exit(0); }));
}

main(process.argv.slice(2)).catch((err) => { console.error(err); process.exit(1); });
