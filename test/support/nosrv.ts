import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInvocation } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { freePort, stopper, waitFor } from './lab.js';
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

export interface RunningCommand {
  readonly url: string;
  readonly pid: number;
  /** Its exit code (null when a signal ended it), once it has exited. */
  readonly exited: Promise<number | null>;
  /** What it has written to stdout and stderr so far. */
  readonly output: () => string;
  /** SIGTERM by its PID, SIGKILL after 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** The built `nosrv` command. */
export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/main.js');

/** The real `nosrv` command, as a user runs it (with the settings of its first line), until it answers /healthz. */
export async function startCommand(flags: readonly string[]): Promise<RunningCommand> {
  const port = await freePort();
  const child = spawn(MAIN, [...flags, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = stopper(child, 10_000);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok === true, { timeoutMs: 10_000, what: 'nosrv to answer /healthz' });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; nosrv said: ${output}`);
  }
  return { url, pid: child.pid as number, exited, output: () => output, stop };
}
