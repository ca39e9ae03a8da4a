// Every datagram HAProxy sends, counted and remembered in bounded memory: 5xx by frontend,
// backend, status, termination state and who made the answer; 503s by their reason; the last
// few 503 lines per backend and frontend; health-check lines as events for the watcher.
// Processing is synchronous per datagram, so a flood costs CPU, never a growing queue.

import type { KnownState } from '../snapshot.js';
import { madeBy, parseLogMessage, parseSyslog, reasonFor503, type HealthEvent, type Reason503 } from './parse.js';

export type LineResult = 'http' | 'tcp' | 'health' | 'process' | 'truncated' | 'unparsed';
export const LINE_RESULTS: readonly LineResult[] = ['http', 'tcp', 'health', 'process', 'truncated', 'unparsed'];

export interface Logged503 {
  readonly at: string;
  readonly reason: Reason503;
  readonly line: string;
}

/** What the watcher takes from a health-check line. */
export interface LoggedStateEvent {
  readonly backend: string;
  readonly server: string;
  /** The state entered; null for a failed check that changed nothing yet. */
  readonly to: KnownState | null;
  readonly reason: string | null;
  readonly at: number;
}

/**
 * Label sets that name a proxy HAProxy's last read did not list, over both 5xx families. Anyone on the network
 * can send syslog datagrams: forged names share this room, and past it are counted as OTHER. The
 * proxies HAProxy has are always counted under their own names.
 */
export const MAX_UNKNOWN_SERIES = 10_000;
/** The label value of names folded together. HAProxy's proxy names cannot hold parentheses. */
export const OTHER = '(other)';
/** The last 503 lines kept per backend and per frontend, and over all of them. */
export const RECENT_LINES = 10;
export const RECENT_LINES_OVERALL = 512;
/** Each kept line is cut to this: the lines kept weigh at most RECENT_LINES_OVERALL × 2 KiB, 1 MiB. */
const LINE_SAMPLE_BYTES = 2048;

const TO_STATE: Partial<Record<HealthEvent, KnownState>> = { down: 'down', up: 'up', maint: 'maint', nolb: 'nolb' };

export class LogIngest {
  readonly lines = new Map<LineResult, number>(LINE_RESULTS.map((r) => [r, 0]));
  /** frontend \0 backend \0 code \0 termination \0 made_by -> count */
  readonly errors = new Map<string, number>();
  /** frontend \0 backend \0 reason -> count */
  readonly unavailable = new Map<string, number>();
  datagrams = 0;
  /** 5xx lines whose proxy names were counted as OTHER. */
  folded = 0;
  private readonly recent = new RecentLines();
  /** The frontends and backends of HAProxy's last read; null before one. */
  private known: { readonly frontends: ReadonlySet<string>; readonly backends: ReadonlySet<string> } | null = null;
  /** Label sets of `errors` and `unavailable` that name a proxy HAProxy did not list. */
  private unknownSeries = 0;
  private readonly noBackendMatch = new Map<string, number>();
  private readonly lastCheckFailure = new Map<string, string>();
  private sampledUnparsed = false;

  constructor(
    private readonly onStateEvent: (event: LoggedStateEvent) => void,
    private readonly onUnparsed: (sample: string) => void,
  ) {}

  ingest(datagram: string, now: number): void {
    this.datagrams++;
    const { message } = parseSyslog(datagram.length > 65_536 ? datagram.slice(0, 65_536) : datagram);
    const record = parseLogMessage(message);
    if (record === null) {
      this.count('unparsed');
      // One sample per process lifetime at debug level: enough to see what format arrives.
      if (!this.sampledUnparsed) {
        this.sampledUnparsed = true;
        this.onUnparsed(message.slice(0, LINE_SAMPLE_BYTES));
      }
      return;
    }
    if (record.kind === 'health') {
      this.count('health');
      if (record.server === null) return;
      const key = `${record.backend}/${record.server}`;
      if (record.event === 'check_failed' && record.reason) {
        this.lastCheckFailure.set(key, record.reason);
        if (this.lastCheckFailure.size > MAX_UNKNOWN_SERIES) this.lastCheckFailure.clear();
      }
      const to = TO_STATE[record.event] ?? null;
      if (record.event === 'check_passed') return;
      const reason = record.reason ?? (to === 'down' ? (this.lastCheckFailure.get(key) ?? null) : null);
      this.onStateEvent({ backend: record.backend, server: record.server, to, reason: to === null ? `check failed: ${reason}` : reason, at: now });
      return;
    }
    if (record.kind === 'tcp' || record.kind === 'process') {
      this.count(record.kind);
      return;
    }
    this.count(record.truncated ? 'truncated' : 'http');
    if (record.status < 500 || record.status > 599) return;
    const code = [500, 502, 503, 504].includes(record.status) ? String(record.status) : '5xx';
    const origin = madeBy(record);
    const detail = `\0${code}\0${record.termination.slice(0, 2)}\0${origin}`;
    const names = this.labelNames(record.frontend, record.backend, detail);
    if (names.folded) this.folded++;
    this.bump(this.errors, `${names.frontend}\0${names.backend}${detail}`, names.counted);
    if (record.status !== 503 || origin !== 'haproxy') return;
    const reason = reasonFor503(record);
    this.bump(this.unavailable, `${names.frontend}\0${names.backend}\0${reason}`, names.counted);
    const logged: Logged503 = { at: new Date(now).toISOString(), reason, line: message.slice(0, LINE_SAMPLE_BYTES) };
    // Lines of names HAProxy does not have are not kept: nothing shows them, and forged ones would
    // push real ones out. Before HAProxy is read every name's are; they are bounded overall.
    const keepFrontend = this.known === null || this.isOwn('frontend', record.frontend);
    if (keepFrontend) this.recent.add(`frontend\0${record.frontend}`, logged);
    if (reason === 'no_backend_match') {
      if (keepFrontend) this.noBackendMatch.set(record.frontend, now);
    } else if (this.known === null || this.isOwn('backend', record.backend)) this.recent.add(`backend\0${record.backend}`, logged);
  }

  /** The proxies of HAProxy's last read: their lines are always counted and kept under their names. */
  know(frontends: readonly string[], backends: readonly string[]): void {
    this.known = { frontends: new Set(frontends), backends: new Set(backends) };
    for (const name of this.noBackendMatch.keys()) if (!this.known.frontends.has(name)) this.noBackendMatch.delete(name);
  }

  /** The name is one of HAProxy's last read; before a read, no name is. */
  private isOwn(kind: 'frontend' | 'backend', name: string): boolean {
    return this.known !== null && (kind === 'frontend' ? this.known.frontends : this.known.backends).has(name);
  }

  /**
   * The names a line is counted under: its own while they are HAProxy's, or while a new label set
   * of unknown names still has room; else OTHER for each unknown one.
   */
  private labelNames(frontend: string, backend: string, detail: string): { frontend: string; backend: string; folded: boolean; counted: 'known' | 'unknown' } {
    const frontendOwn = this.isOwn('frontend', frontend);
    const backendOwn = this.isOwn('backend', backend);
    if (frontendOwn && backendOwn) return { frontend, backend, folded: false, counted: 'known' };
    if (this.errors.has(`${frontend}\0${backend}${detail}`) || this.unknownSeries < MAX_UNKNOWN_SERIES)
      return { frontend, backend, folded: false, counted: 'unknown' };
    return { frontend: frontendOwn ? frontend : OTHER, backend: backendOwn ? backend : OTHER, folded: true, counted: 'known' };
  }

  recent503(kind: 'backend' | 'frontend', name: string): readonly Logged503[] {
    return this.recent.of(`${kind}\0${name}`);
  }

  /** When the frontend last answered 503 because no use_backend matched. */
  lastNoBackendMatch(frontend: string): number | null {
    return this.noBackendMatch.get(frontend) ?? null;
  }

  private count(result: LineResult): void {
    this.lines.set(result, (this.lines.get(result) ?? 0) + 1);
  }

  /** `counted`: whether a new label set takes room among those of unknown names. */
  private bump(map: Map<string, number>, key: string, counted: 'known' | 'unknown'): void {
    const n = map.get(key);
    if (n === undefined && counted === 'unknown') this.unknownSeries++;
    map.set(key, (n ?? 0) + 1);
  }
}

/**
 * The last 503 lines of each proxy, RECENT_LINES each and RECENT_LINES_OVERALL in all: past
 * that, the oldest line of all goes, so the memory they take is bounded however many proxies log.
 */
class RecentLines {
  private readonly byName = new Map<string, Logged503[]>();
  /** Every kept line in the order it came, with its proxy's key; a ring. */
  private readonly order: Array<{ key: string; line: Logged503 } | undefined> = new Array<undefined>(RECENT_LINES_OVERALL);
  private next = 0;

  add(key: string, line: Logged503): void {
    const oldest = this.order[this.next];
    // The oldest line of all is the first of its proxy's, unless its proxy had RECENT_LINES since.
    if (oldest !== undefined) this.drop(oldest.key, oldest.line);
    this.order[this.next] = { key, line };
    this.next = (this.next + 1) % RECENT_LINES_OVERALL;
    let list = this.byName.get(key);
    if (list === undefined) this.byName.set(key, (list = []));
    list.push(line);
    if (list.length > RECENT_LINES) list.shift();
  }

  of(key: string): readonly Logged503[] {
    return this.byName.get(key) ?? [];
  }

  private drop(key: string, line: Logged503): void {
    const list = this.byName.get(key);
    if (list?.[0] !== line) return;
    list.shift();
    if (list.length === 0) this.byName.delete(key);
  }
}
