// Which `show stat` and `show info` columns become which haproxy_* family. Where the fact is the
// one HAProxy's built-in exporter (promex) exports, the name and meaning are promex's.

import type { StatTable } from '../parse/stat.js';
import type { ServerMetricGroup } from '../config.js';
import type { ExpositionWriter, MetricType, SeriesCache, SeriesColumn, SeriesHistory } from './exposition.js';

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
  {
    column: 'econ',
    group: 'errors',
    suffix: 'connection_errors_total',
    type: 'counter',
    help: 'Requests that failed to connect to a server (for a backend, also those with no server to try).',
  },
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
  {
    column: 'qtime',
    group: 'timing',
    suffix: 'queue_time_average_seconds',
    type: 'gauge',
    help: 'Average queue time of the last 1024 successful connections (requests that timed out in the queue are not in it).',
    ms: true,
  },
  {
    column: 'ctime',
    group: 'timing',
    suffix: 'connect_time_average_seconds',
    type: 'gauge',
    help: 'Average connect time of the last 1024 requests.',
    ms: true,
  },
  {
    column: 'rtime',
    group: 'timing',
    suffix: 'response_time_average_seconds',
    type: 'gauge',
    help: 'Average response time of the last 1024 requests.',
    ms: true,
  },
  {
    column: 'ttime',
    group: 'timing',
    suffix: 'total_time_average_seconds',
    type: 'gauge',
    help: 'Average total session time of the last 1024 requests.',
    ms: true,
  },
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

export const HTTP_RESPONSES_HELP = 'HTTP responses by status class (HAProxy-made 503s count on the backend, not on a server).';

export const HTTP_CODES = [
  ['1xx', 'hrsp_1xx'],
  ['2xx', 'hrsp_2xx'],
  ['3xx', 'hrsp_3xx'],
  ['4xx', 'hrsp_4xx'],
  ['5xx', 'hrsp_5xx'],
  ['other', 'hrsp_other'],
] as const;

/** The families and HTTP code columns this HAProxy's `show stat` has: where their cells are, and what each is divided by (1000 for milliseconds). */
export interface StatLayout {
  readonly families: ReadonlyArray<{ readonly family: StatFamily; readonly index: number }>;
  readonly codes: ReadonlyArray<{ readonly code: string; readonly index: number }>;
  /** The families' cells, then the codes'. */
  readonly indexes: Int32Array;
  readonly divisors: Float64Array;
}

export function statLayoutOf(families: readonly StatFamily[], columns: ReadonlyMap<string, number>, withCodes: boolean): StatLayout {
  const present = families.flatMap((family) => {
    const index = columns.get(family.column);
    return index === undefined ? [] : [{ family, index }];
  });
  const codes = withCodes
    ? HTTP_CODES.flatMap(([code, name]) => {
        const index = columns.get(name);
        return index === undefined ? [] : [{ code, index }];
      })
    : [];
  const cells = [...present.map((f) => ({ index: f.index, divisor: f.family.ms ? 1000 : 1 })), ...codes.map((c) => ({ index: c.index, divisor: 1 }))];
  return { families: present, codes, indexes: Int32Array.from(cells, (c) => c.index), divisors: Float64Array.from(cells, (c) => c.divisor) };
}

/** The row's cells of `layout`, in seconds where HAProxy says milliseconds (divided, so that 43 ms is 0.043), NaN where a cell is missing or not a number, into out[at], out[at + stride], ... */
export function readCells(stat: StatTable, row: number, layout: StatLayout, out: Float64Array, at: number, stride: number): void {
  const { indexes, divisors } = layout;
  stat.numbers(row, indexes, out, at, stride);
  for (let c = 0; c < divisors.length; c++, at += stride) {
    const divisor = divisors[c] ?? 1;
    if (divisor !== 1) out[at] = (out[at] ?? NaN) / divisor;
  }
}

/** The same families at the same cells. */
export function sameStatLayout(a: StatLayout, b: StatLayout): boolean {
  return (
    a.families.length === b.families.length &&
    a.families.every((f, i) => f.family === b.families[i]?.family && f.index === b.families[i].index) &&
    a.codes.length === b.codes.length &&
    a.codes.every((c, i) => c.code === b.codes[i]?.code && c.index === b.codes[i].index)
  );
}

/**
 * Writes one kind of object's families in the order their columns are kept: each family takes the
 * next columns, from `column`, with what changed in them from `history` (null: the cache compares
 * them with its copy).
 */
export class FamilyWriter {
  private next = 0;

  constructor(
    private readonly out: ExpositionWriter,
    private readonly cache: SeriesCache,
    private readonly labelSets: readonly string[],
    private readonly column: (k: number, extra: string) => SeriesColumn,
    private readonly history: ((from: number, to: number) => SeriesHistory) | null,
  ) {}

  /** A family of one column per label suffix in `extras` (by default one, with none). */
  family(name: string, type: MetricType, help: string, extras: readonly string[] = ['']): void {
    const from = this.next;
    const columns = extras.map((extra) => this.column(this.next++, extra));
    this.cache.family(this.out, name, type, help, this.labelSets, columns, this.history?.(from, this.next) ?? null);
  }

  /** The `show stat` families of `layout`, then its HTTP status classes. */
  statFamilies(scope: string, layout: StatLayout): void {
    for (const { family } of layout.families) this.family(`haproxy_${scope}_${family.suffix}`, family.type, family.help);
    if (layout.codes.length > 0)
      this.family(
        `haproxy_${scope}_http_responses_total`,
        'counter',
        HTTP_RESPONSES_HELP,
        layout.codes.map((c) => `,code="${c.code}"`),
      );
  }
}

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
