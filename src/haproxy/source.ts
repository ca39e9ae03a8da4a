// Where nosrv reads HAProxy from: the runtime API socket, or the stats page's CSV for
// installations that expose no socket. Both give a Snapshot; the watcher's cheaper poll gives
// only the servers' conditions.

import { checkStatusByNumber } from '../parse/checkStatus.js';
import { ParseError } from '../parse/errors.js';
import { parseInfo } from '../parse/info.js';
import { parseServersState, ServersStateParser, type ServersState, type ServersStateBuffers } from '../parse/serversState.js';
import { cell, numberCell, parseStat, StatParser, type StatBuffers, type StatTable } from '../parse/stat.js';
import { buildSnapshot, conditionFromRuntime, conditionFromStatus, SnapshotBuilder, type ServerCondition, type ReadListener, type Snapshot, type SourceKind } from '../snapshot.js';
import { fromSystemError, HaproxyReadError } from './errors.js';
import { describeAddress, runShowCommands, socatCommand, streamShowCommands, type CommandTiming, type RuntimeApiAddress } from './runtimeApi.js';

/** 64 MiB: `show stat` of 50,000 servers is about 12 MB. */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

export interface Reading {
  readonly snapshot: Snapshot;
  readonly timings: readonly CommandTiming[];
}

export interface ServerObservation {
  readonly backend: string;
  readonly server: string;
  readonly condition: ServerCondition;
  /** The last check's status name, when the poll tells it. */
  readonly checkStatus: string | null;
}

/** The watcher's poll: each server's condition, and how long HAProxy took to answer. */
export interface ServerConditions {
  readonly observations: ServerObservation[];
  /** From the request to the answer's end, parsing not included: HAProxy's side of the poll. */
  readonly answerSeconds: number;
}

export interface HaproxySource {
  readonly kind: SourceKind;
  /** The socket path or URL, for messages and fix commands. */
  readonly target: string;
  /** `socat stdio ...` for the runtime API, to write fix commands a person can paste. */
  readonly socat: string;
  /** A full read; `listener` is told of each server and backend as soon as it is built. */
  readSnapshot(deadline: number, listener?: ReadListener | null): Promise<Reading>;
  readServerConditions(deadline: number): Promise<ServerConditions>;
}

/** axios is loaded by the first read of a stats page: it adds 20 MB to a process that reads a socket. */
let axiosModule: Promise<typeof import('axios')> | null = null;
function loadAxios(): Promise<typeof import('axios')> {
  axiosModule ??= import('axios');
  return axiosModule;
}

function isAxiosError(err: unknown): err is import('axios').AxiosError {
  return typeof err === 'object' && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}

/** Runs a parser; a ParseError becomes a read error so callers see one kind of failure. */
function parsed<T>(parse: () => T): T;
function parsed<T>(parse: () => Promise<T>): Promise<T>;
function parsed<T>(parse: () => T | Promise<T>): T | Promise<T> {
  try {
    const result = parse();
    return result instanceof Promise ? result.catch((err: unknown) => Promise.reject(asMalformed(err))) : result;
  } catch (err) {
    throw asMalformed(err);
  }
}

function asMalformed(err: unknown): unknown {
  return err instanceof ParseError ? new HaproxyReadError('malformed_answer', err.message, { cause: err }) : err;
}

export class SocketSource implements HaproxySource {
  readonly kind = 'socket' as const;
  readonly target: string;
  readonly socat: string;

  /**
   * The last read's buffers, which the next read fills again: a snapshot's rows, and what its
   * servers read from them when asked, are good until the next read begins (reading one later
   * throws; see `Snapshot`). Null while a read runs.
   */
  private spare: { readonly stat: StatBuffers; readonly state: ServersStateBuffers } | null = null;

  constructor(private readonly address: RuntimeApiAddress) {
    this.target = describeAddress(address);
    this.socat = socatCommand(address);
  }

  /**
   * `show servers state` and `show info;show stat` on two connections at once, each server built
   * (and told to `listener`) as its `show stat` row arrives: at 10,000 servers the work is done
   * while HAProxy is still writing. Rows that arrive before the servers' states are built when
   * they come.
   */
  async readSnapshot(deadline: number, listener: ReadListener | null = null): Promise<Reading> {
    const takenAt = Date.now();
    const options = { deadline, maxBytes: MAX_ANSWER_BYTES };
    // The last read's buffers, unless that read still runs (given up by its caller, not yet ended).
    const spare = this.spare;
    this.spare = null;
    const state = new ServersStateParser(spare?.state);
    const info: string[] = [];
    let runtime: ServersState | null = null;
    let builder: SnapshotBuilder | null = null;
    const stat = new StatParser({ reuse: spare?.stat, onRow: (row) => builder?.add(row) });
    /** Once the servers' states are in: the rows that came before them, then each as it comes. */
    const startBuilding = (): SnapshotBuilder => {
      const { columns, rows } = stat.table();
      builder = new SnapshotBuilder(columns, takenAt, runtime, listener);
      for (const row of rows) builder.add(row);
      return builder;
    };
    const [stateRead, statRead] = await Promise.allSettled([
      parsed(() =>
        streamShowCommands(this.address, ['show servers state'], [state], options).then((timings) => {
          runtime = state.table();
          if (stat.started) startBuilding();
          return timings;
        }),
      ),
      parsed(() => streamShowCommands(this.address, ['show info', 'show stat'], [{ write: (lines) => void info.push(lines) }, stat], options)),
    ]);
    // Both answers have ended: nothing writes into these buffers any more.
    this.spare = { stat: stat.buffers(), state: state.buffers() };
    if (stateRead.status === 'rejected') throw stateRead.reason;
    if (statRead.status === 'rejected') throw statRead.reason;
    const table = parsed(() => stat.table());
    const snapshot = (builder ?? startBuilding()).finish('socket', table, parsed(() => parseInfo(info.join(''))));
    return { snapshot, timings: [...statRead.value, ...stateRead.value] };
  }

  async readServerConditions(deadline: number): Promise<ServerConditions> {
    const [answer] = await runShowCommands(this.address, ['show servers state'], { deadline, maxBytes: MAX_ANSWER_BYTES });
    const rows = parsed(() => parseServersState(answer?.text ?? '').rows());
    const observations = rows.map((row) => ({
      backend: row.backend,
      server: row.server,
      condition: conditionFromRuntime(row.opState, row.adminState, row.userWeight),
      checkStatus: row.checkState === 0 ? null : checkStatusByNumber(row.checkStatus).name,
    }));
    return { observations, answerSeconds: answer?.seconds ?? 0 };
  }
}

export interface StatsPageOptions {
  readonly url: string;
  readonly username: string | null;
  readonly password: string | null;
}

/** The stats page's `;csv` export: `show stat` only, so states come from the `status` text. */
export class StatsPageSource implements HaproxySource {
  readonly kind = 'stats_url' as const;
  readonly target: string;
  /** The stats page has no runtime API: fixes name the socket HAProxy's admins usually have. */
  readonly socat = 'socat stdio /run/haproxy/admin.sock';
  private readonly url: string;
  private readonly auth: { username: string; password: string } | undefined;

  constructor(options: StatsPageOptions) {
    const url = new URL(options.url);
    const username = options.username ?? decodeURIComponent(url.username);
    const password = options.password ?? decodeURIComponent(url.password);
    url.username = '';
    url.password = '';
    this.url = url.toString();
    this.target = this.url;
    this.auth = username ? { username, password } : undefined;
  }

  private async fetchCsv(deadline: number): Promise<{ table: StatTable; seconds: number }> {
    const started = performance.now();
    try {
      const { default: axios } = await loadAxios();
      const response = await axios.get<string>(this.url, {
        auth: this.auth,
        timeout: Math.max(1, deadline - Date.now()),
        responseType: 'text',
        transformResponse: (data: string) => data,
        maxContentLength: MAX_ANSWER_BYTES,
        // HAProxy is reached directly, never through a proxy from the environment.
        proxy: false,
        validateStatus: () => true,
      });
      if (response.status === 401 || response.status === 403) {
        throw new HaproxyReadError('permission_denied', `${this.target} answered HTTP ${response.status}: check the stats page's credentials`);
      }
      if (response.status !== 200) throw new HaproxyReadError('http_status', `${this.target} answered HTTP ${response.status}`);
      const seconds = (performance.now() - started) / 1000;
      return { table: parsed(() => parseStat(response.data)), seconds };
    } catch (err) {
      if (isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ETIMEDOUT')) {
        throw new HaproxyReadError('timeout', `no answer from ${this.target} within the deadline`, { cause: err });
      }
      if (isAxiosError(err) && err.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(err.message)) {
        throw new HaproxyReadError('answer_too_large', `the answer from ${this.target} passed ${MAX_ANSWER_BYTES} bytes`, { cause: err });
      }
      throw fromSystemError(err, this.target);
    }
  }

  async readSnapshot(deadline: number, listener: ReadListener | null = null): Promise<Reading> {
    const { table, seconds } = await this.fetchCsv(deadline);
    const snapshot = buildSnapshot({ takenAt: Date.now(), source: 'stats_url', info: null, stat: table, serversState: null }, listener);
    return { snapshot, timings: [{ command: 'show stat', seconds }] };
  }

  async readServerConditions(deadline: number): Promise<ServerConditions> {
    const { table, seconds } = await this.fetchCsv(deadline);
    const observations: ServerObservation[] = [];
    for (const row of table.rows) {
      if (row.type !== 'server') continue;
      const condition = conditionFromStatus(cell(table, row, 'status') ?? '', numberCell(table, row, 'weight'));
      if (condition === null) continue;
      const check = (cell(table, row, 'check_status') ?? '').replace(/^\* /, '');
      observations.push({ backend: row.proxy, server: row.name, condition, checkStatus: check || null });
    }
    return { observations, answerSeconds: seconds };
  }
}
