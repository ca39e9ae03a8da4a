// The haproxy_* families, from one snapshot and the watcher. Where the fact is the one HAProxy's
// built-in exporter (promex) exports, the name and meaning are promex's, so dashboards carry over;
// precomputed rates and maxima are left out (Prometheus computes them better).

import { BACKEND_CAUSES, BACKEND_RISKS, FRONTEND_CAUSES, FRONTEND_RISKS, PROCESS_CAUSES, PROCESS_RISKS, type Diagnosis, type Finding } from '../diagnosis.js';
import type { CollectOptions, ServerMetricGroup } from '../config.js';
import type { StatRow, StatTable } from '../parse/stat.js';
import { SERVER_STATES, type Backend, type Frontend, type Server, type Snapshot } from '../snapshot.js';
import type { Watcher } from '../watcher.js';
import { escapeLabelValue, ExpositionWriter, labels, type MetricType, type SeriesCache, type SeriesColumn } from './exposition.js';

export interface StatFamily {
  readonly column: string;
  readonly suffix: string;
  readonly type: MetricType;
  readonly help: string;
  /** For servers: the --collect.server-metrics group that turns it on. */
  readonly group: ServerMetricGroup;
  /** HAProxy gives times in ms; the metric is in seconds. */
  readonly ms?: true;
}

export interface RenderOptions {
  readonly collect: CollectOptions;
  readonly cache: SeriesCache;
}

const TRAFFIC: readonly StatFamily[] = [
  { column: 'scur', group: 'sessions', suffix: 'current_sessions', type: 'gauge', help: 'Current sessions.' },
  { column: 'slim', group: 'sessions', suffix: 'limit_sessions', type: 'gauge', help: 'Configured session limit (maxconn; for a backend, fullconn).' },
  { column: 'stot', group: 'traffic', suffix: 'sessions_total', type: 'counter', help: 'Sessions.' },
  { column: 'bin', group: 'traffic', suffix: 'bytes_in_total', type: 'counter', help: 'Request bytes.' },
  { column: 'bout', group: 'traffic', suffix: 'bytes_out_total', type: 'counter', help: 'Response bytes.' },
];

export const FRONTEND_FAMILIES: readonly StatFamily[] = [
  ...TRAFFIC,
  { column: 'conn_tot', group: 'traffic', suffix: 'connections_total', type: 'counter', help: 'Connections accepted.' },
  { column: 'req_tot', group: 'traffic', suffix: 'http_requests_total', type: 'counter', help: 'HTTP requests received.' },
  { column: 'dreq', group: 'errors', suffix: 'requests_denied_total', type: 'counter', help: 'Requests denied by http-request or tcp-request rules.' },
  { column: 'dresp', group: 'errors', suffix: 'responses_denied_total', type: 'counter', help: 'Responses denied by http-response rules.' },
  { column: 'ereq', group: 'errors', suffix: 'request_errors_total', type: 'counter', help: 'Request errors.' },
  { column: 'dcon', group: 'errors', suffix: 'denied_connections_total', type: 'counter', help: 'Connections denied by tcp-request connection rules.' },
  { column: 'dses', group: 'errors', suffix: 'denied_sessions_total', type: 'counter', help: 'Sessions denied by tcp-request session rules.' },
  { column: 'intercepted', group: 'traffic', suffix: 'intercepted_requests_total', type: 'counter', help: 'Requests intercepted (stats, monitor).' },
  { column: 'eint', group: 'errors', suffix: 'internal_errors_total', type: 'counter', help: 'Internal errors.' },
];

const BACKEND_AND_SERVER: readonly StatFamily[] = [
  ...TRAFFIC,
  { column: 'qcur', group: 'sessions', suffix: 'current_queue', type: 'gauge', help: 'Requests waiting in the queue.' },
  { column: 'econ', group: 'errors', suffix: 'connection_errors_total', type: 'counter', help: 'Requests that failed to connect to a server (for a backend, also those with no server to try).' },
  { column: 'eresp', group: 'errors', suffix: 'response_errors_total', type: 'counter', help: 'Response errors.' },
  { column: 'wretr', group: 'errors', suffix: 'retry_warnings_total', type: 'counter', help: 'Connection retries.' },
  { column: 'wredis', group: 'errors', suffix: 'redispatch_warnings_total', type: 'counter', help: 'Requests redispatched to another server.' },
  { column: 'dresp', group: 'errors', suffix: 'responses_denied_total', type: 'counter', help: 'Responses denied by http-response rules.' },
  { column: 'weight', group: 'state', suffix: 'weight', type: 'gauge', help: 'Effective weight.' },
  { column: 'chkdown', group: 'errors', suffix: 'check_up_down_total', type: 'counter', help: 'UP to DOWN transitions (for a backend, of the whole backend).' },
  { column: 'downtime', group: 'errors', suffix: 'downtime_seconds_total', type: 'counter', help: 'Time spent DOWN (for a backend, with no server UP).' },
  { column: 'lbtot', group: 'traffic', suffix: 'loadbalanced_total', type: 'counter', help: 'Times selected by load balancing or redispatch.' },
  { column: 'cli_abrt', group: 'errors', suffix: 'client_aborts_total', type: 'counter', help: 'Data transfers aborted by the client.' },
  { column: 'srv_abrt', group: 'errors', suffix: 'server_aborts_total', type: 'counter', help: 'Data transfers aborted by the server.' },
  { column: 'connect', group: 'traffic', suffix: 'connection_attempts_total', type: 'counter', help: 'Connection establishment attempts.' },
  { column: 'reuse', group: 'traffic', suffix: 'connection_reuses_total', type: 'counter', help: 'Connection reuses.' },
  { column: 'eint', group: 'errors', suffix: 'internal_errors_total', type: 'counter', help: 'Internal errors.' },
  { column: 'qtime', group: 'timing', suffix: 'queue_time_average_seconds', type: 'gauge', help: 'Average queue time of the last 1024 successful connections (requests that timed out in the queue are not in it).', ms: true },
  { column: 'ctime', group: 'timing', suffix: 'connect_time_average_seconds', type: 'gauge', help: 'Average connect time of the last 1024 requests.', ms: true },
  { column: 'rtime', group: 'timing', suffix: 'response_time_average_seconds', type: 'gauge', help: 'Average response time of the last 1024 requests.', ms: true },
  { column: 'ttime', group: 'timing', suffix: 'total_time_average_seconds', type: 'gauge', help: 'Average total session time of the last 1024 requests.', ms: true },
];

export const BACKEND_FAMILIES: readonly StatFamily[] = [
  ...BACKEND_AND_SERVER,
  { column: 'act', group: 'state', suffix: 'active_servers', type: 'gauge', help: 'Active servers UP and not DRAIN (backups not counted).' },
  { column: 'bck', group: 'state', suffix: 'backup_servers', type: 'gauge', help: 'Backup servers UP and not DRAIN.' },
  { column: 'req_tot', group: 'traffic', suffix: 'http_requests_total', type: 'counter', help: 'HTTP requests.' },
];

export const SERVER_FAMILIES: readonly StatFamily[] = [
  ...BACKEND_AND_SERVER,
  { column: 'qlimit', group: 'sessions', suffix: 'queue_limit', type: 'gauge', help: 'Configured maxqueue.' },
  { column: 'chkfail', group: 'errors', suffix: 'check_failures_total', type: 'counter', help: 'Failed health checks while the server was UP.' },
  { column: 'check_code', group: 'timing', suffix: 'check_code', type: 'gauge', help: 'Layer 5-7 code of the last health check.' },
  { column: 'check_duration', group: 'timing', suffix: 'check_duration_seconds', type: 'gauge', help: 'Duration of the last health check.', ms: true },
  { column: 'throttle', group: 'timing', suffix: 'current_throttle', type: 'gauge', help: 'Slow-start throttle in percent.' },
  { column: 'bck', group: 'state', suffix: 'backup', type: 'gauge', help: '1 for a backup server.' },
];

export const HTTP_CODES = [
  ['1xx', 'hrsp_1xx'],
  ['2xx', 'hrsp_2xx'],
  ['3xx', 'hrsp_3xx'],
  ['4xx', 'hrsp_4xx'],
  ['5xx', 'hrsp_5xx'],
  ['other', 'hrsp_other'],
] as const;

/** show info field -> promex family; rates and maxima left out. */
export const PROCESS_FAMILIES: ReadonlyArray<readonly [string, string, MetricType, string]> = [
  ['Nbthread', 'nbthread', 'gauge', 'Threads.'],
  ['Start_time_sec', 'start_time_seconds', 'gauge', 'Start time of the process, seconds since the epoch.'],
  ['Memmax_bytes', 'max_memory_bytes', 'gauge', 'Memory limit (0: none).'],
  ['PoolAlloc_bytes', 'pool_allocated_bytes', 'gauge', 'Memory allocated in pools.'],
  ['PoolUsed_bytes', 'pool_used_bytes', 'gauge', 'Memory used in pools.'],
  ['PoolFailed', 'pool_failures_total', 'counter', 'Failed pool allocations.'],
  ['Ulimit-n', 'max_fds', 'gauge', 'File descriptor limit.'],
  ['Maxsock', 'max_sockets', 'gauge', 'Socket limit.'],
  ['Maxconn', 'max_connections', 'gauge', 'Connection limit (global maxconn).'],
  ['Hard_maxconn', 'hard_max_connections', 'gauge', 'Hard connection limit.'],
  ['CurrConns', 'current_connections', 'gauge', 'Current connections.'],
  ['CumConns', 'connections_total', 'counter', 'Connections.'],
  ['CumReq', 'requests_total', 'counter', 'Requests.'],
  ['CurrSslConns', 'current_ssl_connections', 'gauge', 'Current SSL connections.'],
  ['CumSslConns', 'ssl_connections_total', 'counter', 'SSL connections.'],
  ['Tasks', 'current_tasks', 'gauge', 'Tasks.'],
  ['Run_queue', 'current_run_queue', 'gauge', 'Tasks in the run queue.'],
  ['Idle_pct', 'idle_time_percent', 'gauge', 'Idle time in percent.'],
  ['Stopping', 'stopping', 'gauge', '1 while the process is stopping (an old worker after a reload).'],
  ['Jobs', 'jobs', 'gauge', 'Active jobs.'],
  ['Unstoppable Jobs', 'unstoppable_jobs', 'gauge', 'Jobs that block stopping.'],
  ['Listeners', 'listeners', 'gauge', 'Listeners.'],
  ['DroppedLogs', 'dropped_logs_total', 'counter', 'Log messages dropped.'],
  ['TotalBytesOut', 'bytes_out_total', 'counter', 'Bytes sent.'],
];

export function writeHaproxyMetrics(out: ExpositionWriter, snapshot: Snapshot, watcher: Watcher, options: RenderOptions): void {
  const filter = options.collect.backends;
  const backends = filter ? snapshot.backends.filter((b) => filter.test(b.name)) : snapshot.backends;
  writeProcess(out, snapshot);
  writeFrontends(out, options.cache, snapshot.stat, snapshot.frontends);
  writeBackends(out, options.cache, snapshot.stat, backends, watcher);
  writeServers(out, options.cache, snapshot.stat, backends, watcher, options.collect);
}

function writeProcess(out: ExpositionWriter, snapshot: Snapshot): void {
  const info = snapshot.info;
  if (info === null) return;
  out.family('haproxy_process_build_info', 'gauge', 'HAProxy version, as a label.');
  out.sample('haproxy_process_build_info', labels({ version: info.version ?? '' }), 1);
  for (const [field, suffix, type, help] of PROCESS_FAMILIES) {
    const text = info.fields.get(field);
    if (text === undefined || text === '' || !Number.isFinite(Number(text))) continue;
    out.family(`haproxy_process_${suffix}`, type, help);
    out.sample(`haproxy_process_${suffix}`, '', Number(text));
  }
}

/** A value per object; null or undefined for none. */
function column(cache: SeriesCache, count: number, value: (i: number) => number | null | undefined, extra = ''): SeriesColumn {
  const values = cache.values(count);
  for (let i = 0; i < count; i++) values[i] = value(i) ?? NaN;
  return { extra, values };
}

/**
 * `show stat` columns' numbers, scaled, all read in one pass over the rows: the hot loop of a
 * scrape. One pass per column went through 10,000 rows' lines thirty times, out of the CPU's cache.
 */
function cellColumns(cache: SeriesCache, rows: readonly StatRow[], indexes: readonly number[], scales: readonly number[], extras: readonly string[]): SeriesColumn[] {
  const columns = indexes.map(() => cache.values(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as StatRow;
    for (let c = 0; c < indexes.length; c++) {
      const v = row.number(indexes[c] as number);
      (columns[c] as Float64Array)[i] = v === null ? NaN : v * (scales[c] as number);
    }
  }
  return columns.map((values, c) => ({ extra: extras[c] as string, values }));
}

/** Writes the families taken straight from `show stat` columns this HAProxy has. */
function writeStatFamilies(
  out: ExpositionWriter,
  cache: SeriesCache,
  stat: StatTable,
  scope: string,
  families: readonly StatFamily[],
  rows: readonly StatRow[],
  labelSets: readonly string[],
  withResponses = true,
): void {
  const present = families.flatMap((f) => {
    const index = stat.columns.get(f.column);
    return index === undefined ? [] : [{ f, index }];
  });
  const codes = withResponses ? HTTP_CODES.flatMap(([code, name]) => {
    const index = stat.columns.get(name);
    return index === undefined ? [] : [{ code, index }];
  }) : [];
  const columns = cellColumns(
    cache,
    rows,
    [...present.map((p) => p.index), ...codes.map((c) => c.index)],
    [...present.map((p) => (p.f.ms ? 1 / 1000 : 1)), ...codes.map(() => 1)],
    [...present.map(() => ''), ...codes.map((c) => `,code="${c.code}"`)],
  );
  present.forEach(({ f }, i) => cache.family(out, `haproxy_${scope}_${f.suffix}`, f.type, f.help, labelSets, [columns[i] as SeriesColumn]));
  if (codes.length === 0) return;
  cache.family(out, `haproxy_${scope}_http_responses_total`, 'counter', 'HTTP responses by status class (HAProxy-made 503s count on the backend, not on a server).', labelSets, columns.slice(present.length));
}

function proxyLabel(name: string): string {
  return `proxy="${escapeLabelValue(name)}"`;
}

function writeFrontends(out: ExpositionWriter, cache: SeriesCache, stat: StatTable, frontends: readonly Frontend[]): void {
  const labelSets = cache.labelSets('frontend', frontends.length, (i) => (frontends[i] as Frontend).name, null, (i) => proxyLabel((frontends[i] as Frontend).name));
  writeStatFamilies(out, cache, stat, 'frontend', FRONTEND_FAMILIES, frontends.map((f) => f.row), labelSets);
  const utilization = column(cache, frontends.length, (i) => {
    const f = frontends[i] as Frontend;
    return f.sessions.limit ? f.sessions.current / f.sessions.limit : null;
  });
  cache.family(out, 'haproxy_frontend_sessions_utilization_ratio', 'gauge', 'Current sessions / maxconn of the frontend; at 1 it is FULL and new connections wait.', labelSets, [utilization]);
}

function writeBackends(out: ExpositionWriter, cache: SeriesCache, stat: StatTable, backends: readonly Backend[], watcher: Watcher): void {
  const labelSets = cache.labelSets('backend', backends.length, (i) => (backends[i] as Backend).name, null, (i) => proxyLabel((backends[i] as Backend).name));
  const withRow = backends.flatMap((b) => (b.row ? [b] : []));
  const rowLabelSets =
    withRow.length === backends.length ? labelSets : cache.labelSets('backend row', withRow.length, (i) => (withRow[i] as Backend).name, null, (i) => proxyLabel((withRow[i] as Backend).name));
  writeStatFamilies(out, cache, stat, 'backend', BACKEND_FAMILIES, withRow.map((b) => b.row as StatRow), rowLabelSets);

  const perBackend = (name: string, type: MetricType, help: string, value: (b: Backend) => number | null): void =>
    cache.family(out, name, type, help, labelSets, [column(cache, backends.length, (i) => value(backends[i] as Backend))]);
  perBackend('haproxy_backend_servers', 'gauge', 'Servers configured, backups included.', (b) => b.counts.total);
  perBackend('haproxy_backend_up_servers', 'gauge', 'Servers that can take a new request: UP, not MAINT, DRAIN or NOLB, weight above 0; backups counted.', (b) => b.counts.usable);
  perBackend('haproxy_backend_no_up_servers', 'gauge', '1 when no server of the backend can take a new request: HAProxy answers 503.', (b) => (b.noUsableServer ? 1 : 0));
  perBackend('haproxy_backend_sessions_utilization_ratio', 'gauge', 'Sessions / maxconn, summed over usable servers that have a maxconn.', (b) =>
    b.capacity ? b.capacity.sessions / b.capacity.limit : null,
  );
  perBackend('haproxy_backend_no_up_servers_seconds_total', 'counter', 'Time the watcher saw the backend with no server able to take a request.', (b) => watcher.noUsableSeconds(b.name));
}

function writeServers(out: ExpositionWriter, cache: SeriesCache, stat: StatTable, backends: readonly Backend[], watcher: Watcher, collect: CollectOptions): void {
  const groups = collect.serverMetrics;
  if (groups.size === 0) return;
  const servers: Server[] = [];
  for (const b of backends) {
    for (const s of b.servers) if (!(collect.noMaint && s.state === 'maint')) servers.push(s);
  }
  const n = servers.length;
  const serverAt = (i: number): Server => servers[i] as Server;
  const labelSets = cache.labelSets(
    'server',
    n,
    (i) => serverAt(i).backend,
    (i) => serverAt(i).name,
    (i) => `${proxyLabel(serverAt(i).backend)},server="${escapeLabelValue(serverAt(i).name)}"`,
  );
  writeStatFamilies(out, cache, stat, 'server', SERVER_FAMILIES.filter((f) => groups.has(f.group)), servers.map((s) => s.row), labelSets, groups.has('traffic'));
  const perServer = (name: string, help: string, value: (s: Server) => number | null | undefined): void =>
    cache.family(out, name, 'gauge', help, labelSets, [column(cache, n, (i) => value(servers[i] as Server))]);

  if (groups.has('state')) {
    const byState = SERVER_STATES.map((state) => column(cache, n, (i) => ((servers[i] as Server).state === state ? 1 : null), `,state="${state}"`));
    cache.family(out, 'haproxy_server_state', 'gauge', "1 for the server's current state (up, down, maint, drain, nolb); only that state's series exists.", labelSets, byState);
    const checkStatus = (s: Server): string | null => (s.check?.status && !s.check.paused ? s.check.status : null);
    const statuses = [...new Set(servers.map(checkStatus).filter((x): x is string => x !== null))].sort();
    const byStatus = statuses.map((status) => column(cache, n, (i) => (checkStatus(servers[i] as Server) === status ? 1 : null), `,status="${escapeLabelValue(status)}"`));
    cache.family(out, 'haproxy_server_check_status', 'gauge', "1 for the status of the server's last health check (L4CON, L7STS, L7OK, ...); absent without a check or while checks are paused (MAINT).", labelSets, byStatus);
    perServer('haproxy_server_checks_until_down', 'Failed health checks left before HAProxy marks the server DOWN (0 once DOWN).', (s) => s.check?.failuresUntilDown);
    // HAProxy counts whole seconds since the change: the change's second, stable from scrape to scrape.
    perServer('haproxy_server_last_state_change_timestamp_seconds', "When the server's operational state last changed, seconds since the epoch.", (s) =>
      s.lastChangeAt === null ? null : Math.floor(s.lastChangeAt / 1000),
    );
  }
  if (groups.has('sessions')) {
    perServer('haproxy_server_sessions_utilization_ratio', 'Current sessions / maxconn; at 1 new requests queue.', (s) => (s.sessions.limit ? s.sessions.current / s.sessions.limit : null));
  }
  if (groups.has('changes')) {
    const counts = servers.map((s) => watcher.changesOf(s.backend, s.name));
    const byState = SERVER_STATES.map((to) => column(cache, n, (i) => counts[i]?.[to], `,to="${to}"`));
    cache.family(out, 'haproxy_server_state_changes_total', 'counter', 'State changes the watcher saw, by the state entered.', labelSets, byState);
  }
}

/** The diagnosis as 0/1 series: every code for every object, so alerts see 0 before a 503. */
export function writeDiagnosisMetrics(out: ExpositionWriter, diagnosis: Diagnosis, options: RenderOptions): void {
  const filter = options.collect.backends;
  /** `proxy` is null for the process, which has no label. */
  type Found = { readonly proxy: string | null; readonly findings: readonly Finding[] };
  const family = (name: string, label: 'cause' | 'risk', help: string, codes: readonly string[], objects: readonly Found[]): void => {
    const at = (i: number): Found => objects[i] as Found;
    const labelSets = options.cache.labelSets(name, objects.length, (i) => at(i).proxy ?? '', null, (i) => (at(i).proxy === null ? '' : proxyLabel(at(i).proxy as string)));
    const columns = codes.map((code) => column(options.cache, objects.length, (i) => (hasCode(at(i).findings, code) ? 1 : 0), `,${label}="${code}"`));
    options.cache.family(out, name, 'gauge', help, labelSets, columns);
  };
  const backends = filter ? diagnosis.backends.filter((b) => filter.test(b.name)) : diagnosis.backends;
  family('haproxy_backend_503_cause', 'cause', '1 while HAProxy answers 503 for this backend for this cause.', BACKEND_CAUSES, backends.map((b) => ({ proxy: b.name, findings: b.causes })));
  family('haproxy_backend_503_risk', 'risk', '1 while this risk of a 503 holds for the backend.', BACKEND_RISKS, backends.map((b) => ({ proxy: b.name, findings: b.risks })));
  const frontends = diagnosis.frontends;
  family('haproxy_frontend_503_cause', 'cause', '1 while HAProxy answers 503 on this frontend for this cause.', FRONTEND_CAUSES, frontends.map((f) => ({ proxy: f.name, findings: f.causes })));
  family('haproxy_frontend_503_risk', 'risk', '1 while this risk of a 503 holds for the frontend.', FRONTEND_RISKS, frontends.map((f) => ({ proxy: f.name, findings: f.risks })));
  if (!diagnosis.process.known) return;
  family('haproxy_process_503_cause', 'cause', '1 while this process-wide cause of 503s holds (from the master CLI).', PROCESS_CAUSES, [{ proxy: null, findings: diagnosis.process.causes }]);
  family('haproxy_process_503_risk', 'risk', '1 while this process-wide risk holds (from the master CLI).', PROCESS_RISKS, [{ proxy: null, findings: diagnosis.process.risks }]);
}

/** A loop, not `some` with a closure: asked for every code of every backend on each scrape. */
function hasCode(findings: readonly Finding[], code: string): boolean {
  for (const f of findings) if (f.code === code) return true;
  return false;
}
