// The per-server series of a read: each server's `show stat` cells and what the watcher knows of
// it, side by side, compared with the last read's as they are gathered.

import type { CollectOptions } from '../config.js';
import type { StatTable } from '../parse/stat.js';
import { SERVER_STATES, type ServerState, type ServerTable } from '../snapshot.js';
import type { ReadHistory } from '../watcher.js';
import { contiguous, escapeLabelValue, type ExpositionWriter, type SeriesCache, type SeriesColumn } from './exposition.js';
import { readCells, sameStatLayout, SERVER_FAMILIES, statLayoutOf, type StatLayout } from './families.js';
import { trackedFamilies, TrackedValues, type TrackedSeries } from './tracked.js';

/** `haproxy_server_state`'s states: those HAProxy says, and `unknown` for a status text nosrv does not know. */
const STATE_SERIES: readonly ServerState[] = [...SERVER_STATES, 'unknown'];

/** The `show stat` columns of the server families this HAProxy has, for the groups turned on. */
interface Layout extends StatLayout {
  readonly state: boolean;
  readonly sessions: boolean;
  readonly changes: boolean;
  /** Values kept per server: the cells, then the series computed from the server. */
  readonly width: number;
}

function layoutOf(collect: CollectOptions, columns: ReadonlyMap<string, number>): Layout {
  const groups = collect.serverMetrics;
  const cells = statLayoutOf(
    SERVER_FAMILIES.filter((f) => groups.has(f.group)),
    columns,
    groups.has('traffic'),
  );
  const state = groups.has('state');
  const sessions = groups.has('sessions');
  const changes = groups.has('changes');
  const width = cells.indexes.length + (state ? STATE_SERIES.length + 2 : 0) + (sessions ? 1 : 0) + (changes ? SERVER_STATES.length : 0);
  return { ...cells, state, sessions, changes, width };
}

function sameLayout(a: Layout, b: Layout): boolean {
  return a.width === b.width && a.state === b.state && a.sessions === b.sessions && a.changes === b.changes && sameStatLayout(a, b);
}

/** A read's per-server series, as `ServerSeriesGatherer` kept them. */
export interface ServerSeries extends TrackedSeries {
  readonly servers: ServerTable;
  /** The servers the series are of, as indexes of `servers`. */
  readonly indexes: Int32Array;
  readonly layout: Layout;
  /** The status of each server's last check, for `haproxy_server_check_status`; null for none. */
  readonly checkStatuses: ReadonlyArray<string | null>;
}

/** Gathers the series of one read's servers, each server's values in `TrackedValues`; `finish` hands them over. */
export class ServerSeriesGatherer {
  private readonly tracked: TrackedValues<Layout>;
  private servers: ServerTable | null = null;
  private history: ReadHistory | null = null;
  private indexes = new Int32Array(0);
  private count = 0;
  private checkStatuses: Array<string | null> = [];
  /** The last backend asked of the filter, and its answer: servers come backend by backend. */
  private lastBackend: string | null = null;
  private lastBackendWanted = true;

  constructor(private readonly collect: CollectOptions) {
    this.tracked = new TrackedValues((columns) => layoutOf(collect, columns), sameLayout);
  }

  /** Starts gathering a read's `servers`, with what the watcher knew of them, in the room the last read left. */
  begin(servers: ServerTable, history: ReadHistory): void {
    this.tracked.begin();
    this.servers = servers;
    this.history = history;
    this.indexes = new Int32Array(servers.length);
    this.count = 0;
    this.checkStatuses = new Array<string | null>(servers.length);
    this.lastBackend = null;
  }

  /** Server `i` of the read. */
  add(i: number, stat: StatTable): void {
    const { servers, history } = this;
    if (servers === null || history === null) throw new Error('add before begin');
    const { state } = servers.condition(i);
    const backend = servers.backend(i);
    if (this.collect.serverMetrics.size === 0 || (this.collect.noMaint && state === 'maint') || !this.wanted(backend)) return;
    const layout = this.tracked.layoutFor(stat.columns);
    const k = this.count++;
    this.indexes[k] = i;
    // The server's values are put together first, then compared with the last read's in one pass.
    const cells = this.tracked.next;
    readCells(stat, servers.row(i), layout, cells, 0, 1);
    let value = layout.indexes.length;
    const seen = history.server(i);
    if (layout.state) {
      for (const series of STATE_SERIES) cells[value++] = state === series ? 1 : NaN;
      cells[value++] = servers.failuresUntilDown(i) ?? NaN;
      // The watcher's: stable from read to read (a server it has not taken: this read's own).
      const lastChangeAt = servers.lastChangeAt(i);
      cells[value++] = seen?.changedAt ?? (lastChangeAt === null ? NaN : Math.floor(lastChangeAt / 1000));
      const checkStatus = servers.checkStatus(i);
      this.checkStatuses[k] = checkStatus && !servers.checkPaused(i) ? checkStatus : null;
    }
    if (layout.sessions) {
      const limit = servers.limit(i);
      cells[value++] = limit ? servers.sessions(i) / limit : NaN;
    }
    if (layout.changes) {
      const counts = seen?.changes;
      for (const to of SERVER_STATES) cells[value++] = counts?.[to] ?? NaN;
    }
    this.tracked.add();
  }

  /** The read's series; `columns` are its `show stat` columns, for a read without servers. */
  finish(columns: ReadonlyMap<string, number>): ServerSeries {
    const servers = this.servers;
    if (servers === null) throw new Error('finish before begin');
    const layout = this.tracked.layoutFor(columns);
    this.checkStatuses.length = layout.state ? this.count : 0;
    const series = { ...this.tracked.finish(), servers, indexes: this.indexes.subarray(0, this.count), layout, checkStatuses: this.checkStatuses };
    // Not kept past the scrapes that render it: its servers hold the whole read.
    this.servers = null;
    this.history = null;
    this.checkStatuses = [];
    return series;
  }

  private wanted(backend: string): boolean {
    const filter = this.collect.backends;
    if (filter === null) return true;
    if (backend !== this.lastBackend) {
      this.lastBackend = backend;
      this.lastBackendWanted = filter.test(backend);
    }
    return this.lastBackendWanted;
  }
}

/** The per-server families, from a read's series, in the order `add` keeps their values. */
export function writeServerSeries(out: ExpositionWriter, cache: SeriesCache, series: ServerSeries, proxyLabel: (name: string) => string): void {
  const { servers, indexes, layout } = series;
  const at = (k: number): number => indexes[k] ?? -1;
  const labelSets = cache.labelSets(
    'server',
    indexes.length,
    (k) => servers.backend(at(k)),
    (k) => servers.name(at(k)),
    // Joined, not a template: see `proxyLabel` in haproxy.ts.
    (k) => [proxyLabel(servers.backend(at(k))), ',server="', escapeLabelValue(servers.name(at(k))), '"'].join(''),
  );
  const families = trackedFamilies(out, cache, series, labelSets);
  families.statFamilies('server', layout);
  if (layout.state) {
    families.family(
      'haproxy_server_state',
      'gauge',
      "1 for the server's current state (up, down, maint, drain, nolb, or unknown for a status nosrv does not know); only that state's series exists.",
      STATE_SERIES.map((state) => `,state="${state}"`),
    );
    // Not among the gathered values: compared with the cache's copy.
    cache.family(
      out,
      'haproxy_server_check_status',
      'gauge',
      "1 for the status of the server's last health check (L4CON, L7STS, L7OK, ...); absent without a check or while checks are paused (MAINT).",
      labelSets,
      checkStatusColumns(series.checkStatuses),
    );
    families.family('haproxy_server_checks_until_down', 'gauge', 'Failed health checks left before HAProxy marks the server DOWN (0 once DOWN).');
    families.family(
      'haproxy_server_last_state_change_timestamp_seconds',
      'gauge',
      "When the server's operational state last changed, seconds since the epoch.",
    );
  }
  if (layout.sessions) families.family('haproxy_server_sessions_utilization_ratio', 'gauge', 'Current sessions / maxconn; at 1 new requests queue.');
  if (layout.changes)
    families.family(
      'haproxy_server_state_changes_total',
      'counter',
      'State changes the watcher saw, by the state entered.',
      SERVER_STATES.map((to) => `,to="${to}"`),
    );
}

/** A column per status seen, in name order: 1 for the servers whose last check had it. */
function checkStatusColumns(statuses: ReadonlyArray<string | null>): SeriesColumn[] {
  const seen = [...new Set(statuses)].filter((s): s is string => s !== null).sort();
  return seen.map((status) => {
    const values = new Float64Array(statuses.length);
    for (let i = 0; i < statuses.length; i++) values[i] = statuses[i] === status ? 1 : NaN;
    return contiguous(values, `,status="${escapeLabelValue(status)}"`);
  });
}
