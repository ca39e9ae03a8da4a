// BENCH_SOAK=<minutes> npm run bench: nosrv as the `nosrv` command starts it, for a long time
// against a 10,000-server HAProxy under light traffic, with every part of it at work: scraped
// every 15 s, /explain every minute, the watcher at its default second, HAProxy's log of every
// request on its syslog listener, and one backend held in MAINT so that 503s are logged and
// judged. Its RSS and V8 heap are sampled every 10 s; a least-squares line over the samples after
// the warm-up says whether memory is flat. Writes docs/soak.svg and the soak section of
// docs/benchmarks.md (for a run of 30 minutes or more).

import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort, waitFor } from '../test/support/lab.js';
import { root, startLab, stopProcess, writeReport } from './lab.js';
import { fitLine, SAMPLE_PREFIX, soakPlot, type Sample } from './soakPlot.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const MINUTES = Number(process.env.BENCH_SOAK);
const SIZES = { backends: 1000, perBackend: 10 };
const RATE = 20;
const SCRAPE_MS = 15_000;
const EXPLAIN_MS = 60_000;
const SAMPLE_MS = 10_000;
/** Memory settles after the first reads, scrapes and log lines fill what is kept: not a trend. */
const WARM_UP_MS = Math.min(5 * 60_000, (MINUTES * 60_000) / 3);
/**
 * Flat: the fitted line rises less than this. A slower leak would take over five hours to use
 * the 50 MB between a scrape's peak and the RSS target, and is below what a 30-minute fit of
 * a sawtooth can tell from noise.
 */
const FLAT_MB_PER_HOUR = 10;
const RSS_TARGET_MB = 150;
const MAINT_BACKEND = 'be_0';

interface Counts {
  scrapes: number;
  scrapeFailures: number;
  explains: number;
  explainFailures: number;
}

/** The `nosrv` command, with the sampler loaded into it. */
function startSoakedNosrv(socket: string, port: number, logPort: number, samples: Sample[]): ChildProcess {
  const child = spawn(
    path.join(here, '../src/main.js'),
    [`--haproxy.socket=${socket}`, `--web.listen-address=127.0.0.1:${port}`, `--logs.listen=udp://127.0.0.1:${logPort}`, '--log.level=warn'],
    {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: `--import=${pathToFileURL(path.join(here, 'sampler.js')).href}`, SOAK_SAMPLE_MS: String(SAMPLE_MS) },
    },
  );
  let pending = '';
  child.stderr.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(SAMPLE_PREFIX)) samples.push(JSON.parse(line.slice(SAMPLE_PREFIX.length)) as Sample);
      else if (line !== '') process.stderr.write(`nosrv: ${line}\n`);
    }
  });
  return child;
}

/** Calls `visit` every `everyMs` until `until`, one call at a time. */
async function every(everyMs: number, until: number, visit: () => Promise<void>): Promise<void> {
  for (let next = Date.now(); next < until; next += everyMs) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    await visit();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MB`;
}

async function main(): Promise<void> {
  if (!Number.isFinite(MINUTES) || MINUTES <= 0) throw new Error('BENCH_SOAK must be a number of minutes, 30 or more for the report');
  const logPort = await freePort();
  const lab = await startLab(SIZES, { servers: 'traffic', rate: RATE, logTo: `127.0.0.1:${logPort}` });
  const started: ChildProcess[] = lab.traffic ? [lab.traffic] : [];
  const samples: Sample[] = [];
  const counts: Counts = { scrapes: 0, scrapeFailures: 0, explains: 0, explainFailures: 0 };
  let lastMetrics = '';
  try {
    for (let s = 0; s < SIZES.perBackend; s++) await lab.haproxy.admin(`set server ${MAINT_BACKEND}/srv_${s} state maint`);
    const port = await freePort();
    const nosrv = startSoakedNosrv(lab.haproxy.userSocket, port, logPort, samples);
    started.push(nosrv);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/metrics`).catch(() => null))?.ok === true, { timeoutMs: 60_000, what: 'nosrv to answer' });
    const startedAt = Date.now();
    const until = startedAt + MINUTES * 60_000;
    process.stderr.write(`bench: soaking nosrv for ${MINUTES} min (until ${new Date(until).toISOString()})...\n`);
    await Promise.all([
      every(SCRAPE_MS, until, async () => {
        counts.scrapes++;
        const res = await fetch(`${base}/metrics`).catch(() => null);
        const text = res?.ok ? await res.text() : '';
        if (!/^haproxy_up 1$/m.test(text)) counts.scrapeFailures++;
        else lastMetrics = text;
      }),
      every(EXPLAIN_MS, until, async () => {
        counts.explains++;
        const res = await fetch(`${base}/explain?format=json`).catch(() => null);
        const explain = res?.ok ? ((await res.json()) as { haproxy: { up: boolean }; backends: Array<{ name: string; verdict: string }> }) : null;
        const judged = explain?.haproxy.up === true && explain.backends.some((b) => b.name === MAINT_BACKEND && b.verdict === 'failing');
        if (!judged) counts.explainFailures++;
      }),
    ]);
    await stopProcess(nosrv);
    if (nosrv.exitCode !== 0) throw new Error(`nosrv exited with ${nosrv.exitCode ?? nosrv.signalCode} at the end of the soak`);
    report(samples, startedAt, counts, lastMetrics);
  } finally {
    for (const child of started.reverse()) await stopProcess(child);
    await lab.haproxy.stop();
  }
}

function report(samples: readonly Sample[], startedAt: number, counts: Counts, lastMetrics: string): void {
  const settled = samples.filter((s) => s.at - startedAt >= WARM_UP_MS);
  if (settled.length < 3) throw new Error(`only ${settled.length} samples after the warm-up: soak longer`);
  const rss = fitLine(settled.map((s) => [(s.at - startedAt) / 3_600_000, s.rss / 2 ** 20]));
  const heap = fitLine(settled.map((s) => [(s.at - startedAt) / 3_600_000, s.heapUsed / 2 ** 20]));
  const flat = rss.slope < FLAT_MB_PER_HOUR && heap.slope < FLAT_MB_PER_HOUR;
  const logLines = [...lastMetrics.matchAll(/^nosrv_log_lines_total\{result="(\w+)"\} (\d+)$/gm)].map(
    ([, result, n]) => `${Number(n).toLocaleString('en')} ${result}`,
  );
  const range = (values: readonly number[]): string => `${mb(Math.min(...values))}–${mb(Math.max(...values))}`;
  const cpu = os.cpus();
  const text = [
    `### ${new Date(startedAt).toISOString().slice(0, 10)}: ${MINUTES} minutes, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, Node ${process.version}`,
    '',
    `${(SIZES.backends * SIZES.perBackend).toLocaleString('en')} servers, ${RATE} requests a second, \`${MAINT_BACKEND}\` in MAINT; ${samples.length} samples, the line fitted to the ${settled.length} after the first ${WARM_UP_MS / 60_000} minutes.`,
    '',
    '| | over the run | after the warm-up | fitted slope | flat (under 10 MB an hour) |',
    '|---|---|---|---|---|',
    `| RSS | ${range(samples.map((s) => s.rss))} | ${range(settled.map((s) => s.rss))} | ${rss.slope.toFixed(1)} MB an hour (± ${rss.standardError.toFixed(1)}) | ${rss.slope < FLAT_MB_PER_HOUR ? 'yes' : '**no**'} |`,
    `| V8 heap used | ${range(samples.map((s) => s.heapUsed))} | ${range(settled.map((s) => s.heapUsed))} | ${heap.slope.toFixed(1)} MB an hour (± ${heap.standardError.toFixed(1)}) | ${heap.slope < FLAT_MB_PER_HOUR ? 'yes' : '**no**'} |`,
    '',
    `Scrapes with \`haproxy_up 1\`: ${counts.scrapes - counts.scrapeFailures} of ${counts.scrapes}. \`/explain\` judging \`${MAINT_BACKEND}\` failing: ${counts.explains - counts.explainFailures} of ${counts.explains}. Log lines: ${logLines.join(', ')}.`,
    '',
    '![RSS and V8 heap used over the soak](soak.svg)',
    '',
  ].join('\n');
  process.stdout.write(text);
  const svg = soakPlot(samples, startedAt, WARM_UP_MS, { rss, heap }, RSS_TARGET_MB);
  if (MINUTES >= 30 && process.env.BENCH_WRITE !== 'false') {
    writeFileSync(path.join(root, 'docs/soak.svg'), svg);
    writeReport(text, 'soak');
  } else writeFileSync(path.join(os.tmpdir(), 'nosrv-soak.svg'), svg);
  if (!flat || counts.scrapeFailures > 0 || counts.explainFailures > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
