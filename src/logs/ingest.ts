// Every datagram HAProxy sends, counted and remembered in bounded memory: 5xx by frontend,
// backend, status, termination state and who made the answer; 503s by their reason; the last
// few 503 lines per backend and frontend; health-check lines as events for the watcher.
// Processing is synchronous per datagram, so a flood costs CPU, never a growing queue.

import type { KnownState } from '../snapshot.js';
import { madeBy, parseLogMessage, parseSyslog, reasonFor503, type HealthEvent, type Reason503 } from './parse.js';

export type LineResult = 'http' | 'tcp' | 'health' | 'process' | 'truncated' | 'unparsed' | 'over_limit';
export const LINE_RESULTS: readonly LineResult[] = ['http', 'tcp', 'health', 'process', 'truncated', 'unparsed', 'over_limit'];

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

/** Distinct label sets per family, so forged lines cannot grow memory without bound. */
export const MAX_SERIES = 10_000;
export const RECENT_LINES = 10;
const LINE_SAMPLE_BYTES = 2048;

const TO_STATE: Partial<Record<HealthEvent, KnownState>> = { down: 'down', up: 'up', maint: 'maint', nolb: 'nolb' };

export class LogIngest {
  readonly lines = new Map<LineResult, number>(LINE_RESULTS.map((r) => [r, 0]));
  /** frontend \0 backend \0 code \0 termination \0 made_by -> count */
  readonly errors = new Map<string, number>();
  /** frontend \0 backend \0 reason -> count */
  readonly unavailable = new Map<string, number>();
  datagrams = 0;
  private readonly recentByBackend = new Map<string, Logged503[]>();
  private readonly recentByFrontend = new Map<string, Logged503[]>();
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
        if (this.lastCheckFailure.size > MAX_SERIES) this.lastCheckFailure.clear();
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
    if (!this.bump(this.errors, `${record.frontend}\0${record.backend}\0${code}\0${record.termination.slice(0, 2)}\0${origin}`)) return;
    if (record.status !== 503 || origin !== 'haproxy') return;
    const reason = reasonFor503(record);
    this.bump(this.unavailable, `${record.frontend}\0${record.backend}\0${reason}`);
    const logged: Logged503 = { at: new Date(now).toISOString(), reason, line: message.slice(0, LINE_SAMPLE_BYTES) };
    remember(this.recentByFrontend, record.frontend, logged);
    if (reason === 'no_backend_match') {
      this.noBackendMatch.set(record.frontend, now);
      if (this.noBackendMatch.size > MAX_SERIES) this.noBackendMatch.clear();
    } else remember(this.recentByBackend, record.backend, logged);
  }

  recent503(kind: 'backend' | 'frontend', name: string): readonly Logged503[] {
    return (kind === 'backend' ? this.recentByBackend : this.recentByFrontend).get(name) ?? [];
  }

  /** When the frontend last answered 503 because no use_backend matched. */
  lastNoBackendMatch(frontend: string): number | null {
    return this.noBackendMatch.get(frontend) ?? null;
  }

  private count(result: LineResult): void {
    this.lines.set(result, (this.lines.get(result) ?? 0) + 1);
  }

  private bump(map: Map<string, number>, key: string): boolean {
    const n = map.get(key);
    if (n === undefined && map.size >= MAX_SERIES) {
      this.count('over_limit');
      return false;
    }
    map.set(key, (n ?? 0) + 1);
    return true;
  }
}

function remember(map: Map<string, Logged503[]>, name: string, logged: Logged503): void {
  let list = map.get(name);
  if (list === undefined) {
    if (map.size >= MAX_SERIES) return;
    list = [];
    map.set(name, list);
  }
  list.push(logged);
  if (list.length > RECENT_LINES) list.shift();
}
