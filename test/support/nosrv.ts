import { readFileSync } from 'node:fs';
import { loadInvocation } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { capturedLogger } from './metrics.js';

export interface RunningNosrv {
  readonly url: string;
  readonly daemon: Daemon;
  readonly logs: () => Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** The daemon in this process, configured by flags as a user would, on a port the OS picks. */
export async function startNosrv(flags: readonly string[]): Promise<RunningNosrv> {
  const loaded = loadInvocation([...flags, '--web.listen-address=127.0.0.1:0'], {}, (file) => readFileSync(file, 'utf8'));
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const { log, lines } = capturedLogger();
  const daemon = await startDaemon(loaded.invocation.config, log);
  return { url: `http://127.0.0.1:${daemon.address.port}`, daemon, logs: lines, stop: () => daemon.close() };
}
