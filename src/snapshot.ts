// One read of HAProxy as frontends, backends and servers. It knows nothing of Prometheus: the
// metrics, /explain and the CLI all read their facts from here, so they cannot disagree.

import { checkStatusDescription, checkStatusByNumber } from './parse/checkStatus.js';
import type { Info } from './parse/info.js';
import { ADMIN, CHECK_STATE, type OpState, type ServersStateTable } from './parse/serversState.js';
import { cell, numberCell, type StatTable } from './parse/stat.js';
import { ParseError } from './parse/errors.js';
import { parseStatus } from './parse/status.js';

/** A state HAProxy said; `unknown` for a `status` text nosrv does not know, which is said as it is, never guessed. */
export type ServerState = KnownState | 'unknown';
export type KnownState = 'up' | 'down' | 'maint' | 'drain' | 'nolb';
export const SERVER_STATES: readonly KnownState[] = ['up', 'down', 'maint', 'drain', 'nolb'];

/** Why a server is held in MAINT or DRAIN; `unknown` when the source cannot tell (the stats page). */
export type HoldReason = 'forced' | 'inherited' | 'config' | 'resolution' | 'agent' | 'weight_zero' | 'unknown';

export interface ServerCondition {
  readonly state: ServerState;
  readonly held: readonly HoldReason[];
  /** Can take a new request: UP, not MAINT, DRAIN or NOLB, and a weight above 0. */
  readonly usable: boolean;
}

// The conditions of most servers, shared: a read of 10,000 servers need not allocate one each.
const UP: ServerCondition = Object.freeze({ state: 'up', held: Object.freeze([]), usable: true });
const DOWN: ServerCondition = Object.freeze({ state: 'down', held: Object.freeze([]), usable: false });
const NOLB: ServerCondition = Object.freeze({ state: 'nolb', held: Object.freeze([]), usable: false });
/** Not counted as able to take requests, nor as unable: a backend with such servers gets no verdict from them. */
const UNKNOWN: ServerCondition = Object.freeze({ state: 'unknown', held: Object.freeze([]), usable: false });

/** The condition from `show servers state`: the operational state plus the admin bit field. */
export function conditionFromRuntime(opState: OpState, admin: number, userWeight: number): ServerCondition {
  if (admin & (ADMIN.FMAINT | ADMIN.IMAINT | ADMIN.CMAINT | ADMIN.RMAINT)) {
    const maint: HoldReason[] = [];
    if (admin & ADMIN.FMAINT) maint.push('forced');
    if (admin & ADMIN.IMAINT) maint.push('inherited');
    if (admin & ADMIN.CMAINT) maint.push('config');
    if (admin & ADMIN.RMAINT) maint.push('resolution');
    return { state: 'maint', held: maint, usable: false };
  }
  if (opState === 'stopped') return DOWN;
  if (opState === 'stopping') return NOLB;
  if (admin & (ADMIN.FDRAIN | ADMIN.IDRAIN) || userWeight === 0) {
    const drain: HoldReason[] = [];
    if (admin & ADMIN.FDRAIN) drain.push('forced');
    if (admin & ADMIN.IDRAIN) drain.push('inherited');
    if (drain.length === 0) drain.push('weight_zero');
    return { state: 'drain', held: drain, usable: false };
  }
  return UP;
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
      return NOLB;
    case 'DOWN':
      return DOWN;
    case 'UP':
    case 'no check':
      return weight === 0 ? { state: 'drain', held: ['weight_zero'], usable: false } : UP;
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
  readonly sessions: { readonly current: number; readonly limit: number | null };
  /** When its operational state last changed, in ms since the epoch. */
  readonly lastChangeAt: number | null;
  /** Its row in the snapshot's `stat`. */
  readonly row: number;
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
    /** Servers whose `status` text nosrv does not know. */
    readonly unknown: number;
    readonly backupUsable: number;
  };
  /** No server, active or backup, can take a new request: HAProxy answers 503. False while a server's state is unknown. */
  readonly noUsableServer: boolean;
  /** Over usable servers with a `maxconn`: their sessions and the sum of their limits. */
  readonly capacity: { readonly sessions: number; readonly limit: number } | null;
  readonly queue: number;
  readonly sessions: number;
  readonly lastChangeAt: number | null;
  /** The BACKEND row in the snapshot's `stat`; its `slim` is `fullconn`, not the servers' capacity. */
  readonly row: number | null;
}

export interface Frontend {
  readonly name: string;
  /** `OPEN`, `FULL` (at maxconn) or `STOP`. */
  readonly status: string;
  readonly sessions: { readonly current: number; readonly limit: number | null };
  /** Its row in the snapshot's `stat`. */
  readonly row: number;
}

export type SourceKind = 'socket' | 'stats_url';

/** What the watcher takes of a server from each read: a snapshot's servers are such, and so is each server of a poll. */
export type ServerObservation = Pick<Server, 'backend' | 'name' | 'state' | 'held' | 'usable' | 'lastChangeAt'> & {
  readonly check: Pick<HealthCheck, 'status'> | null;
};

/** The servers of a poll: from `show servers state`, or from the `status` texts of the stats page's CSV. */
export function pollObservations(table: { readonly serversState: ServersStateTable } | { readonly stat: StatTable }): ServerObservation[] {
  const observations: ServerObservation[] = [];
  if ('serversState' in table) {
    const state = table.serversState;
    for (let i = 0; i < state.length; i++) {
      const condition = conditionFromRuntime(state.opState(i), state.number(i, 'adminState'), state.number(i, 'userWeight'));
      const check = state.number(i, 'checkState') === 0 ? null : { status: checkStatusByNumber(state.number(i, 'checkStatus')).name };
      observations.push({ backend: state.backend(i), name: state.server(i), ...condition, check, lastChangeAt: null });
    }
    return observations;
  }
  const { stat } = table;
  for (let row = 0; row < stat.length; row++) {
    if (stat.type(row) !== 'server') continue;
    const condition = conditionFromStatus(cell(stat, row, 'status') ?? '', numberCell(stat, row, 'weight'));
    if (condition === null) continue;
    const check = (cell(stat, row, 'check_status') ?? '').replace(/^\* /, '');
    observations.push({ backend: stat.proxy(row), name: stat.name(row), ...condition, check: check ? { status: check } : null, lastChangeAt: null });
  }
  return observations;
}

/**
 * One read. Its servers and their checks read some fields from their `show stat` rows when asked
 * (address, weight, backup, tracks; a check's description, detail, code, duration and fall): the
 * rows are the read's own, so a snapshot, and anything made from it, stays valid for good.
 */
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
  readonly serversState: ServersStateTable | null;
  readonly info: Info | null;
}

export function buildSnapshot(input: SnapshotInput): Snapshot {
  const builder = new SnapshotBuilder(input.stat, input.takenAt, input.serversState);
  for (let row = 0; row < input.stat.length; row++) builder.add(row);
  const unknown: string[] = [];
  if (input.info === null) unknown.push('process information (show info)');
  if (input.serversState === null) {
    unknown.push('why a server is in MAINT or DRAIN (operator, configuration or tracking)');
    unknown.push('health-check settings of servers in MAINT');
  }
  return { takenAt: input.takenAt, source: input.source, info: input.info, ...builder.finish(), unknown, stat: input.stat };
}

/** The columns the snapshot reads as numbers. */
const NUMERIC_COLUMNS = [
  'weight',
  'lastchg',
  'bck',
  'scur',
  'slim',
  'qcur',
  'check_code',
  'check_duration',
  'check_rise',
  'check_fall',
  'check_health',
] as const;
type NumericColumn = (typeof NUMERIC_COLUMNS)[number];
const NUMERIC_AT: ReadonlyMap<NumericColumn, number> = new Map(NUMERIC_COLUMNS.map((name, i) => [name, i]));
/** The index of a column this version does not have: past every line's end, so it reads as nothing. */
const ABSENT = 0x7fffffff;

/** Where the columns the snapshot reads are in this version's `show stat`; undefined when it has none. */
function statColumns(columns: ReadonlyMap<string, number>) {
  const at = (name: string): number | undefined => columns.get(name);
  return {
    status: at('status'),
    weight: at('weight'),
    tracked: at('tracked'),
    lastchg: at('lastchg'),
    addr: at('addr'),
    scur: at('scur'),
    slim: at('slim'),
    qcur: at('qcur'),
    checkStatus: at('check_status'),
    checkDesc: at('check_desc'),
    lastChk: at('last_chk'),
    checkCode: at('check_code'),
    checkDuration: at('check_duration'),
    checkRise: at('check_rise'),
    checkFall: at('check_fall'),
    checkHealth: at('check_health'),
  };
}

function text(stat: StatTable, row: number, index: number | undefined): string | undefined {
  return index === undefined ? undefined : stat.cell(row, index);
}

/** A number from the row; null without a row (a proxy with no BACKEND line), column or value. */
function num(stat: StatTable, row: number | null, index: number | undefined): number | null {
  return row === null || index === undefined ? null : stat.number(row, index);
}

/** A column's text row after row; most servers' statuses are the row before's, and share its string. */
class RepeatedCell {
  private last = '';

  of(stat: StatTable, row: number, index: number | undefined): string {
    if (index === undefined) return '';
    if (!stat.cellIs(row, index, this.last)) this.last = stat.cell(row, index) ?? '';
    return this.last;
  }
}

/** Groups `show stat`'s rows into frontends and backends with their servers, in HAProxy's order. */
class SnapshotBuilder {
  private readonly columns: ReturnType<typeof statColumns>;
  private readonly read: ReadContext;
  private readonly frontends: Frontend[] = [];
  private readonly backends: Backend[] = [];
  /** Servers by proxy until its BACKEND row comes: HAProxy lists a proxy's servers, then that row. */
  private readonly waiting = new Map<string, Server[]>();
  /** The next server of `show servers state` in order. */
  private cursor = 0;
  private byName: Map<string, Map<string, number>> | null = null;
  private readonly lastStatus = new RepeatedCell();
  /** Where this version has the columns of NUMERIC_COLUMNS, in their order. */
  private readonly numericIndexes: Int32Array;
  /** The row being added's NUMERIC_COLUMNS, each read once; NaN for none. */
  private readonly numbers = new Float64Array(NUMERIC_COLUMNS.length);
  private readonly lastCheckStatus = new RepeatedCell();

  constructor(
    private readonly stat: StatTable,
    private readonly takenAt: number,
    private readonly serversState: ServersStateTable | null,
  ) {
    const statColumnsAt = stat.columns;
    // Without a server's status no verdict can be true: an answer without the column is refused whole.
    if (!statColumnsAt.has('status')) throw new ParseError('show stat', 'the header has no status column');
    this.columns = statColumns(statColumnsAt);
    this.numericIndexes = Int32Array.from(NUMERIC_COLUMNS, (name) => statColumnsAt.get(name) ?? ABSENT);
    this.read = { takenAt, stat, columns: this.columns, runtime: serversState };
  }

  /** Where the server is in `show servers state`; -1 when it is not. */
  private runtimeOf(backend: string, name: string): number {
    const state = this.serversState;
    if (state === null) return -1;
    // Both answers list servers in the same order, so the next one is the one; by name only if not.
    if (this.cursor < state.length && state.is(this.cursor, backend, name)) return this.cursor++;
    if (this.byName === null) {
      this.byName = new Map();
      for (let i = 0; i < state.length; i++) {
        const backendName = state.backend(i);
        let servers = this.byName.get(backendName);
        if (servers === undefined) this.byName.set(backendName, (servers = new Map<string, number>()));
        servers.set(state.server(i), i);
      }
    }
    return this.byName.get(backend)?.get(name) ?? -1;
  }

  add(row: number): void {
    const { stat, columns: c } = this;
    this.readNumbers(row);
    const type = stat.type(row);
    const proxy = stat.proxy(row);
    if (type === 'frontend') {
      this.frontends.push({
        name: proxy,
        status: text(stat, row, c.status) ?? '',
        sessions: { current: this.number('scur') ?? 0, limit: this.number('slim') },
        row,
      });
    } else if (type === 'server') {
      const servers = this.waiting.get(proxy);
      const server = this.server(row, this.runtimeOf(proxy, stat.name(row)));
      if (servers === undefined) this.waiting.set(proxy, [server]);
      else servers.push(server);
    } else if (type === 'backend') {
      this.closeBackend(proxy, row);
    }
  }

  /**
   * Reads the row's NUMERIC_COLUMNS once, for what is made of it. A cell the snapshot reads as a
   * number holds one, or nothing: a row that says otherwise is not read at all.
   */
  private readNumbers(row: number): void {
    const { stat, numericIndexes: indexes, numbers } = this;
    stat.numbers(row, indexes, numbers, 0, 1);
    const where = (): string => `${stat.proxy(row)}/${stat.name(row)}`;
    for (let i = 0; i < indexes.length; i++) {
      const index = indexes[i] ?? ABSENT;
      if (Number.isNaN(numbers[i]) && index !== ABSENT && !stat.cellIs(row, index, '')) {
        throw new ParseError('show stat', `${where()}: ${NUMERIC_COLUMNS[i] ?? ''} is ${JSON.stringify(stat.cell(row, index))}, not a number`);
      }
    }
    if (stat.type(row) === 'server' && stat.cellIs(row, this.columns.status ?? -1, ''))
      throw new ParseError('show stat', `${where()}: the server has no status`);
  }

  /** A number of the row being added; null for none. */
  private number(column: NumericColumn): number | null {
    const value = this.numbers[NUMERIC_AT.get(column) ?? -1] ?? NaN;
    return Number.isNaN(value) ? null : value;
  }

  /** The proxies, once every row has been added; a proxy with servers but no BACKEND row too. */
  finish(): { frontends: Frontend[]; backends: Backend[] } {
    for (const name of [...this.waiting.keys()]) this.closeBackend(name, null);
    return { frontends: this.frontends, backends: this.backends };
  }

  private closeBackend(name: string, row: number | null): void {
    const servers = this.waiting.get(name) ?? [];
    this.waiting.delete(name);
    this.backends.push(this.backend(name, servers, row));
  }

  private backend(name: string, servers: Server[], row: number | null): Backend {
    // The BACKEND row is the one being added; a proxy without one has none of its numbers.
    const fromRow = (column: NumericColumn): number | null => (row === null ? null : this.number(column));
    const secondsSinceChange = fromRow('lastchg');
    const counts = { total: servers.length, usable: 0, down: 0, maint: 0, drain: 0, nolb: 0, unknown: 0, backupUsable: 0 };
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
    return {
      name,
      servers,
      counts,
      noUsableServer: counts.usable === 0 && counts.unknown === 0,
      capacity: capacityLimit > 0 ? { sessions: capacitySessions, limit: capacityLimit } : null,
      queue: fromRow('qcur') ?? 0,
      sessions: fromRow('scur') ?? 0,
      lastChangeAt: secondsSinceChange === null ? null : this.takenAt - secondsSinceChange * 1000,
      row,
    };
  }

  /** `at`: where the server is in `show servers state`, -1 when it is not. */
  private server(row: number, at: number): Server {
    const { stat, columns: c } = this;
    const state = at < 0 ? null : this.serversState;
    const status = this.lastStatus.of(stat, row, c.status);
    const condition =
      (state
        ? conditionFromRuntime(state.opState(at), state.number(at, 'adminState'), state.number(at, 'userWeight'))
        : conditionFromStatus(status, this.number('weight'))) ?? UNKNOWN;
    const secondsSinceChange = state ? state.number(at, 'secondsSinceChange') : this.number('lastchg');
    const sessions = { current: this.number('scur') ?? 0, limit: this.number('slim') };
    const check = this.check(row, at, condition.state);
    return new ReadServer(this.read, row, at, condition, status, check, sessions, this.number('bck') === 1, secondsSinceChange);
  }

  private check(row: number, at: number, serverState: ServerState): HealthCheck | null {
    const { stat, columns: c } = this;
    const state = at < 0 ? null : this.serversState;
    const statusCell = this.lastCheckStatus.of(stat, row, c.checkStatus);
    const inProgress = statusCell.startsWith('* ');
    let status: string | null = inProgress ? statusCell.slice(2) : statusCell;
    let paused = false;
    if (state) {
      const checkState = state.number(at, 'checkState');
      if (!(checkState & CHECK_STATE.CONFIGURED)) return null;
      paused = (checkState & CHECK_STATE.PAUSED) !== 0;
      // `show stat` leaves check_status empty while checks are paused; the number still says the last one.
      if (status === '') status = checkStatusByNumber(state.number(at, 'checkStatus')).name;
    } else if (status === '') {
      return null;
    }
    if (status === 'UNK') status = null;
    const health = state ? state.number(at, 'checkHealth') : this.number('check_health');
    return new ReadCheck(this.read, row, status, inProgress, paused, serverState, this.number('check_rise'), health);
  }
}

/**
 * A server's health check in one read: what the watcher and the metrics read of every server is
 * kept, the rest read from the row when a finding shows it, as `ReadServer` does.
 */
class ReadCheck implements HealthCheck {
  constructor(
    private readonly read: ReadContext,
    private readonly row: number,
    readonly status: string | null,
    readonly inProgress: boolean,
    readonly paused: boolean,
    private readonly serverState: ServerState,
    readonly rise: number | null,
    readonly health: number | null,
  ) {}

  get description(): string | null {
    return text(this.read.stat, this.row, this.read.columns.checkDesc) || (this.status ? checkStatusDescription(this.status) : null);
  }

  get detail(): string | null {
    return text(this.read.stat, this.row, this.read.columns.lastChk) || null;
  }

  get code(): number | null {
    return num(this.read.stat, this.row, this.read.columns.checkCode);
  }

  get durationSeconds(): number | null {
    return msToSeconds(num(this.read.stat, this.row, this.read.columns.checkDuration));
  }

  get fall(): number | null {
    return num(this.read.stat, this.row, this.read.columns.checkFall);
  }

  /** Rise and health, counted only while checks run and the server is not in MAINT; else null. */
  private get counting(): { readonly rise: number; readonly health: number } | null {
    const { rise, health } = this;
    return this.paused || this.serverState === 'maint' || rise === null || health === null ? null : { rise, health };
  }

  get failuresUntilDown(): number | null {
    const counting = this.counting;
    if (counting === null) return null;
    return this.serverState === 'down' ? 0 : Math.max(1, counting.health - counting.rise + 1);
  }

  get successesUntilUp(): number | null {
    const counting = this.counting;
    return counting !== null && this.serverState === 'down' ? Math.max(0, counting.rise - counting.health) : null;
  }
}

/** What the servers of one read share, kept once rather than in each server. */
interface ReadContext {
  readonly takenAt: number;
  readonly stat: StatTable;
  readonly columns: ReturnType<typeof statColumns>;
  /** `show servers state`; null without. */
  readonly runtime: ServersStateTable | null;
}

/**
 * A server of one read. It keeps what was decided from its row (its condition, check, sessions
 * and whether it is a backup) and reads the rest from the row when asked: servers are a read's
 * most numerous objects, and most of their fields are read only when a finding shows them.
 */
class ReadServer implements Server {
  constructor(
    private readonly read: ReadContext,
    readonly row: number,
    /** Where the server is in `show servers state`; -1 when it is not. */
    private readonly at: number,
    private readonly condition: ServerCondition,
    readonly status: string,
    readonly check: HealthCheck | null,
    readonly sessions: { readonly current: number; readonly limit: number | null },
    readonly backup: boolean,
    private readonly secondsSinceChange: number | null,
  ) {}

  get backend(): string {
    return this.read.stat.proxy(this.row);
  }

  get name(): string {
    return this.read.stat.name(this.row);
  }

  get state(): ServerState {
    return this.condition.state;
  }

  get held(): readonly HoldReason[] {
    return this.condition.held;
  }

  get usable(): boolean {
    return this.condition.usable;
  }

  get weight(): number | null {
    return this.at >= 0 && this.read.runtime ? this.read.runtime.number(this.at, 'userWeight') : num(this.read.stat, this.row, this.read.columns.weight);
  }

  get tracks(): string | null {
    return text(this.read.stat, this.row, this.read.columns.tracked) || null;
  }

  get lastChangeAt(): number | null {
    return this.secondsSinceChange === null ? null : this.read.takenAt - this.secondsSinceChange * 1000;
  }

  /** `addr` is empty on a `level user` socket; `show servers state` has the address and port. */
  get address(): string | null {
    const statAddress = text(this.read.stat, this.row, this.read.columns.addr);
    if (statAddress) return statAddress;
    return this.at >= 0 && this.read.runtime ? hostPort(this.read.runtime.address(this.at), this.read.runtime.port(this.at)) : null;
  }
}

function hostPort(address: string, port: number | null): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port ? `${host}:${port}` : host;
}

export function msToSeconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}
