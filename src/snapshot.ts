// One read of HAProxy as frontends, backends and servers. It knows nothing of Prometheus: the
// metrics, /explain and the CLI all read their facts from here, so they cannot disagree.

import { checkStatusDescription, checkStatusByNumber } from './parse/checkStatus.js';
import type { Info } from './parse/info.js';
import { ADMIN, CHECK_STATE, type ServerStateRow } from './parse/serversState.js';
import { cell, numberCell, type StatRow, type StatTable } from './parse/stat.js';
import { parseStatus } from './parse/status.js';

export type ServerState = 'up' | 'down' | 'maint' | 'drain' | 'nolb';
export const SERVER_STATES: readonly ServerState[] = ['up', 'down', 'maint', 'drain', 'nolb'];

/** Why a server is held in MAINT or DRAIN; `unknown` when the source cannot tell (the stats page). */
export type HoldReason = 'forced' | 'inherited' | 'config' | 'resolution' | 'agent' | 'weight_zero' | 'unknown';

export interface ServerCondition {
  readonly state: ServerState;
  readonly held: readonly HoldReason[];
  /** Can take a new request: UP, not MAINT, DRAIN or NOLB, and a weight above 0. */
  readonly usable: boolean;
}

/** The condition from `show servers state`: the operational state plus the admin bit field. */
export function conditionFromRuntime(row: Pick<ServerStateRow, 'opState' | 'adminState' | 'userWeight'>): ServerCondition {
  const admin = row.adminState;
  const maint: HoldReason[] = [];
  if (admin & ADMIN.FMAINT) maint.push('forced');
  if (admin & ADMIN.IMAINT) maint.push('inherited');
  if (admin & ADMIN.CMAINT) maint.push('config');
  if (admin & ADMIN.RMAINT) maint.push('resolution');
  if (maint.length > 0) return { state: 'maint', held: maint, usable: false };
  if (row.opState === 'stopped') return { state: 'down', held: [], usable: false };
  if (row.opState === 'stopping') return { state: 'nolb', held: [], usable: false };
  const drain: HoldReason[] = [];
  if (admin & ADMIN.FDRAIN) drain.push('forced');
  if (admin & ADMIN.IDRAIN) drain.push('inherited');
  if (drain.length === 0 && row.userWeight === 0) drain.push('weight_zero');
  if (drain.length > 0) return { state: 'drain', held: drain, usable: false };
  return { state: 'up', held: [], usable: true };
}

/** The condition from the `status` text alone, when `show servers state` cannot be read. */
export function conditionFromStatus(status: string, weight: number | null): ServerCondition | null {
  const parsed = parseStatus(status);
  if (parsed === null) return null;
  switch (parsed.word) {
    case 'MAINT': {
      const reason: HoldReason = parsed.via !== null ? 'inherited' : parsed.resolution ? 'resolution' : 'unknown';
      return { state: 'maint', held: [reason], usable: false };
    }
    case 'DRAIN':
      return { state: 'drain', held: [parsed.agent ? 'agent' : weight === 0 ? 'weight_zero' : 'unknown'], usable: false };
    case 'NOLB':
      return { state: 'nolb', held: [], usable: false };
    case 'DOWN':
      return { state: 'down', held: [], usable: false };
    case 'UP':
    case 'no check':
      return weight === 0
        ? { state: 'drain', held: ['weight_zero'], usable: false }
        : { state: 'up', held: [], usable: true };
    default:
      return null;
  }
}

export interface HealthCheck {
  /** `L4CON`, `L7OK`, ...; null before the first result. */
  readonly status: string | null;
  /** `Layer4 connection problem`. */
  readonly description: string | null;
  /** What the check saw: `Connection refused`, `Internal Server Error`. */
  readonly detail: string | null;
  readonly code: number | null;
  readonly durationSeconds: number | null;
  readonly inProgress: boolean;
  /** Checks stop while a server is in MAINT. */
  readonly paused: boolean;
  readonly rise: number | null;
  readonly fall: number | null;
  /** HAProxy's counter, 0 to rise+fall-1; the server is UP while health >= rise. */
  readonly health: number | null;
  /** Failed checks left before HAProxy marks the server DOWN; 0 once it is DOWN. */
  readonly failuresUntilDown: number | null;
  /** Successful checks still needed before HAProxy marks a DOWN server UP. */
  readonly successesUntilUp: number | null;
}

export interface Server {
  readonly backend: string;
  readonly name: string;
  readonly state: ServerState;
  readonly held: readonly HoldReason[];
  readonly usable: boolean;
  readonly backup: boolean;
  readonly weight: number | null;
  /** `be/srv` when this server takes its state from another (`track`). */
  readonly tracks: string | null;
  readonly address: string | null;
  /** The raw `status` text, as a person reading `show stat` would see it. */
  readonly status: string;
  /** Null when the server has no health check (`no check`, or it tracks another). */
  readonly check: HealthCheck | null;
  readonly sessions: { readonly current: number; readonly limit: number | null; readonly total: number };
  readonly queue: { readonly current: number; readonly limit: number | null };
  /** When its operational state last changed, in ms since the epoch. */
  readonly lastChangeAt: number | null;
  readonly row: StatRow;
}

export interface Backend {
  readonly name: string;
  readonly servers: readonly Server[];
  readonly counts: {
    readonly total: number;
    readonly usable: number;
    readonly down: number;
    readonly maint: number;
    readonly drain: number;
    readonly nolb: number;
    readonly backupUsable: number;
  };
  /** No server, active or backup, can take a new request: HAProxy answers 503. */
  readonly noUsableServer: boolean;
  /** Over usable servers with a `maxconn`: their sessions and the sum of their limits. */
  readonly capacity: { readonly sessions: number; readonly limit: number } | null;
  readonly queue: number;
  readonly sessions: number;
  readonly lastChangeAt: number | null;
  /** The BACKEND row; its `slim` is `fullconn`, not the servers' capacity. */
  readonly row: StatRow | null;
}

export interface Frontend {
  readonly name: string;
  /** `OPEN`, `FULL` (at maxconn) or `STOP`. */
  readonly status: string;
  readonly sessions: { readonly current: number; readonly limit: number | null };
  readonly row: StatRow;
}

export type SourceKind = 'socket' | 'stats_url';

export interface Snapshot {
  readonly takenAt: number;
  readonly source: SourceKind;
  readonly info: Info | null;
  readonly frontends: readonly Frontend[];
  readonly backends: readonly Backend[];
  /** Details this source cannot give, said rather than guessed. */
  readonly unknown: readonly string[];
  readonly stat: StatTable;
}

export interface SnapshotInput {
  readonly takenAt: number;
  readonly source: SourceKind;
  readonly stat: StatTable;
  readonly serversState: readonly ServerStateRow[] | null;
  readonly info: Info | null;
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const { stat, takenAt } = input;
  const runtime = new Map<string, ServerStateRow>();
  for (const row of input.serversState ?? []) runtime.set(serverKey(row.backend, row.server), row);

  const frontends: Frontend[] = [];
  const serversByBackend = new Map<string, Server[]>();
  const backendRows = new Map<string, StatRow>();
  const order: string[] = [];
  const seen = (proxy: string): void => {
    if (!serversByBackend.has(proxy)) {
      serversByBackend.set(proxy, []);
      order.push(proxy);
    }
  };
  for (const row of stat.rows) {
    if (row.type === 'frontend') {
      frontends.push({
        name: row.proxy,
        status: cell(stat, row, 'status') ?? '',
        sessions: { current: numberCell(stat, row, 'scur') ?? 0, limit: numberCell(stat, row, 'slim') },
        row,
      });
    } else if (row.type === 'backend') {
      seen(row.proxy);
      backendRows.set(row.proxy, row);
    } else if (row.type === 'server') {
      seen(row.proxy);
      const server = buildServer(stat, row, runtime.get(serverKey(row.proxy, row.name)) ?? null, takenAt);
      serversByBackend.get(row.proxy)?.push(server);
    }
  }

  const backends = order.map((name) => buildBackend(stat, name, serversByBackend.get(name) ?? [], backendRows.get(name) ?? null, takenAt));
  const unknown: string[] = [];
  if (input.info === null) unknown.push('process information (show info)');
  if (input.serversState === null) {
    unknown.push('why a server is in MAINT or DRAIN (operator, configuration or tracking)');
    unknown.push('health-check settings of servers in MAINT');
  }
  return { takenAt, source: input.source, info: input.info, frontends, backends, unknown, stat };
}

export function serverKey(backend: string, server: string): string {
  return `${backend}/${server}`;
}

function buildServer(stat: StatTable, row: StatRow, runtime: ServerStateRow | null, takenAt: number): Server {
  const status = cell(stat, row, 'status') ?? '';
  const weight = runtime?.userWeight ?? numberCell(stat, row, 'weight');
  const condition =
    (runtime ? conditionFromRuntime(runtime) : conditionFromStatus(status, weight)) ??
    // A status this version invented: not usable, and said as it is.
    { state: 'down' as const, held: [], usable: false };
  const tracked = cell(stat, row, 'tracked');
  const secondsSinceChange = runtime?.secondsSinceChange ?? numberCell(stat, row, 'lastchg');
  return {
    backend: row.proxy,
    name: row.name,
    state: condition.state,
    held: condition.held,
    usable: condition.usable,
    backup: numberCell(stat, row, 'bck') === 1,
    weight,
    tracks: tracked ? tracked : null,
    // `addr` is empty on a `level user` socket; show servers state has the address and port.
    address: cell(stat, row, 'addr') || (runtime ? hostPort(runtime.address, runtime.port) : null),
    status,
    check: buildCheck(stat, row, runtime, condition.state),
    sessions: {
      current: numberCell(stat, row, 'scur') ?? 0,
      limit: numberCell(stat, row, 'slim'),
      total: numberCell(stat, row, 'stot') ?? 0,
    },
    queue: { current: numberCell(stat, row, 'qcur') ?? 0, limit: numberCell(stat, row, 'qlimit') },
    lastChangeAt: secondsSinceChange === null ? null : takenAt - secondsSinceChange * 1000,
    row,
  };
}

function buildCheck(stat: StatTable, row: StatRow, runtime: ServerStateRow | null, state: ServerState): HealthCheck | null {
  const statusCell = cell(stat, row, 'check_status') ?? '';
  const inProgress = statusCell.startsWith('* ');
  let status: string | null = inProgress ? statusCell.slice(2) : statusCell;
  let paused = false;
  if (runtime) {
    if (!(runtime.checkState & CHECK_STATE.CONFIGURED)) return null;
    paused = (runtime.checkState & CHECK_STATE.PAUSED) !== 0;
    // `show stat` leaves check_status empty while checks are paused; the number still says the last one.
    if (status === '') status = checkStatusByNumber(runtime.checkStatus).name;
  } else if (status === '') {
    return null;
  }
  if (status === 'UNK') status = null;
  const rise = numberCell(stat, row, 'check_rise');
  const fall = numberCell(stat, row, 'check_fall');
  const health = runtime?.checkHealth ?? numberCell(stat, row, 'check_health');
  const counting = !paused && state !== 'maint' && rise !== null && health !== null;
  const isDown = state === 'down';
  return {
    status,
    description: cell(stat, row, 'check_desc') || (status ? checkStatusDescription(status) : null),
    detail: cell(stat, row, 'last_chk') || null,
    code: numberCell(stat, row, 'check_code'),
    durationSeconds: msToSeconds(numberCell(stat, row, 'check_duration')),
    inProgress,
    paused,
    rise,
    fall,
    health,
    failuresUntilDown: counting ? (isDown ? 0 : Math.max(1, health - rise + 1)) : null,
    successesUntilUp: counting && isDown ? Math.max(0, rise - health) : null,
  };
}

function buildBackend(stat: StatTable, name: string, servers: Server[], row: StatRow | null, takenAt: number): Backend {
  const counts = { total: servers.length, usable: 0, down: 0, maint: 0, drain: 0, nolb: 0, backupUsable: 0 };
  let capacitySessions = 0;
  let capacityLimit = 0;
  for (const s of servers) {
    if (s.usable) {
      counts.usable++;
      if (s.backup) counts.backupUsable++;
      if (s.sessions.limit !== null && s.sessions.limit > 0) {
        capacitySessions += s.sessions.current;
        capacityLimit += s.sessions.limit;
      }
    }
    if (s.state !== 'up') counts[s.state]++;
  }
  const secondsSinceChange = row ? numberCell(stat, row, 'lastchg') : null;
  return {
    name,
    servers,
    counts,
    noUsableServer: counts.usable === 0,
    capacity: capacityLimit > 0 ? { sessions: capacitySessions, limit: capacityLimit } : null,
    queue: row ? (numberCell(stat, row, 'qcur') ?? 0) : 0,
    sessions: row ? (numberCell(stat, row, 'scur') ?? 0) : 0,
    lastChangeAt: secondsSinceChange === null ? null : takenAt - secondsSinceChange * 1000,
    row,
  };
}

function hostPort(address: string, port: number | null): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port ? `${host}:${port}` : host;
}

export function msToSeconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}
