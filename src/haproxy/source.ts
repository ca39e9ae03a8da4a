// Where nosrv reads HAProxy from: the runtime API socket, or the stats page's CSV for
// installations that expose no socket. A source returns HAProxy's answers, parsed; what they mean
// is the snapshot's to say.

import { ParseError } from '../parse/errors.js';
import { parseInfo, type Info } from '../parse/info.js';
import { ServersStateParser, type ServersStateTable } from '../parse/serversState.js';
import { parseStat, StatParser, type StatTable } from '../parse/stat.js';
import type { SourceKind } from '../snapshot.js';
import { isAxiosError, loadAxios } from '../onDemand.js';
import { fromSystemError, HaproxyReadError } from './errors.js';
import { describeAddress, socatCommand, streamShowCommands, type CommandTiming, type RuntimeApiAddress } from './runtimeApi.js';

/** 64 MiB: `show stat` of 50,000 servers is about 12 MB. */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** HAProxy's answers to one full read, parsed; `serversState` and `info` are null where the source has none. */
export interface Answers {
  readonly takenAt: number;
  readonly source: SourceKind;
  readonly stat: StatTable;
  readonly serversState: ServersStateTable | null;
  readonly info: Info | null;
  readonly timings: readonly CommandTiming[];
}

/** The watcher's poll: the servers' states, from the table this source has, and how long HAProxy took to answer. */
export interface PollAnswer {
  readonly table: { readonly serversState: ServersStateTable } | { readonly stat: StatTable };
  /** From the request to the answer's end, parsing not included: HAProxy's side of the poll. */
  readonly answerSeconds: number;
}

export interface HaproxySource {
  readonly kind: SourceKind;
  /** The socket path or URL, for messages and fix commands. */
  readonly target: string;
  /** `socat stdio ...` for the runtime API, to write fix commands a person can paste. */
  readonly socat: string;
  read(deadline: number): Promise<Answers>;
  poll(deadline: number): Promise<PollAnswer>;
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
  /** The last answers' lengths (none before the first read): the next ones are nearly always as long, and their tables are made that long at once. */
  private expected: { readonly servers?: number; readonly statRows?: number } = {};

  constructor(private readonly address: RuntimeApiAddress) {
    this.target = describeAddress(address);
    this.socat = socatCommand(address);
  }

  /**
   * `show servers state` and `show info;show stat` on two connections at once, each parsed as it
   * arrives, so parsing overlaps with HAProxy still writing.
   */
  async read(deadline: number): Promise<Answers> {
    const takenAt = Date.now();
    const options = { deadline, maxBytes: MAX_ANSWER_BYTES };
    const state = new ServersStateParser(this.expected.servers);
    const stat = new StatParser(this.expected.statRows);
    const info: string[] = [];
    const [stateRead, statRead] = await Promise.allSettled([
      parsed(() => streamShowCommands(this.address, ['show servers state'], [state], options)),
      parsed(() => streamShowCommands(this.address, ['show info', 'show stat'], [{ write: (lines) => void info.push(lines) }, stat], options)),
    ]);
    if (stateRead.status === 'rejected') throw stateRead.reason;
    if (statRead.status === 'rejected') throw statRead.reason;
    const statTable = parsed(() => stat.finish());
    const serversState = parsed(() => state.finish());
    this.expected = { servers: serversState.length, statRows: statTable.length };
    return {
      takenAt,
      source: 'socket',
      stat: statTable,
      serversState,
      info: parsed(() => parseInfo(info.join(''))),
      timings: [...statRead.value, ...stateRead.value],
    };
  }

  async poll(deadline: number): Promise<PollAnswer> {
    const state = new ServersStateParser(this.expected.servers);
    const [timing] = await parsed(() => streamShowCommands(this.address, ['show servers state'], [state], { deadline, maxBytes: MAX_ANSWER_BYTES }));
    const serversState = parsed(() => state.finish());
    this.expected = { ...this.expected, servers: serversState.length };
    return { table: { serversState }, answerSeconds: timing?.seconds ?? 0 };
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
      const axios = await loadAxios();
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

  async read(deadline: number): Promise<Answers> {
    const takenAt = Date.now();
    const { table, seconds } = await this.fetchCsv(deadline);
    return { takenAt, source: 'stats_url', stat: table, serversState: null, info: null, timings: [{ command: 'show stat', seconds }] };
  }

  async poll(deadline: number): Promise<PollAnswer> {
    const { table, seconds } = await this.fetchCsv(deadline);
    return { table: { stat: table }, answerSeconds: seconds };
  }
}
