// npm run bench: a real HAProxy with generated backends, measured in one interleaved run:
// the raw `show stat` read through the socket (the floor any exporter stands on) against
// nosrv's /metrics, with nosrv as its own process so its peak RSS is its own.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runShowCommands } from '../src/haproxy/runtimeApi.js';
import { LogIngest } from '../src/logs/ingest.js';
import { freePort, startHaproxy, waitFor } from '../test/support/lab.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function spread(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${ms(sorted[0] as number)}–${ms(sorted[sorted.length - 1] as number)}`;
}

function ms(seconds: number): string {
  return `${(seconds * 1000).toFixed(1)} ms`;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function measure(backends: number, serversPerBackend: number): Promise<string> {
  const dead = await freePort();
  let proxies = '';
  for (let b = 0; b < backends; b++) {
    proxies += `backend be_${b}\n`;
    for (let s = 0; s < serversPerBackend; s++) proxies += `    server srv_${s} 127.0.0.1:${dead} maxconn 100\n`;
  }
  const haproxy = await startHaproxy({ proxies, globalLines: '    maxconn 4000' });
  const port = await freePort();
  const nosrv = spawn(process.execPath, [path.join(here, '../src/main.js'), `--haproxy.socket=${haproxy.userSocket}`, `--web.listen-address=127.0.0.1:${port}`, '--haproxy.timeout=30s', '--log.level=warn'], {
    stdio: 'ignore',
  });
  try {
    const url = `http://127.0.0.1:${port}/metrics`;
    await waitFor(async () => (await fetch(url).catch(() => null))?.ok === true, { timeoutMs: 20_000, what: 'nosrv' });
    const raw: number[] = [];
    const scrape: number[] = [];
    let bytes = 0;
    let series = 0;
    let statBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      const [answer] = await runShowCommands({ kind: 'unix', path: haproxy.userSocket }, ['show stat'], { deadline: Date.now() + 30_000, maxBytes: 256 * 1024 * 1024 });
      raw.push((performance.now() - t) / 1000);
      statBytes = answer?.text.length ?? 0;
      t = performance.now();
      const text = await (await fetch(url)).text();
      scrape.push((performance.now() - t) / 1000);
      bytes = text.length;
      series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    }
    const servers = backends * serversPerBackend;
    const ratio = median(scrape) / median(raw);
    return `| ${servers.toLocaleString('en')} | ${ms(median(raw))} (${spread(raw)}) | ${(statBytes / 1e6).toFixed(2)} MB | ${ms(median(scrape))} (${spread(scrape)}) | ${ratio.toFixed(2)}x | ${series.toLocaleString('en')} | ${(bytes / 1e6).toFixed(2)} MB | ${peakRssMb(nosrv.pid as number).toFixed(0)} MB |`;
  } finally {
    process.kill(nosrv.pid as number, 'SIGTERM');
    await haproxy.stop();
  }
}

/** The log pipeline on one core: framing, parsing and counting of real HAProxy 2.6.12 lines. */
function measureLogs(): string {
  const lines = readFileSync(path.join(here, '../../test/fixtures/haproxy-2.6.12-syslog.txt'), 'utf8').split('\n').filter(Boolean);
  const rates: number[] = [];
  const LINES = 500_000;
  for (let run = 0; run < 5; run++) {
    const ingest = new LogIngest(() => {}, () => {});
    const t = performance.now();
    for (let i = 0; i < LINES; i++) ingest.ingest(lines[i % lines.length] as string, i);
    rates.push(LINES / ((performance.now() - t) / 1000));
  }
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  return `Log pipeline (framing, parsing, counting) on one core: median ${Math.round(median(rates)).toLocaleString('en')} lines/s (${Math.round(Math.min(...rates)).toLocaleString('en')}–${Math.round(Math.max(...rates)).toLocaleString('en')}) over 5 runs of ${LINES.toLocaleString('en')} real 2.6.12 lines; heap after: ${heapMb.toFixed(0)} MB.`;
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '100x10,1000x10').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  const version = (await runShowVersion()) ?? 'unknown';
  const lines = [
    `nosrv benchmark, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, HAProxy ${version}, ${RUNS} runs each, interleaved`,
    '',
    '| servers | raw `show stat` median (min–max) | CSV | nosrv `/metrics` median (min–max) | ratio | series | bytes | nosrv peak RSS |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const [backends, per] of sizes) lines.push(await measure(backends, per));
  lines.push('', measureLogs());
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function runShowVersion(): Promise<string | null> {
  const { execFileSync } = await import('node:child_process');
  return /version (\S+)/.exec(execFileSync('haproxy', ['-v'], { encoding: 'utf8' }))?.[1] ?? null;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
