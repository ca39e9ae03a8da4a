#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=4 --heap-growing-percent=70 --no-parallel-scavenge --no-concurrent-marking
// The entry point: the only place that reads the environment and exits the process.
// The settings above keep memory near what a read needs (docs/benchmarks.md compares them with
// Node's defaults): glibc's mmap threshold fixed at 128 KiB, so a large freed buffer (the blocks
// of an answer past its first 4 MiB among them) goes back to the system rather than stay in
// glibc's heap; the heap grown by 70% past what is live; a young generation a quarter of Node's
// default size; the young generation collected, and the old one marked, by the main thread alone,
// since a collector's thread takes a core from HAProxy while nosrv reads it.

import { readFileSync } from 'node:fs';
import { envName, FLAGS, loadInvocation } from './config.js';
import { createReader, startDaemon } from './daemon.js';
import { explainText } from './explainText.js';
import { Watcher } from './watcher.js';
import { pino } from 'pino';
import type { Config } from './config.js';
import { createLogger } from './log.js';
import { StartError } from './startError.js';
import { VERSION } from './version.js';
import { parseRuleOptions, ruleFileText, RULES_USAGE } from './rules/ruleFile.js';

const USAGE_ERROR = 2;

function usage(): string {
  const rows = Object.entries(FLAGS).map(([name, f]) => `  --${name}${f.default ? ` (default ${f.default})` : ''}\n      ${f.help} [${envName(name)}]`);
  return `Usage: nosrv [flags]            run the daemon
       nosrv explain [--json] [flags]   read HAProxy once, print why it answers 503, and exit
       nosrv rules [flags]              print the Prometheus alert rules (nosrv rules --help)

Flags:
${rows.join('\n')}
`;
}

/** `nosrv explain`: one read, the diagnosis on stdout; 0 fine, 1 failing, 3 HAProxy unreadable. */
async function explain(config: Config, json: boolean): Promise<number> {
  // Everything worth saying is in the diagnosis itself, failures included.
  const reader = createReader(config, new Watcher(), pino({ level: 'silent' }), null);
  const { diagnosis } = await reader.read();
  process.stdout.write(json ? `${JSON.stringify(diagnosis, null, 2)}\n` : explainText(diagnosis, reader.source.target));
  if (!diagnosis.haproxy.up) return 3;
  const failing = [...diagnosis.backends, ...diagnosis.frontends, diagnosis.process].some((x) => x.verdict === 'failing');
  return failing ? 1 : 0;
}

/** `nosrv rules`: the rule file on stdout. */
function rules(argv: readonly string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(RULES_USAGE);
    return 0;
  }
  const parsed = parseRuleOptions(argv);
  if (!parsed.ok) {
    process.stderr.write(
      `nosrv rules: ${parsed.problems.length} problem(s) with the flags:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\nSee nosrv rules --help.\n`,
    );
    return USAGE_ERROR;
  }
  process.stdout.write(ruleFileText(parsed.options));
  return 0;
}

async function main(): Promise<number> {
  if (process.argv[2] === 'rules') return rules(process.argv.slice(3));
  const loaded = loadInvocation(process.argv.slice(2), process.env, (path) => readFileSync(path, 'utf8'));
  if (!loaded.ok) {
    process.stderr.write(
      `nosrv: ${loaded.problems.length} problem(s) with the settings:\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\nSee nosrv --help.\n`,
    );
    return USAGE_ERROR;
  }
  const { invocation } = loaded;
  if (invocation.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (invocation.version) {
    process.stdout.write(`nosrv ${VERSION}\n`);
    return 0;
  }
  if (invocation.command === 'explain') return explain(invocation.config, invocation.json);
  const log = createLogger(invocation.config.logLevel);
  const daemon = await startDaemon(invocation.config, log);
  process.on('SIGHUP', () => {
    daemon.reloadWebConfig();
  });
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => {
        resolve();
      });
  });
  log.info('stopping');
  await daemon.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`nosrv: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof StartError ? USAGE_ERROR : 1);
  },
);
