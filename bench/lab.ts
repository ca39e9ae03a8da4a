// What the bench and the soak share: a real HAProxy with generated backends, the processes run
// beside it, what /proc says of them, and the report they write into.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itemAt } from '../src/itemAt.js';
import { freePort, startHaproxy, type Haproxy } from '../test/support/lab.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.join(here, '../..');
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export interface Sizes {
  readonly backends: number;
  readonly perBackend: number;
}

export interface LabOptions {
  /** Where the servers point: nowhere, HAProxy's own listener with a TCP check each, or the traffic's HTTP server. */
  readonly servers: 'nowhere' | 'checks' | 'traffic';
  /** Requests a second through HAProxy, with `servers: 'traffic'`. */
  readonly rate?: number;
  /** Where HAProxy sends its syslog, one line per request (`option httplog`). */
  readonly logTo?: string;
}

export interface Lab {
  readonly haproxy: Haproxy;
  readonly promexUrl: string;
  readonly traffic: ChildProcess | null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** A fixed sequence in [0, 1) for a seed (Park and Miller's generator). */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 48271) % 2147483647) / 2147483647;
}

/**
 * How far the ratio of two targets' medians could move by chance: its 5th and 95th percentiles over
 * resamples of the runs, each run's pair drawn together (they shared the machine's moment) and
 * with replacement (a percentile bootstrap). Seeded, so that the same runs give the same range
 * wherever a report prints it.
 */
export function ratioInterval(a: readonly number[], b: readonly number[], random: () => number = seededRandom(1)): [low: number, high: number] {
  const RESAMPLES = 2000;
  const ratios = Array.from({ length: RESAMPLES }, () => {
    const runs = a.map(() => Math.floor(random() * a.length));
    return median(runs.map((run) => itemAt(a, run))) / median(runs.map((run) => itemAt(b, run)));
  }).sort((x, y) => x - y);
  return [itemAt(ratios, Math.floor(0.05 * RESAMPLES)), itemAt(ratios, Math.floor(0.95 * RESAMPLES))];
}

/**
 * Whether one run met a limit (its figure at most `limit`), and, given how far the figure could
 * have moved by chance (`ratioInterval`), whether a rerun could have said otherwise.
 */
export function verdict(figure: number, limit: number, chance: readonly [low: number, high: number] | null = null): string {
  if (figure <= limit) return chance !== null && chance[1] > limit ? 'yes; by chance alone a rerun could miss' : 'yes';
  return chance !== null && chance[0] <= limit ? '**no**; by chance alone a rerun could pass' : '**no**';
}

export function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** User plus system CPU seconds of a process, all its threads. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export function spawnDaemon(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  child.stderr.resume();
  // Said, not thrown: the wait for its answer then fails, and what was started is stopped.
  child.once('error', (err) => process.stderr.write(`bench: ${command}: ${err.message}\n`));
  return child;
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startLab({ backends, perBackend }: Sizes, options: LabOptions): Promise<Lab> {
  const promexPort = await freePort();
  const trafficPort = await freePort();
  const serverPort = options.servers === 'checks' ? promexPort : await freePort();
  const lines = [`frontend promex\n    bind 127.0.0.1:${promexPort}\n    http-request use-service prometheus-exporter if { path /metrics }\n`];
  if (options.servers === 'traffic') lines.push(`frontend traffic\n    bind 127.0.0.1:${trafficPort}\n    use_backend %[path,field(2,/)]\n`);
  for (let b = 0; b < backends; b++) {
    lines.push(`backend be_${b}\n`);
    for (let s = 0; s < perBackend; s++) lines.push(`    server srv_${s} 127.0.0.1:${serverPort} maxconn 100${options.servers === 'checks' ? ' check' : ''}\n`);
  }
  const haproxy = await startHaproxy({
    proxies: lines.join(''),
    globalLines: `    maxconn 4000${options.logTo ? `\n    log ${options.logTo} local0` : ''}`,
    defaultsLines: options.logTo ? '    log global\n    option httplog' : '',
  });
  let traffic: ChildProcess | null = null;
  if (options.servers === 'traffic') {
    traffic = spawn(process.execPath, [path.join(here, 'traffic.js'), String(serverPort), String(trafficPort), String(backends), String(options.rate ?? 200)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const started = traffic;
    await new Promise<void>((resolve, reject) => {
      started.stdout?.once('data', () => {
        resolve();
      });
      started.once('exit', (code) => {
        reject(new Error(`bench/traffic.js exited with ${code}`));
      });
    });
  }
  return { haproxy, promexUrl: `http://127.0.0.1:${promexPort}/metrics`, traffic };
}

/** Puts `text` between the `kind` markers of docs/benchmarks.md; what is around them is kept. */
export function writeReport(text: string, kind: string): void {
  const file = path.join(root, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const start = `<!-- bench:${kind}:start -->`;
  const end = `<!-- bench:${kind}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${start} ... ${end} markers`);
  writeFileSync(file, `${doc.slice(0, from + start.length)}\n${text}${doc.slice(to)}`);
  process.stderr.write(`bench: written to ${file}\n`);
}
