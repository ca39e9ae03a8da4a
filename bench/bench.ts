// npm run bench: a real HAProxy with generated backends, measured in one interleaved run against
// the raw `show stat` read through the socket (the floor any exporter stands on): nosrv's
// /metrics, the least time nosrv's answer could take (bench/floor.ts), HAProxy's built-in
// exporter (promex) and Debian's prometheus-haproxy-exporter (the Go exporter). Each exporter
// runs as its own process so its CPU time and peak RSS are its own.
// Writes the tables into docs/benchmarks.md between its bench markers.

import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { itemAt } from '../src/itemAt.js';
import { LogIngest } from '../src/logs/ingest.js';
import { freePort, waitFor, type Haproxy } from '../test/support/lab.js';
import { cpuSeconds, median, procStatus, ratioInterval, root, spawnDaemon, startLab, stopProcess, verdict, writeReport, type Sizes } from './lab.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Enough that one run's ratio of two medians is good to about ±0.1x (its "5–95% by chance"). */
const RUNS = Number(process.env.BENCH_RUNS ?? 45);
/** How long HAProxy's CPU time is measured, with and without the watcher. */
const WATCH_SECONDS = Number(process.env.BENCH_WATCH_SECONDS ?? 60);
const GO_EXPORTER = 'prometheus-haproxy-exporter';
/**
 * A TCP health check on every server, as most real servers have, against HAProxy's own listener
 * (every server UP, L4OK; HAProxy checking 10,000 servers every 2 s meanwhile). Printed only:
 * docs/benchmarks.md keeps the runs without checks.
 */
const CHECKS = process.env.BENCH_CHECKS === 'true';
/**
 * Every server pointing at one HTTP server on loopback, and 200 requests a second through HAProxy
 * to backends at random (`bench/traffic.ts`): counters move between scrapes, as in production, and
 * nosrv writes the families that hold them again. Written into its own section of
 * docs/benchmarks.md.
 */
const TRAFFIC = process.env.BENCH_TRAFFIC === 'true';
const TRAFFIC_RATE = 200;
const LAB = { servers: TRAFFIC ? 'traffic' : CHECKS ? 'checks' : 'nowhere', rate: TRAFFIC_RATE } as const;
/** A git ref whose build is scraped in the same interleaved runs as this one: what a change cost. */
const AGAINST = process.env.BENCH_AGAINST ?? null;

interface Scraped {
  readonly seconds: number;
  readonly bytes: number;
}

interface Target {
  readonly name: string;
  readonly pid: number | null;
  scrape(): Promise<Scraped>;
  /** The whole answer once, to count its series. */
  text(): Promise<string>;
}

function ms(seconds: number): string {
  return `${(seconds * 1000).toFixed(1)} ms`;
}

/** `1.26x–1.50x`: where a ratio of two medians could have landed by chance (`ratioInterval`). */
function chanceRange(interval: readonly [low: number, high: number], digits = 2): string {
  return interval.map((x) => `${x.toFixed(digits)}x`).join('–');
}

function spread(values: readonly number[]): string {
  return `${ms(Math.min(...values))}–${ms(Math.max(...values))}`;
}

/** Reads a whole answer and counts its bytes: what a scraper must do before it parses anything. */
function timedRead(open: () => net.Socket | http.ClientRequest): Promise<Scraped> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let bytes = 0;
    const done = (): void => {
      resolve({ seconds: (performance.now() - started) / 1000, bytes });
    };
    const stream = open();
    if (stream instanceof net.Socket) {
      stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      stream.on('end', done);
      stream.on('error', reject);
    } else {
      stream.on('response', (res: http.IncomingMessage) => {
        if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', done);
      });
      stream.on('error', reject);
    }
  });
}

/** The two answers nosrv reads, at once on two connections as nosrv reads them: the floor's first part. */
async function readBoth(socketPath: string): Promise<Scraped> {
  const started = performance.now();
  const answers = await Promise.all(
    ['show servers state', 'show info;show stat'].map((command) => timedRead(() => net.connect(socketPath).end(`${command}\n`))),
  );
  return { seconds: (performance.now() - started) / 1000, bytes: answers.reduce((sum, a) => sum + a.bytes, 0) };
}

function httpTarget(name: string, url: string, pid: number | null): Target {
  return {
    name,
    pid,
    scrape: () => timedRead(() => http.get(url)),
    text: async () => (await fetch(url)).text(),
  };
}

/**
 * `BENCH_AGAINST`'s build, made once per commit outside the clone: its files from git, this
 * clone's node_modules (the dependencies a ref needs are those of about the same time), compiled.
 */
function buildAgainst(ref: string): { main: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', '--short', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const dir = path.join(os.homedir(), '.cache/nosrv-bench', commit);
  const main = path.join(dir, 'dist/src/main.js');
  if (!existsSync(main)) {
    process.stderr.write(`bench: building ${ref} (${commit}) in ${dir}...\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${dir}'`], { cwd: root, stdio: 'inherit' });
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    execFileSync('npm', ['run', '-s', 'build'], { cwd: dir, stdio: 'inherit' });
  }
  return { main, commit };
}

/** As the `nosrv` command starts, with the settings of its first line; or with Node's and glibc's defaults, to show what those settings trade. */
async function startNosrv(
  haproxy: Haproxy,
  nodeDefaults: boolean,
  started: ChildProcess[],
  main = path.join(here, '../src/main.js'),
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawnDaemon(nodeDefaults ? process.execPath : main, [
    ...(nodeDefaults ? [main] : []),
    `--haproxy.socket=${haproxy.userSocket}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--haproxy.timeout=60s',
    '--log.level=warn',
  ]);
  started.push(child);
  const url = `http://127.0.0.1:${port}/metrics`;
  await waitFor(async () => (await fetch(url).catch(() => null))?.ok === true, { timeoutMs: 60_000, what: 'nosrv to answer' });
  return { child, url };
}

interface Row {
  readonly servers: number;
  readonly cells: Map<string, { times: number[]; bytes: number; series: number; rssMb: number | null; cpu: number }>;
}

function shuffled<T>(items: readonly T[]): T[] {
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [itemAt(order, j), itemAt(order, i)];
  }
  return order;
}

/** bench/floor.ts, sending what nosrv answered at this size. */
async function startFloor(haproxy: Haproxy, nosrvUrl: string): Promise<{ child: ChildProcess; url: string; dir: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nosrv-floor-'));
  const answerPath = path.join(dir, 'metrics.txt');
  writeFileSync(answerPath, await (await fetch(nosrvUrl)).text());
  const child = spawn(process.execPath, [path.join(here, 'floor.js'), haproxy.userSocket, answerPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => {
      resolve(chunk.toString().trim());
    });
    child.once('exit', (code) => {
      reject(new Error(`bench/floor.js exited with ${code}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}/metrics`, dir };
}

async function measure(sizes: Sizes, against: { main: string } | null): Promise<Row> {
  const { haproxy, promexUrl, traffic } = await startLab(sizes, LAB);
  // Whatever was started is stopped, whatever fails: a process left running would load every later measure.
  const started: ChildProcess[] = traffic ? [traffic] : [];
  const dirs: string[] = [];
  try {
    const nosrv = await startNosrv(haproxy, false, started);
    const nosrvDefaults = await startNosrv(haproxy, true, started);
    const nosrvAgainst = against ? await startNosrv(haproxy, false, started, against.main) : null;
    const floor = await startFloor(haproxy, nosrv.url);
    started.push(floor.child);
    dirs.push(floor.dir);
    const goPort = await freePort();
    const go = spawnDaemon(GO_EXPORTER, [
      `--haproxy.scrape-uri=unix:${haproxy.userSocket}`,
      `--web.listen-address=127.0.0.1:${goPort}`,
      '--haproxy.timeout=120s',
    ]);
    started.push(go);
    const goUrl = `http://127.0.0.1:${goPort}/metrics`;
    await waitFor(async () => (await fetch(goUrl).catch(() => null))?.ok === true, { timeoutMs: 120_000, what: 'the Go exporter to answer' });
    const targets: Target[] = [
      // Its CPU is HAProxy's, over the read: writing the CSV is the raw read's time.
      { name: 'raw', pid: haproxy.pid, scrape: () => timedRead(() => net.connect(haproxy.userSocket).end('show stat\n')), text: () => Promise.resolve('') },
      { name: 'both', pid: null, scrape: () => readBoth(haproxy.userSocket), text: () => Promise.resolve('') },
      httpTarget('nosrv', nosrv.url, nosrv.child.pid as number),
      httpTarget('nosrv-defaults', nosrvDefaults.url, nosrvDefaults.child.pid as number),
      ...(nosrvAgainst ? [httpTarget('against', nosrvAgainst.url, nosrvAgainst.child.pid as number)] : []),
      httpTarget('floor', floor.url, null),
      httpTarget('promex', promexUrl, null),
      httpTarget('go', goUrl, go.pid as number),
    ];
    const cells = new Map(targets.map((t) => [t.name, { times: [] as number[], bytes: 0, series: 0, rssMb: null as number | null, cpu: 0 }]));
    for (const t of targets) await t.scrape(); // warm up
    for (let run = 0; run < RUNS; run++) {
      // A new order each run: what a target leaves behind (the Go exporter collects hundreds of MB
      // after its scrape) then falls on each target as often, not always on the one after it.
      for (const t of shuffled(targets)) {
        const cpuBefore = t.pid === null ? 0 : cpuSeconds(t.pid);
        const { seconds, bytes } = await t.scrape();
        const cell = cells.get(t.name);
        if (!cell) continue;
        // The exporter's CPU over its scrape (for nosrv, with any watcher poll that fell in it).
        if (t.pid !== null) cell.cpu += (cpuSeconds(t.pid) - cpuBefore) / RUNS;
        cell.times.push(seconds);
        cell.bytes = bytes;
      }
    }
    for (const t of targets) {
      const cell = cells.get(t.name);
      if (!cell) continue;
      cell.series = t.name === 'raw' ? 0 : (await t.text()).split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
      cell.rssMb = t.pid === null ? null : procStatus(t.pid, 'VmHWM');
    }
    return { servers: sizes.backends * sizes.perBackend, cells };
  } finally {
    for (const child of started.reverse()) await stopProcess(child);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await haproxy.stop();
  }
}

/** What the watcher cost HAProxy, in words, and as a share of one core (null where not measured). */
interface WatcherCost {
  readonly text: string;
  readonly share: number | null;
}

/** HAProxy's CPU time over WATCH_SECONDS, idle, then with nosrv running and never scraped. */
async function measureWatcher(sizes: Sizes): Promise<WatcherCost> {
  // Under traffic (or checks) HAProxy's own work drowns the watcher's: measured with the default lab only.
  if (TRAFFIC || CHECKS) return { text: "The watcher's cost is measured in the default run (no checks, no traffic).", share: null };
  const { haproxy } = await startLab(sizes, LAB);
  try {
    const idle = async (): Promise<number> => {
      const before = cpuSeconds(haproxy.pid);
      await new Promise((resolve) => setTimeout(resolve, WATCH_SECONDS * 1000));
      return cpuSeconds(haproxy.pid) - before;
    };
    const without = await idle();
    const started: ChildProcess[] = [];
    try {
      const nosrv = await startNosrv(haproxy, false, started);
      // The scrapes that count polls are outside the window: their reads of HAProxy are not the watcher's.
      const pollsSoFar = async (): Promise<(result: string) => number> => {
        const own = await (await fetch(nosrv.url)).text();
        return (result) => Number(new RegExp(`^nosrv_watcher_polls_total\\{result="${result}"\\} (\\d+)$`, 'm').exec(own)?.[1] ?? 0);
      };
      const before = await pollsSoFar();
      const withWatcher = await idle();
      const after = await pollsSoFar();
      const polls = (result: string): number => after(result) - before(result);
      const share = (seconds: number): string => `${((seconds / WATCH_SECONDS) * 100).toFixed(2)}%`;
      const text =
        `Watcher's cost to HAProxy at ${(sizes.backends * sizes.perBackend).toLocaleString('en')} servers, default interval (1 s), ${WATCH_SECONDS} s each: ` +
        `HAProxy used ${without.toFixed(2)} s of CPU without nosrv (${share(without)} of one core) and ${withWatcher.toFixed(2)} s with the watcher (${share(withWatcher)}); ` +
        `the watcher's share: ${share(withWatcher - without)} of one core, in ${polls('observed')} polls (${polls('skipped_share')} skipped to stay below 1%).`;
      return { text, share: (withWatcher - without) / WATCH_SECONDS };
    } finally {
      for (const child of started) await stopProcess(child);
    }
  } finally {
    await haproxy.stop();
  }
}

/** The log pipeline on one core: framing, parsing and counting of real HAProxy 2.6.12 lines. */
function measureLogs(): string {
  const lines = readFileSync(path.join(root, 'test/fixtures/haproxy-2.6.12-syslog.txt'), 'utf8').split('\n').filter(Boolean);
  const rates: number[] = [];
  const LINES = 500_000;
  for (let run = 0; run < 5; run++) {
    const ingest = new LogIngest(
      () => {},
      () => {},
    );
    const t = performance.now();
    for (let i = 0; i < LINES; i++) ingest.ingest(lines[i % lines.length] as string, i);
    rates.push(LINES / ((performance.now() - t) / 1000));
  }
  const round = (n: number): string => Math.round(n).toLocaleString('en');
  return `Log pipeline (framing, parsing, counting) on one core: median ${round(median(rates))} lines/s (${round(Math.min(...rates))}–${round(Math.max(...rates))}) over 5 runs of ${LINES.toLocaleString('en')} real 2.6.12 lines.`;
}

/** This build beside `BENCH_AGAINST`'s, scraped in the same runs. */
function againstTable(rows: readonly Row[], ref: string, commit: string): string[] {
  const out = [
    `This build beside \`${ref}\` (${commit}), in the same interleaved runs; paired: the median (and quartiles) of each run's ratio; 5–95% by chance as above.`,
    '',
    `| servers | \`/metrics\` median: this / ${ref} | ratio (5–95% by chance) | paired | CPU per scrape: this / ${ref} | peak RSS: this / ${ref} |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const c = (name: string) => r.cells.get(name);
    const times = (name: string): number[] => c(name)?.times ?? [NaN];
    const paired = times('nosrv')
      .map((t, run) => t / (times('against')[run] as number))
      .sort((a, b) => a - b);
    const quartile = (q: number): string => (paired[Math.floor(q * (paired.length - 1))] as number).toFixed(2);
    out.push(
      `| ${r.servers.toLocaleString('en')} | ${ms(median(times('nosrv')))} / ${ms(median(times('against')))} | **${(median(times('nosrv')) / median(times('against'))).toFixed(2)}x** (${chanceRange(ratioInterval(times('nosrv'), times('against')))}) | ${median(paired).toFixed(2)}x (${quartile(0.25)}–${quartile(0.75)}) | ${ms(c('nosrv')?.cpu ?? 0)} / ${ms(c('against')?.cpu ?? 0)} | ${(c('nosrv')?.rssMb ?? 0).toFixed(0)} MB / ${(c('against')?.rssMb ?? 0).toFixed(0)} MB |`,
    );
  }
  return out;
}

/** The targets of docs/benchmarks.md, judged on this run's 10,000 servers; none without that size. */
function targetTable(rows: readonly Row[], watcherShare: number | null): string[] {
  const row = rows.find((r) => r.servers === 10_000);
  if (!row) return [];
  const times = (name: string): number[] => row.cells.get(name)?.times ?? [NaN];
  const ratio = (target: string, other: string, limit: number, digits: number): string => {
    const figure = median(times('nosrv')) / median(times(other));
    const chance = ratioInterval(times('nosrv'), times(other));
    return `| ${target} | ${figure.toFixed(digits)}x (${chanceRange(chance, digits)}) | ${verdict(figure, limit, chance)} |`;
  };
  const rssMb = row.cells.get('nosrv')?.rssMb ?? NaN;
  return [
    'The targets at 10,000 servers, in this run; a ratio with how far it could have moved by chance (5–95%):',
    '',
    '| target | this run | met |',
    '|---|---|---|',
    ratio("faster than HAProxy's built-in exporter: nosrv ÷ promex below 1x", 'promex', 1, 2),
    ratio("at most 0.1x the Go exporter's time", 'go', 0.1, 3),
    `| peak RSS at most 150 MB | ${rssMb.toFixed(0)} MB | ${verdict(rssMb, 150)} |`,
    ratio('at most 1.5x the floor', 'floor', 1.5, 2),
    ...(watcherShare === null
      ? []
      : [`| the watcher at most 1% of one core of HAProxy | ${(watcherShare * 100).toFixed(2)}% | ${verdict(watcherShare, 0.01)} |`]),
  ];
}

function table(rows: readonly Row[]): string[] {
  const out = [
    '| servers | raw `show stat` | nosrv `/metrics` | nosrv ÷ raw | paired | floor ÷ raw: both answers read + sent | nosrv ÷ floor (5–95% by chance) | promex | promex ÷ raw | Go exporter | Go ÷ raw | nosrv ÷ Go |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const times = (name: string): number[] => r.cells.get(name)?.times ?? [NaN];
    const m = (name: string): number => median(times(name));
    const cell = (name: string): string => `${ms(m(name))} (${spread(times(name))})`;
    // Each run's nosrv scrape over that run's raw read: the VM's speed moves between runs more than
    // within one, and a ratio of the two medians carries that drift.
    const paired = times('nosrv')
      .map((t, run) => t / (times('raw')[run] as number))
      .sort((a, b) => a - b);
    const quartile = (q: number): string => (paired[Math.floor(q * (paired.length - 1))] as number).toFixed(2);
    out.push(
      `| ${r.servers.toLocaleString('en')} | ${cell('raw')} | ${cell('nosrv')} | **${(m('nosrv') / m('raw')).toFixed(2)}x** | ${median(paired).toFixed(2)}x (${quartile(0.25)}–${quartile(0.75)}) | ${(m('floor') / m('raw')).toFixed(2)}x: ${(m('both') / m('raw')).toFixed(2)}x + ${((m('floor') - m('both')) / m('raw')).toFixed(2)}x | **${(m('nosrv') / m('floor')).toFixed(2)}x** (${chanceRange(ratioInterval(times('nosrv'), times('floor')))}) | ${cell('promex')} | ${(m('promex') / m('raw')).toFixed(2)}x | ${cell('go')} | ${(m('go') / m('raw')).toFixed(2)}x | **${(m('nosrv') / m('go')).toFixed(3)}x** |`,
    );
  }
  out.push(
    '',
    "| servers | CSV bytes | HAProxy's CPU per raw read | nosrv bytes / series | promex bytes / series | Go bytes / series | CPU per scrape: nosrv / Go | peak RSS: nosrv / Go |",
    '|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    const c = (name: string) => r.cells.get(name);
    const size = (name: string): string => `${((c(name)?.bytes ?? 0) / 1e6).toFixed(2)} MB / ${(c(name)?.series ?? 0).toLocaleString('en')}`;
    out.push(
      `| ${r.servers.toLocaleString('en')} | ${((c('raw')?.bytes ?? 0) / 1e6).toFixed(2)} MB | ${ms(c('raw')?.cpu ?? 0)} | ${size('nosrv')} | ${size('promex')} | ${size('go')} | ${ms(c('nosrv')?.cpu ?? 0)} / ${ms(c('go')?.cpu ?? 0)} | ${(c('nosrv')?.rssMb ?? 0).toFixed(0)} MB / ${(c('go')?.rssMb ?? 0).toFixed(0)} MB |`,
    );
  }
  out.push(
    '',
    "What the settings of the `nosrv` command (V8 flags, glibc's mmap threshold) trade: the same nosrv run with Node's and glibc's defaults, in the same interleaved runs.",
    '',
    "| servers | `/metrics` median: nosrv / Node's defaults | CPU per scrape: nosrv / Node's defaults | peak RSS: nosrv / Node's defaults |",
    '|---|---|---|---|',
  );
  for (const r of rows) {
    const c = (name: string) => r.cells.get(name);
    const m = (name: string): number => median(c(name)?.times ?? [NaN]);
    out.push(
      `| ${r.servers.toLocaleString('en')} | ${ms(m('nosrv'))} / ${ms(m('nosrv-defaults'))} | ${ms(c('nosrv')?.cpu ?? 0)} / ${ms(c('nosrv-defaults')?.cpu ?? 0)} | ${(c('nosrv')?.rssMb ?? 0).toFixed(0)} MB / ${(c('nosrv-defaults')?.rssMb ?? 0).toFixed(0)} MB |`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  try {
    execFileSync(GO_EXPORTER, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${GO_EXPORTER} is missing: npm run bench installs it as root, else: sudo apt-get install prometheus-haproxy-exporter`);
  }
  const sizes = (process.env.BENCH_SIZES ?? '100x10,1000x10,5000x10').split(',').map((s) => {
    const [backends, perBackend] = s.split('x').map(Number);
    return { backends: backends as number, perBackend: perBackend as number };
  });
  const watchSizes = sizes.find((s) => s.backends * s.perBackend === 10_000) ?? sizes.at(-1) ?? { backends: 1000, perBackend: 10 };
  const haproxyVersion = /version (\S+)/.exec(execFileSync('haproxy', ['-v'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  const goAnswer = spawnSync(GO_EXPORTER, ['--version'], { encoding: 'utf8' });
  const goVersion = /version (\S+)/.exec(`${goAnswer.stdout}${goAnswer.stderr}`)?.[1] ?? 'unknown';
  const against = AGAINST === null ? null : buildAgainst(AGAINST);
  const rows: Row[] = [];
  for (const s of sizes) {
    process.stderr.write(`bench: ${(s.backends * s.perBackend).toLocaleString('en')} servers...\n`);
    rows.push(await measure(s, against));
  }
  process.stderr.write('bench: the watcher...\n');
  const watcher = await measureWatcher(watchSizes);
  const cpu = os.cpus();
  const judged = targetTable(rows, watcher.share);
  const targets = judged.length > 0 ? [...judged, ''] : [];
  const lines = [
    `### ${new Date().toISOString().slice(0, 10)}: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, HAProxy ${haproxyVersion}, ${GO_EXPORTER} ${goVersion}`,
    '',
    `Medians (min–max) of ${RUNS} interleaved runs, each in a new random order; each scrape reads the whole answer; paired: the median (and quartiles) of each run's nosrv scrape over that run's raw read. Backends of 10 servers, \`maxconn 100\`, ${CHECKS ? 'a TCP health check on every server (every 2 s, to a listener of the same HAProxy: all UP, L4OK)' : 'no health checks'}${TRAFFIC ? `, ${TRAFFIC_RATE} requests a second through HAProxy to backends at random (every server to one HTTP server on loopback)` : ', no traffic'}; nosrv with its defaults. Floor: both answers nosrv reads, read at once and thrown away, then nosrv's answer sent from memory (\`bench/floor.ts\`), which no exporter of that answer could beat; its two parts: both answers read at once by the bench itself, and the rest of the floor's time, the send. 5–95% by chance: the ratio's 5th and 95th percentiles over 2,000 resamples of the runs (a bootstrap), how far it moves by chance alone.`,
    '',
    ...targets,
    ...table(rows),
    '',
    ...(against && AGAINST ? [...againstTable(rows, AGAINST, against.commit), ''] : []),
    watcher.text,
    '',
    measureLogs(),
  ];
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  // The report keeps the idle and the traffic run; a run with checks or against another build is printed only.
  if (process.env.BENCH_WRITE !== 'false' && !CHECKS && AGAINST === null) writeReport(text, TRAFFIC ? 'traffic' : 'idle');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
