// One read of HAProxy as frontends, backends and servers. It knows nothing of Prometheus: the
// metrics, /explain and the CLI all read their facts from here, so they cannot disagree.

import { checkStatusDescription, checkStatusByNumber, isFailedCheck } from './parse/checkStatus.js';
import type { Info } from './parse/info.js';
import { ADMIN, CHECK_STATE, type OpState, type ServersStateTable } from './parse/serversState.js';
import { cell, numberCell, type StatTable } from './parse/stat.js';
import { ParseError } from './parse/errors.js';
import { parseStatus } from './parse/status.js';
import { itemAt } from './itemAt.js';

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
  /** The last check failed, and checks run. */
  readonly failing: boolean;
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
  /** Its servers as objects, made when first read: what reads every server of every read reads `Snapshot.servers` at `serverIndexes`. */
  readonly servers: readonly Server[];
  /** Where its servers are in the snapshot's `servers`. */
  readonly serverIndexes: readonly number[];
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
    /** Usable servers whose last health check failed. */
    readonly checksFailing: number;
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

/** The servers of a read as the watcher takes them: a snapshot's, or a poll's. */
export interface ServerObservations {
  readonly length: number;
  backend(i: number): string;
  name(i: number): string;
  condition(i: number): ServerCondition;
  /** ms since the epoch; null when not known. */
  lastChangeAt(i: number): number | null;
  /** The status of its last health check; null without a check. */
  checkStatus(i: number): string | null;
}

/** One server of a list given to `observationsOf`. */
export type ServerObservation = Pick<Server, 'backend' | 'name' | 'state' | 'held' | 'usable' | 'lastChangeAt'> & {
  readonly check: Pick<HealthCheck, 'status'> | null;
};

/** A list of servers as observations. */
export function observationsOf(list: readonly ServerObservation[]): ServerObservations {
  const at = (i: number): ServerObservation => itemAt(list, i);
  return {
    length: list.length,
    backend: (i) => at(i).backend,
    name: (i) => at(i).name,
    condition: (i) => at(i),
    lastChangeAt: (i) => at(i).lastChangeAt,
    checkStatus: (i) => at(i).check?.status ?? null,
  };
}

/** The servers of a poll: from `show servers state`, or from the `status` texts of the stats page's CSV. */
export function pollObservations(table: { readonly serversState: ServersStateTable } | { readonly stat: StatTable }): ServerObservations {
  if ('serversState' in table) {
    const state = table.serversState;
    return {
      length: state.length,
      backend: (i) => state.backend(i),
      name: (i) => state.server(i),
      condition: (i) => conditionFromRuntime(state.opState(i), state.number(i, 'adminState'), state.number(i, 'userWeight')),
      lastChangeAt: () => null,
      checkStatus: (i) => (state.number(i, 'checkState') === 0 ? null : checkStatusByNumber(state.number(i, 'checkStatus')).name),
    };
  }
  const { stat } = table;
  const observations: ServerObservation[] = [];
  for (let row = 0; row < stat.length; row++) {
    if (stat.type(row) !== 'server') continue;
    const condition = conditionFromStatus(cell(stat, row, 'status') ?? '', numberCell(stat, row, 'weight'));
    if (condition === null) continue;
    const check = (cell(stat, row, 'check_status') ?? '').replace(/^\* /, '');
    observations.push({ backend: stat.proxy(row), name: stat.name(row), ...condition, check: check ? { status: check } : null, lastChangeAt: null });
  }
  return observationsOf(observations);
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
  /** Every backend's servers, a column per field. */
  readonly servers: ServerTable;
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

/** `proxy/name`, for messages. */
function rowName(stat: StatTable, row: number): string {
  return `${stat.proxy(row)}/${stat.name(row)}`;
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
  private readonly servers: ServerTable;
  private readonly frontends: Frontend[] = [];
  private readonly backends: Backend[] = [];
  /** Servers (their indexes in `servers`) by proxy until its BACKEND row comes: HAProxy lists a proxy's servers, then that row. */
  private readonly waiting = new Map<string, number[]>();
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
    this.servers = new ServerTable({ takenAt, stat, columns: this.columns, runtime: serversState }, stat.length);
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
    const notNumber = stat.numbers(row, indexes, numbers, 0, 1);
    if (notNumber >= 0) {
      const text = JSON.stringify(stat.cell(row, indexes[notNumber] ?? ABSENT));
      throw new ParseError('show stat', `${rowName(stat, row)}: ${NUMERIC_COLUMNS[notNumber] ?? ''} is ${text}, not a number`);
    }
    if (stat.type(row) === 'server' && stat.cellIs(row, this.columns.status ?? -1, ''))
      throw new ParseError('show stat', `${rowName(stat, row)}: the server has no status`);
  }

  /** A number of the row being added; null for none. */
  private number(column: NumericColumn): number | null {
    const value = this.numbers[NUMERIC_AT.get(column) ?? -1] ?? NaN;
    return Number.isNaN(value) ? null : value;
  }

  /** The proxies, once every row has been added; a proxy with servers but no BACKEND row too. */
  finish(): { frontends: Frontend[]; backends: Backend[]; servers: ServerTable } {
    for (const name of [...this.waiting.keys()]) this.closeBackend(name, null);
    return { frontends: this.frontends, backends: this.backends, servers: this.servers };
  }

  private closeBackend(name: string, row: number | null): void {
    const servers = this.waiting.get(name) ?? [];
    this.waiting.delete(name);
    this.backends.push(this.backend(name, servers, row));
  }

  /** `indexes`: its servers in `servers`. */
  private backend(name: string, indexes: readonly number[], row: number | null): Backend {
    // The BACKEND row is the one being added; a proxy without one has none of its numbers.
    const fromRow = (column: NumericColumn): number | null => (row === null ? null : this.number(column));
    const secondsSinceChange = fromRow('lastchg');
    const table = this.servers;
    const counts = { total: indexes.length, usable: 0, down: 0, maint: 0, drain: 0, nolb: 0, unknown: 0, backupUsable: 0, checksFailing: 0 };
    let capacitySessions = 0;
    let capacityLimit = 0;
    for (const i of indexes) {
      const condition = table.condition(i);
      if (condition.usable) {
        counts.usable++;
        if (table.backup(i)) counts.backupUsable++;
        if (table.checkFailed(i)) counts.checksFailing++;
        const limit = table.limit(i);
        if (limit !== null && limit > 0) {
          capacitySessions += table.sessions(i);
          capacityLimit += limit;
        }
      }
      if (condition.state !== 'up') counts[condition.state]++;
    }
    return new ReadBackend(table, {
      name,
      serverIndexes: indexes,
      counts,
      noUsableServer: counts.usable === 0 && counts.unknown === 0,
      capacity: capacityLimit > 0 ? { sessions: capacitySessions, limit: capacityLimit } : null,
      queue: fromRow('qcur') ?? 0,
      sessions: fromRow('scur') ?? 0,
      lastChangeAt: secondsSinceChange === null ? null : this.takenAt - secondsSinceChange * 1000,
      row,
    });
  }

  /** Adds the server to `servers`; its index there. `at`: where it is in `show servers state`, -1 when it is not. */
  private server(row: number, at: number): number {
    const { stat, columns: c } = this;
    const state = at < 0 ? null : this.serversState;
    const status = this.lastStatus.of(stat, row, c.status);
    const condition =
      (state
        ? conditionFromRuntime(state.opState(at), state.number(at, 'adminState'), state.number(at, 'userWeight'))
        : conditionFromStatus(status, this.number('weight'))) ?? UNKNOWN;
    const secondsSinceChange = state ? state.number(at, 'secondsSinceChange') : this.number('lastchg');
    const i = this.servers.add(row, at, condition, status);
    this.servers.setNumbers(i, this.number('scur') ?? 0, this.number('slim'), secondsSinceChange, this.number('bck') === 1);
    this.check(i, row, at);
    return i;
  }

  /** Puts server `i`'s health check, when it has one, in `servers`. */
  private check(i: number, row: number, at: number): void {
    const { stat, columns: c } = this;
    const state = at < 0 ? null : this.serversState;
    const statusCell = this.lastCheckStatus.of(stat, row, c.checkStatus);
    const inProgress = statusCell.startsWith('* ');
    let status: string | null = inProgress ? statusCell.slice(2) : statusCell;
    let paused = false;
    if (state) {
      const checkState = state.number(at, 'checkState');
      if (!(checkState & CHECK_STATE.CONFIGURED)) return;
      paused = (checkState & CHECK_STATE.PAUSED) !== 0;
      // `show stat` leaves check_status empty while checks are paused; the number still says the last one.
      if (status === '') status = checkStatusByNumber(state.number(at, 'checkStatus')).name;
    } else if (status === '') {
      return;
    }
    if (status === 'UNK') status = null;
    const health = state ? state.number(at, 'checkHealth') : this.number('check_health');
    this.servers.setCheck(i, status, inProgress, paused, this.number('check_rise'), health);
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

/** Bits of `ServerTable`'s flags. */
const BACKUP = 1;
const CHECKED = 2;
const CHECK_IN_PROGRESS = 4;
const CHECK_PAUSED = 8;

/** A column's value; null for NaN. */
function valueAt(column: Float64Array, i: number): number | null {
  const value = column[i] ?? NaN;
  return Number.isNaN(value) ? null : value;
}

/**
 * A read's servers, a column per field, numbers in typed arrays (NaN for none), each field read at
 * a server's index. Servers are a read's most numerous objects: what reads every one of them on
 * every read (the watcher, the metrics, a backend's counts) reads them here, with no object made
 * per server for the garbage collector to move and mark. `server(i)` makes one for what shows a
 * server (a finding, /explain); some of its fields are read from its `show stat` row then. The
 * snapshot's builder fills it; nothing changes it after.
 */
export class ServerTable implements ServerObservations {
  private count = 0;
  private readonly rows: Int32Array;
  /** Where each server is in `show servers state`; -1 when it is not. */
  private readonly runtimeAt: Int32Array;
  private readonly flags: Uint8Array;
  private readonly currentSessions: Float64Array;
  private readonly limits: Float64Array;
  private readonly secondsSinceChange: Float64Array;
  private readonly rises: Float64Array;
  private readonly healths: Float64Array;
  // Made at their full length: pushed one by one, they would leave their shorter copies behind.
  private readonly conditions: Array<ServerCondition | undefined>;
  private readonly statuses: Array<string | undefined>;
  private readonly checkStatuses: Array<string | null | undefined>;

  /** `capacity`: at least as many as the read has servers. */
  constructor(
    readonly read: ReadContext,
    capacity: number,
  ) {
    this.rows = new Int32Array(capacity);
    this.runtimeAt = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.currentSessions = new Float64Array(capacity);
    this.limits = new Float64Array(capacity);
    this.secondsSinceChange = new Float64Array(capacity);
    this.rises = new Float64Array(capacity);
    this.healths = new Float64Array(capacity);
    this.conditions = new Array<ServerCondition | undefined>(capacity);
    this.statuses = new Array<string | undefined>(capacity);
    this.checkStatuses = new Array<string | null | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** A server of `show stat` row `row` and `show servers state` server `at` (-1 for none), without a health check; its index. */
  add(row: number, at: number, condition: ServerCondition, status: string): number {
    const i = this.count++;
    this.rows[i] = row;
    this.runtimeAt[i] = at;
    this.conditions[i] = condition;
    this.statuses[i] = status;
    return i;
  }

  setNumbers(i: number, sessions: number, limit: number | null, secondsSinceChange: number | null, backup: boolean): void {
    this.currentSessions[i] = sessions;
    this.limits[i] = limit ?? NaN;
    this.secondsSinceChange[i] = secondsSinceChange ?? NaN;
    if (backup) this.flags[i] = (this.flags[i] ?? 0) | BACKUP;
  }

  setCheck(i: number, status: string | null, inProgress: boolean, paused: boolean, rise: number | null, health: number | null): void {
    this.flags[i] = (this.flags[i] ?? 0) | CHECKED | (inProgress ? CHECK_IN_PROGRESS : 0) | (paused ? CHECK_PAUSED : 0);
    this.checkStatuses[i] = status;
    this.rises[i] = rise ?? NaN;
    this.healths[i] = health ?? NaN;
  }

  /** Server `i` as an object, for what shows it. */
  server(i: number): Server {
    if (i < 0 || i >= this.count) throw new RangeError(`no server ${i} in the read`);
    return new ReadServer(this, i);
  }

  row(i: number): number {
    return this.rows[i] ?? -1;
  }

  /** Where the server is in `show servers state`; -1 when it is not. */
  runtimeIndex(i: number): number {
    return this.runtimeAt[i] ?? -1;
  }

  backend(i: number): string {
    return this.read.stat.proxy(this.row(i));
  }

  name(i: number): string {
    return this.read.stat.name(this.row(i));
  }

  condition(i: number): ServerCondition {
    return this.conditions[i] ?? UNKNOWN;
  }

  status(i: number): string {
    return this.statuses[i] ?? '';
  }

  backup(i: number): boolean {
    return this.has(i, BACKUP);
  }

  sessions(i: number): number {
    return this.currentSessions[i] ?? 0;
  }

  /** Its `maxconn`; null for none. */
  limit(i: number): number | null {
    return valueAt(this.limits, i);
  }

  lastChangeAt(i: number): number | null {
    const seconds = valueAt(this.secondsSinceChange, i);
    return seconds === null ? null : this.read.takenAt - seconds * 1000;
  }

  hasCheck(i: number): boolean {
    return this.has(i, CHECKED);
  }

  /** Null without a check, or before its first result. */
  checkStatus(i: number): string | null {
    return this.checkStatuses[i] ?? null;
  }

  checkInProgress(i: number): boolean {
    return this.has(i, CHECK_IN_PROGRESS);
  }

  /** Checks stop while a server is in MAINT. */
  checkPaused(i: number): boolean {
    return this.has(i, CHECK_PAUSED);
  }

  /**
   * Its last check failed, and checks run. Not "health below its top": HAProxy starts servers at
   * health = rise, so that is also true of a healthy server before its first check.
   */
  checkFailed(i: number): boolean {
    const status = this.checkStatus(i);
    return status !== null && !this.checkPaused(i) && isFailedCheck(status);
  }

  checkRise(i: number): number | null {
    return valueAt(this.rises, i);
  }

  checkHealth(i: number): number | null {
    return valueAt(this.healths, i);
  }

  /** Failed checks left before HAProxy marks the server DOWN; 0 once it is DOWN; null while its checks do not count. */
  failuresUntilDown(i: number): number | null {
    const counting = this.counting(i);
    if (counting === null) return null;
    return this.condition(i).state === 'down' ? 0 : Math.max(1, counting.health - counting.rise + 1);
  }

  successesUntilUp(i: number): number | null {
    const counting = this.counting(i);
    return counting !== null && this.condition(i).state === 'down' ? Math.max(0, counting.rise - counting.health) : null;
  }

  /** Rise and health, counted only while checks run and the server is not in MAINT; else null. */
  private counting(i: number): { readonly rise: number; readonly health: number } | null {
    const rise = this.checkRise(i);
    const health = this.checkHealth(i);
    if (!this.hasCheck(i) || this.checkPaused(i) || this.condition(i).state === 'maint' || rise === null || health === null) return null;
    return { rise, health };
  }

  private has(i: number, flag: number): boolean {
    return ((this.flags[i] ?? 0) & flag) !== 0;
  }
}

/**
 * A backend of one read; its servers become objects when first asked. What it keeps for that is
 * private (`#`), so that the backend spreads and prints as its data alone.
 */
class ReadBackend implements Backend {
  readonly name: string;
  readonly serverIndexes: readonly number[];
  readonly counts: Backend['counts'];
  readonly noUsableServer: boolean;
  readonly capacity: Backend['capacity'];
  readonly queue: number;
  readonly sessions: number;
  readonly lastChangeAt: number | null;
  readonly row: number | null;
  readonly #table: ServerTable;
  #servers: readonly Server[] | null = null;

  constructor(table: ServerTable, fields: Omit<Backend, 'servers'>) {
    this.#table = table;
    this.name = fields.name;
    this.serverIndexes = fields.serverIndexes;
    this.counts = fields.counts;
    this.noUsableServer = fields.noUsableServer;
    this.capacity = fields.capacity;
    this.queue = fields.queue;
    this.sessions = fields.sessions;
    this.lastChangeAt = fields.lastChangeAt;
    this.row = fields.row;
  }

  get servers(): readonly Server[] {
    return (this.#servers ??= this.serverIndexes.map((i) => this.#table.server(i)));
  }
}

/** Server `i` of a read's `ServerTable`. */
class ReadServer implements Server {
  constructor(
    private readonly table: ServerTable,
    private readonly i: number,
  ) {}

  get row(): number {
    return this.table.row(this.i);
  }

  get backend(): string {
    return this.table.backend(this.i);
  }

  get name(): string {
    return this.table.name(this.i);
  }

  get state(): ServerState {
    return this.table.condition(this.i).state;
  }

  get held(): readonly HoldReason[] {
    return this.table.condition(this.i).held;
  }

  get usable(): boolean {
    return this.table.condition(this.i).usable;
  }

  get status(): string {
    return this.table.status(this.i);
  }

  get backup(): boolean {
    return this.table.backup(this.i);
  }

  get sessions(): { readonly current: number; readonly limit: number | null } {
    return { current: this.table.sessions(this.i), limit: this.table.limit(this.i) };
  }

  get check(): HealthCheck | null {
    return this.table.hasCheck(this.i) ? new ReadCheck(this.table, this.i) : null;
  }

  get lastChangeAt(): number | null {
    return this.table.lastChangeAt(this.i);
  }

  get weight(): number | null {
    const { read } = this.table;
    const at = this.table.runtimeIndex(this.i);
    return at >= 0 && read.runtime ? read.runtime.number(at, 'userWeight') : num(read.stat, this.row, read.columns.weight);
  }

  get tracks(): string | null {
    const { read } = this.table;
    return text(read.stat, this.row, read.columns.tracked) || null;
  }

  /** `addr` is empty on a `level user` socket; `show servers state` has the address and port. */
  get address(): string | null {
    const { read } = this.table;
    const statAddress = text(read.stat, this.row, read.columns.addr);
    if (statAddress) return statAddress;
    const at = this.table.runtimeIndex(this.i);
    return at >= 0 && read.runtime ? hostPort(read.runtime.address(at), read.runtime.port(at)) : null;
  }
}

/** The health check of server `i` of a read's `ServerTable`. */
class ReadCheck implements HealthCheck {
  constructor(
    private readonly table: ServerTable,
    private readonly i: number,
  ) {}

  get status(): string | null {
    return this.table.checkStatus(this.i);
  }

  get inProgress(): boolean {
    return this.table.checkInProgress(this.i);
  }

  get paused(): boolean {
    return this.table.checkPaused(this.i);
  }

  get failing(): boolean {
    return this.table.checkFailed(this.i);
  }

  get rise(): number | null {
    return this.table.checkRise(this.i);
  }

  get health(): number | null {
    return this.table.checkHealth(this.i);
  }

  get failuresUntilDown(): number | null {
    return this.table.failuresUntilDown(this.i);
  }

  get successesUntilUp(): number | null {
    return this.table.successesUntilUp(this.i);
  }

  get description(): string | null {
    const status = this.status;
    return this.cell(this.table.read.columns.checkDesc) || (status ? checkStatusDescription(status) : null);
  }

  get detail(): string | null {
    return this.cell(this.table.read.columns.lastChk) || null;
  }

  get code(): number | null {
    return this.number(this.table.read.columns.checkCode);
  }

  get durationSeconds(): number | null {
    return msToSeconds(this.number(this.table.read.columns.checkDuration));
  }

  get fall(): number | null {
    return this.number(this.table.read.columns.checkFall);
  }

  /** A cell of the server's `show stat` row. */
  private cell(index: number | undefined): string | undefined {
    return text(this.table.read.stat, this.table.row(this.i), index);
  }

  private number(index: number | undefined): number | null {
    return num(this.table.read.stat, this.table.row(this.i), index);
  }
}

function hostPort(address: string, port: number | null): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port ? `${host}:${port}` : host;
}

export function msToSeconds(ms: number | null): number | null {
  return ms === null ? null : ms / 1000;
}
