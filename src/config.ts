// Flags in the Prometheus exporters' style; each also from the environment
// (--haproxy.socket = NOSRV_HAPROXY_SOCKET) and from an optional YAML file (--config).
// Precedence: flag, environment, file, default. Every problem is reported, not just the first.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseRuntimeApiAddress, type RuntimeApiAddress } from './haproxy/runtimeApi.js';
import { loadWebConfig, type WebConfig } from './webConfig.js';
import { isMapping } from './isMapping.js';
import { parseAlertmanagerHttpConfig, type AlertmanagerHttpConfig } from './alerting/alertmanager.js';
import type { Severity } from './rules/alerts.js';
import { yaml } from './onDemand.js';

export interface Config {
  readonly haproxy: {
    readonly socket: RuntimeApiAddress;
    readonly statsUrl: string | null;
    readonly statsUsername: string | null;
    readonly statsPassword: string | null;
    readonly masterSocket: RuntimeApiAddress | null;
    /** Printed in the commands that change HAProxy's state; never opened. */
    readonly adminSocket: RuntimeApiAddress | null;
    readonly configFile: string | null;
    readonly timeoutMs: number;
  };
  readonly collect: CollectOptions;
  readonly logsListen: string | null;
  readonly alerting: AlertingConfig;
  /** Where people reach this nosrv (--web.external-url), for links in its alerts; null: this host's name and port. */
  readonly externalUrl: string | null;
  readonly watchIntervalMs: number;
  readonly listen: { readonly host: string | undefined; readonly port: number };
  /** From --web.config.file: TLS, basic auth, headers. */
  readonly web: WebConfig | null;
  /** That file, read again on SIGHUP. */
  readonly webConfigFile: string | null;
  readonly logLevel: string;
}

export interface AlertingConfig {
  /** Alertmanagers to send nosrv's own alerts to; none: nosrv sends none. */
  readonly alertmanagers: readonly string[];
  readonly httpConfig: AlertmanagerHttpConfig | null;
  /** How long an alert holds before it is sent, by severity. */
  readonly debounceMs: Readonly<Record<Severity, number>>;
  /** Backends no alert is sent about (empty or failing by design), as the rules' --ignore-backends. */
  readonly ignoreBackends: RegExp | null;
}

export interface CollectOptions {
  /** Per-server family groups to export. */
  readonly serverMetrics: ReadonlySet<ServerMetricGroup>;
  /** Only backends (and their servers) whose name matches; null: all. */
  readonly backends: RegExp | null;
  /** Leave out servers in MAINT, as HAProxy's exporter does with `no-maint`. */
  readonly noMaint: boolean;
}

/** Per-server families come in groups, so 10,000 servers cost only what is asked for. */
export const SERVER_METRIC_GROUPS = ['state', 'sessions', 'changes', 'traffic', 'errors', 'timing'] as const;
export type ServerMetricGroup = (typeof SERVER_METRIC_GROUPS)[number];

export type Command = 'daemon' | 'explain';

export interface Invocation {
  readonly command: Command;
  readonly json: boolean;
  readonly help: boolean;
  readonly version: boolean;
  readonly config: Config;
}

interface FlagSpec {
  readonly help: string;
  readonly default: string | null;
  readonly secret?: true;
  /** Given alone (`--collect.no-maint`) it means true. */
  readonly boolean?: true;
  /** May be given more than once; the values make a comma-separated list. */
  readonly repeatable?: true;
}

/**
 * A cause HAProxy reached after "fall" failed checks pages within seconds; a check that fails once
 * (2 s at HAProxy's default inter) is over before 3 s. Warnings wait as the rules' for: does.
 */
const ALERTMANAGER_FOR = 'critical=3s,warning=30s,info=1m';

export const FLAGS: Readonly<Record<string, FlagSpec>> = {
  'haproxy.socket': { default: '/run/haproxy/admin.sock', help: 'Runtime API: a Unix socket path, unix:PATH or tcp://HOST:PORT.' },
  'haproxy.stats-url': { default: null, help: 'Instead of the socket: the stats page CSV (http://host:port/stats;csv).' },
  'haproxy.stats-username': { default: null, help: 'Basic-auth user for --haproxy.stats-url (or put it in the URL).' },
  'haproxy.stats-password': { default: null, help: 'Basic-auth password for --haproxy.stats-url; prefer NOSRV_HAPROXY_STATS_PASSWORD.', secret: true },
  'haproxy.master-socket': { default: null, help: 'Master CLI socket, for reloads and old workers.' },
  'haproxy.admin-socket': { default: null, help: "HAProxy's admin socket (level admin), printed in the fix commands that change state; nosrv never opens it." },
  'haproxy.config': { default: null, help: 'HAProxy configuration file to analyse (read only).' },
  'haproxy.timeout': { default: '5s', help: 'Longest a read of HAProxy may take; a scrape never waits past its own timeout.' },
  'collect.server-metrics': {
    default: 'state,sessions,changes,traffic,errors',
    help: `Per-server family groups to export, comma-separated, from ${SERVER_METRIC_GROUPS.join(', ')} (or all); see the README for what each holds and costs.`,
  },
  'collect.backends': { default: null, help: 'Export only backends whose name matches this regular expression (anchored), and their servers.' },
  'collect.no-maint': { default: 'false', boolean: true, help: "Leave out servers in MAINT, as HAProxy's own exporter does with no-maint." },
  'logs.listen': { default: null, help: "Receive HAProxy's syslog: udp://127.0.0.1:5140 or unixgram:PATH." },
  'watch.interval': { default: '1s', help: 'How often the watcher polls server states between scrapes (whole seconds or minutes that divide 60).' },
  'alertmanager.url': {
    default: null,
    repeatable: true,
    help: "Send nosrv's own alerts to this Alertmanager (repeatable, or comma-separated: each member of a cluster).",
  },
  'alertmanager.http-config.file': {
    default: null,
    help: "Basic auth, a bearer token (from files) and TLS for the Alertmanagers, as in Prometheus's alertmanager_config (basic_auth, authorization, tls_config).",
  },
  'alertmanager.for': {
    default: ALERTMANAGER_FOR,
    help: 'How long an alert must hold before nosrv sends it, by severity: a check that fails once sends nothing.',
  },
  'alertmanager.ignore-backends': {
    default: null,
    help: 'Backends nosrv sends no alert about, empty or failing by design (an anchored regular expression, as nosrv rules --ignore-backends).',
  },
  'web.external-url': {
    default: null,
    help: "Where people reach nosrv (http://host:9503), for the links in the alerts it sends; by default this host's name and the listen port.",
  },
  'web.listen-address': { default: ':9503', help: 'Address to serve on, [HOST]:PORT.' },
  'web.config.file': { default: null, help: 'TLS and basic auth, in the Prometheus exporter-toolkit format.' },
  'log.level': { default: 'info', help: 'Log level: trace, debug, info, warn, error or fatal.' },
  config: { default: null, help: 'YAML file with any of these settings, by flag name.' },
};

/** How `parseArgs` reads each flag: a value for every setting (a boolean one may stand alone), and the command's own switches. */
const ARGUMENT_OPTIONS: ParseArgsConfig['options'] = {
  ...Object.fromEntries(Object.entries(FLAGS).map(([name, spec]) => [name, { type: spec.boolean ? 'boolean' : 'string' }])),
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
};

export function envName(flag: string): string {
  return `NOSRV_${flag.toUpperCase().replace(/[.-]/g, '_')}`;
}

export type LoadResult = { readonly ok: true; readonly invocation: Invocation } | { readonly ok: false; readonly problems: readonly string[] };

export function loadInvocation(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, readFile: (path: string) => string): LoadResult {
  const args = readArguments(argv);
  const problems = [...args.problems];
  const configPath = args.fromFlags.get('config') ?? env[envName('config')];
  const settings = new Settings(args.fromFlags, env, configPath ? readSettingsFile(configPath, readFile, problems) : new Map(), problems);
  const config = configOf(settings, readFile);
  if (problems.length > 0 || config === null) return { ok: false, problems: problems.length > 0 ? problems : ['incomplete configuration'] };
  return { ok: true, invocation: { command: args.command, json: args.json, help: args.help, version: args.version, config } };
}

interface Arguments {
  readonly command: Command;
  readonly json: boolean;
  readonly help: boolean;
  readonly version: boolean;
  /** Each setting given as a flag, a repeated one's values joined by commas. */
  readonly fromFlags: ReadonlyMap<string, string>;
  readonly problems: readonly string[];
}

function readArguments(argv: readonly string[]): Arguments {
  const problems: string[] = [];
  const fromFlags = new Map<string, string>();
  let command: Command = 'daemon';
  let json = false;
  let help = false;
  let version = false;
  const { tokens } = parseArgs({ args: [...argv], options: ARGUMENT_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (token.index === 0 && token.value === 'explain') command = 'explain';
      else problems.push(`unexpected argument "${token.value}"`);
    } else if (token.kind === 'option') {
      if (token.name === 'help') help = true;
      else if (token.name === 'version') version = true;
      else if (token.name === 'json') json = true;
      else {
        const spec = FLAGS[token.name];
        const given = token.value ?? (spec?.boolean ? 'true' : undefined);
        const earlier = fromFlags.get(token.name);
        if (spec === undefined) problems.push(`unknown flag ${token.rawName}`);
        else if (given === undefined) problems.push(`${token.rawName} needs a value`);
        else fromFlags.set(token.name, spec.repeatable && earlier !== undefined ? `${earlier},${given}` : given);
      }
    }
  }
  if (json && command !== 'explain') problems.push('--json goes with "nosrv explain"');
  return { command, json, help, version, fromFlags, problems };
}

function readSettingsFile(path: string, readFile: (path: string) => string, problems: string[]): Map<string, string> {
  const fromFile = new Map<string, string>();
  try {
    flattenYaml(yaml().parse(readFile(path)) ?? {}, '', fromFile, problems, path);
  } catch (err) {
    problems.push(`--config ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return fromFile;
}

/** Settings that mean nothing empty (an empty --collect.server-metrics, by contrast, is no group). */
const CANNOT_BE_EMPTY: ReadonlySet<string> = new Set(['haproxy.socket', 'haproxy.timeout', 'web.listen-address', 'watch.interval', 'log.level']);

/** Each setting from its flag, the environment, the file or its default, in that order; a problem with one is noted, not thrown. */
class Settings {
  constructor(
    private readonly fromFlags: ReadonlyMap<string, string>,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly fromFile: ReadonlyMap<string, string>,
    private readonly problems: string[],
  ) {}

  value(flag: string): string | null {
    return this.fromFlags.get(flag) ?? this.env[envName(flag)] ?? this.fromFile.get(flag) ?? FLAGS[flag]?.default ?? null;
  }

  /** The setting read by `parse`; null when it is not set, or (the problem noted) when `parse` refuses it. */
  checked<T>(flag: string, parse: (text: string) => T): T | null {
    const text = this.value(flag);
    if (text === '' && CANNOT_BE_EMPTY.has(flag)) {
      // A setting nosrv cannot do without, emptied: not the same as leaving it out.
      this.problems.push(`--${flag} is empty: give it a value, or leave it out for ${FLAGS[flag]?.default ?? 'its default'}`);
      return null;
    }
    if (text === null || text === '') return null;
    try {
      return parse(text);
    } catch (err) {
      this.problems.push(`--${flag}=${FLAGS[flag]?.secret ? '…' : text}: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    }
  }
}

/** The configuration; null when a setting it cannot do without is missing or refused. */
function configOf(s: Settings, readFile: (path: string) => string): Config | null {
  const haproxy = haproxyOf(s);
  const alerting = alertingOf(s, readFile);
  const watchIntervalMs = s.checked('watch.interval', (text) => {
    const ms = parseDuration(text);
    cronExpression(ms);
    return ms;
  });
  const listen = s.checked('web.listen-address', parseListenAddress);
  const logLevel = s.checked('log.level', (text) => {
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(text)) throw new Error('expected trace, debug, info, warn, error or fatal');
    return text;
  });
  const rest = {
    collect: collectOf(s),
    logsListen: s.checked('logs.listen', (text) => {
      if (/^udp:\/\/.+:\d+$/.test(text) || /^unixgram:.+/.test(text)) return text;
      throw new Error('expected udp://HOST:PORT or unixgram:PATH');
    }),
    externalUrl: s.checked('web.external-url', (text) => httpUrl(text).replace(/\/+$/, '')),
    web: s.checked('web.config.file', (file) => loadWebConfig(file, readFile)),
    webConfigFile: s.value('web.config.file'),
  };
  if (haproxy === null || alerting === null || watchIntervalMs === null || listen === null || logLevel === null) return null;
  return { haproxy, alerting, watchIntervalMs, listen, logLevel, ...rest };
}

function haproxyOf(s: Settings): Config['haproxy'] | null {
  const socket = s.checked('haproxy.socket', parseRuntimeApiAddress);
  const timeoutMs = s.checked('haproxy.timeout', parseDuration);
  const rest = {
    statsUrl: s.checked('haproxy.stats-url', httpUrl),
    statsUsername: s.value('haproxy.stats-username'),
    statsPassword: s.value('haproxy.stats-password'),
    masterSocket: s.checked('haproxy.master-socket', parseRuntimeApiAddress),
    adminSocket: s.checked('haproxy.admin-socket', parseRuntimeApiAddress),
    configFile: s.value('haproxy.config'),
  };
  return socket === null || timeoutMs === null ? null : { socket, timeoutMs, ...rest };
}

function alertingOf(s: Settings, readFile: (path: string) => string): AlertingConfig | null {
  const alertmanagers = s.checked('alertmanager.url', (text) => text.split(',').map((u) => member(u.trim()))) ?? [];
  const httpConfig = s.checked('alertmanager.http-config.file', (file) => parseAlertmanagerHttpConfig(readFile(file), file));
  const debounceMs = s.checked('alertmanager.for', parseSeverityDurations);
  const ignoreBackends = s.checked('alertmanager.ignore-backends', anchoredRegExp);
  return debounceMs === null ? null : { alertmanagers, httpConfig, debounceMs, ignoreBackends };
}

function collectOf(s: Settings): CollectOptions {
  const serverMetrics =
    s.checked('collect.server-metrics', (text) => {
      const groups = text
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean);
      if (groups.includes('all')) return new Set(SERVER_METRIC_GROUPS);
      const known = groups.filter(isServerMetricGroup);
      const unknown = groups.filter((g) => !isServerMetricGroup(g));
      if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(', ')}: expected ${SERVER_METRIC_GROUPS.join(', ')} or all`);
      return new Set(known);
    }) ?? new Set<ServerMetricGroup>();
  return { serverMetrics, backends: s.checked('collect.backends', anchoredRegExp), noMaint: s.checked('collect.no-maint', parseBoolean) ?? false };
}

function isServerMetricGroup(name: string): name is ServerMetricGroup {
  return (SERVER_METRIC_GROUPS as readonly string[]).includes(name);
}

/** One Alertmanager of a list: a problem names which. */
function member(url: string): string {
  if (!/^https?:\/\//.test(url)) throw new Error(`${url}: not an http(s) URL`);
  return httpUrl(url);
}

function httpUrl(text: string): string {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not an http(s) URL');
  return text;
}

/** A regular expression a whole name must match, as the flags that filter backends take it. */
function anchoredRegExp(text: string): RegExp {
  return new RegExp(`^(?:${text})$`);
}

function flattenYaml(node: unknown, prefix: string, out: Map<string, string>, problems: string[], path: string): void {
  if (!isMapping(node)) {
    problems.push(`--config ${path}: expected a mapping of setting names to values`);
    return;
  }
  for (const [key, child] of Object.entries(node)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (isMapping(child)) flattenYaml(child, name, out, problems, path);
    else if (!(name in FLAGS) || name === 'config') problems.push(`--config ${path}: unknown setting "${name}"`);
    else out.set(name, String(child));
  }
}

/** `critical=3s,warning=30s,info=1m`: any of them, the rest as by default. */
function parseSeverityDurations(text: string): Record<Severity, number> {
  const out: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  for (const pair of `${ALERTMANAGER_FOR},${text}`
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [severity, duration] = pair.split('=');
    if (severity !== 'critical' && severity !== 'warning' && severity !== 'info')
      throw new Error(`${pair}: expected critical=, warning= or info= and a duration`);
    out[severity] = duration === '0s' ? 0 : parseDuration(duration ?? '');
  }
  return out;
}

function parseBoolean(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new Error('expected true or false');
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `500ms`, `5s`, `1.5s`, `2m`, `1h`, as in Prometheus. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (!match) throw new Error('expected a duration such as 500ms, 5s or 1m');
  const ms = Number(match[1]) * (UNITS[match[2] as string] ?? 0);
  if (ms <= 0) throw new Error('must be above 0');
  // Longer than a timer can hold, Node would wait 1 ms instead.
  if (ms > MAX_TIMER_MS) throw new Error('must be at most 596h, the longest a timer can wait');
  return ms;
}

/**
 * node-cron schedules on the clock, so the interval must divide a minute (in seconds) or an
 * hour (in minutes); polls then fall on the same seconds every minute.
 */
export function cronExpression(intervalMs: number): string {
  const seconds = intervalMs / 1000;
  if (Number.isInteger(seconds) && seconds >= 1 && seconds < 60 && 60 % seconds === 0) return `*/${seconds} * * * * *`;
  const minutes = seconds / 60;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0) return `0 */${minutes} * * * *`;
  throw new Error('must be a whole number of seconds that divides 60 (1s, 2s, 5s, 15s, ...) or of minutes that divides 60');
}

export function parseListenAddress(text: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!match) throw new Error('expected [HOST]:PORT, such as :9503 or 127.0.0.1:9503');
  const port = Number(match[3]);
  if (port > 65535) throw new Error('port out of range');
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}
