// A real HAProxy with real backends on loopback, for the integration tests (and the demo).
// Ports come from the OS; every wait is bounded; every process is stopped by its PID.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Says why a tool is missing: a failure in CI (CI=true), a skip elsewhere. */
export function missingTool(command: string, debianPackage: string): string | null {
  const found = spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (found) return null;
  const message = `${command} not found: install the Debian package "${debianPackage}" (apt-get install ${debianPackage})`;
  if (process.env.CI === 'true') throw new Error(message);
  return message;
}

/**
 * With NOSRV_HAPROXY_ROOT (a Debian root holding its own HAProxy, see scripts/haproxy-roots.sh),
 * the lab runs that HAProxy through chroot: its files live under the root, and it sees their paths
 * without the root's prefix. Sockets under the root are plain Unix sockets for nosrv outside it.
 */
export const HAPROXY_ROOT = process.env.NOSRV_HAPROXY_ROOT || null;

/** Where a test keeps files HAProxy reads or creates: under the root when there is one. */
export function labTmpdir(): string {
  return HAPROXY_ROOT ? path.join(HAPROXY_ROOT, 'tmp') : tmpdir();
}

/** A path or configuration as the lab's HAProxy sees it. */
function seenByHaproxy(text: string): string {
  return HAPROXY_ROOT ? text.replaceAll(HAPROXY_ROOT, '') : text;
}

/** `haproxy ARGS`, in the root when there is one. */
function haproxyCommand(args: readonly string[]): [string, string[]] {
  return HAPROXY_ROOT ? ['chroot', [HAPROXY_ROOT, 'haproxy', ...args]] : ['haproxy', [...args]];
}

/** The lab's HAProxy version, as `haproxy -v` says it: 2.6.12-1+deb12u4. */
export function haproxyVersion(): string {
  const [command, args] = haproxyCommand(['-v']);
  return /version (\S+)/.exec(spawnSync(command, args, { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return port;
}

export interface Backend {
  readonly port: number;
  /** Stops listening and drops open connections: health checks then fail with L4CON. */
  close(): Promise<void>;
}

/** An HTTP server on loopback answering 200 (or `status` with `reason`), after `delayMs` when given. */
export async function startBackend(options: { delayMs?: number; port?: number; status?: number; reason?: string } = {}): Promise<Backend> {
  const server = http.createServer((req, res) => {
    const answer = (): void => {
      res.writeHead(options.status ?? 200, options.reason ?? 'OK', { 'content-type': 'text/plain' }).end(`ok ${req.url}\n`);
    };
    if (options.delayMs) setTimeout(answer, options.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** A backend whose health check (`GET /health`) can be made to fail while it serves everything else. */
export async function startCheckedBackend(): Promise<Backend & { failChecks(fail: boolean): void }> {
  let failing = false;
  const server = http.createServer((req, res) => {
    const status = req.url === '/health' && failing ? 500 : 200;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    failChecks: (fail) => {
      failing = fail;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

export interface Haproxy {
  readonly dir: string;
  readonly pid: number;
  /** `level user`: what nosrv reads. */
  readonly userSocket: string;
  /** `level admin`: how a test plays the operator. */
  readonly adminSocket: string;
  readonly configPath: string;
  /** With `masterWorker`: the master CLI socket. */
  readonly masterSocket: string | null;
  /** Sends one command through the admin socket and returns the answer. */
  admin(command: string): Promise<string>;
  /** With `masterWorker`: rewrites the configuration (when given) and reloads (SIGUSR2 to the master). */
  reload(config?: string): void;
  stop(): Promise<void>;
}

export interface HaproxyOptions {
  /** Sections after `global` and `defaults`: frontends, backends. */
  readonly proxies: string;
  /** Where the user socket goes, when a test needs to know it before HAProxy starts. */
  readonly userSocket?: string;
  readonly globalLines?: string;
  readonly defaultsLines?: string;
  /** Starts `haproxy -W -S`: a master with its CLI, which reloads on SIGUSR2. */
  readonly masterWorker?: boolean;
  /** Where the master CLI goes, when a test needs to know it before HAProxy starts. */
  readonly masterSocket?: string;
}

/** Stops `child` by its PID: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export function stopper(child: ChildProcess, graceMs: number): () => Promise<void> {
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid as number, 'SIGTERM');
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
}

export async function startHaproxy(options: HaproxyOptions): Promise<Haproxy> {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-haproxy-'));
  const userSocket = options.userSocket ?? path.join(dir, 'user.sock');
  const adminSocket = path.join(dir, 'admin.sock');
  const config = `global
    stats socket ${adminSocket} mode 600 level admin
    stats socket ${userSocket} mode 600 level user
${options.globalLines ?? ''}
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
${options.defaultsLines ?? ''}
${options.proxies}
`;
  const configPath = path.join(dir, 'haproxy.cfg');
  writeFileSync(configPath, seenByHaproxy(config));
  const masterSocket = options.masterWorker ? (options.masterSocket ?? path.join(dir, 'master.sock')) : null;
  const args = (masterSocket ? ['-W', '-S', masterSocket, '-db', '-f', configPath] : ['-db', '-f', configPath]).map(seenByHaproxy);
  const [command, commandArgs] = haproxyCommand(args);
  // chroot executes haproxy in its place: the PID is HAProxy's.
  const child: ChildProcess = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const stopChild = stopper(child, 3000);
  const stop = async (): Promise<void> => {
    await stopChild();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await sendCommand(adminSocket, 'show info')).includes('Name: HAProxy'), {
      timeoutMs: 5000,
      what: 'HAProxy to answer on its socket',
    });
    if (masterSocket)
      await waitFor(async () => (await sendCommand(masterSocket, 'show proc')).includes('# workers'), { timeoutMs: 5000, what: 'the master CLI to answer' });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; HAProxy said: ${stderr.trim()}`);
  }
  const reload = (newConfig?: string): void => {
    if (!masterSocket) throw new Error('reload needs masterWorker');
    if (newConfig !== undefined) writeFileSync(configPath, seenByHaproxy(newConfig));
    process.kill(child.pid as number, 'SIGUSR2');
  };
  return {
    dir,
    pid: child.pid as number,
    userSocket,
    adminSocket,
    configPath,
    masterSocket,
    admin: (command) => sendCommand(adminSocket, command),
    reload,
    stop,
  };
}

/** One command over a fresh connection; any command, unlike nosrv's client. */
export function sendCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect({ path: socketPath });
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    socket.on('close', () => {
      resolve(answer);
    });
    socket.on('error', () => {
      resolve('');
    });
  });
}

/** Polls `check` until it is true; bounded in time and count. */
export async function waitFor(check: () => boolean | Promise<boolean>, options: { timeoutMs: number; intervalMs?: number; what: string }): Promise<void> {
  const interval = options.intervalMs ?? 100;
  const tries = Math.ceil(options.timeoutMs / interval);
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  throw new Error(`gave up after ${options.timeoutMs} ms waiting for ${options.what}`);
}
