// What happens between two scrapes. Every poll of the servers' conditions (the watcher's own,
// and each scrape's) is an observation; from their sequence come the time each backend spent
// with no usable server, the state changes of each server, and the recent ones as events.

import type { LoggedStateEvent } from './logs/ingest.js';
import type { KnownState, ServerObservations, ServerState } from './snapshot.js';

export interface StateEvent {
  /** ISO time of the poll that saw the change. */
  readonly at: string;
  readonly server: string;
  readonly from: ServerState;
  readonly to: ServerState;
  readonly reason: string | null;
  /** `poll` when a poll saw the change, `log` when HAProxy's health-check log line said it. */
  readonly source: 'poll' | 'log';
}

/** A log line's reason is said within this long of the poll that saw the same change. */
const SAME_CHANGE_MS = 10_000;

/**
 * What the watcher knows of a server. Replaced, never changed, when something in it changes: a
 * read's history keeps the one of its moment.
 */
export interface ServerHistory {
  readonly state: ServerState;
  /** How often it entered each state. */
  readonly changes: Readonly<Record<KnownState, number>>;
  /**
   * When its state last changed, in whole seconds since the epoch; null when not known. HAProxy
   * says how many whole seconds ago, so each read's estimate may be a second off the last: the
   * first is kept while later ones are within a second of it, or the series would move when
   * nothing changed.
   */
  readonly changedAt: number | null;
}

interface ServerTrack {
  history: ServerHistory;
  /** The last observation that listed the server. */
  seenIn: number;
}

interface BackendTrack {
  /** By server name, so that no `be/srv` key is built per server and poll. */
  readonly servers: Map<string, ServerTrack>;
  noUsableServer: boolean;
  /** Integer ms, so the sum does not drift. */
  noUsableMs: number;
  events: StateEvent[];
  /** A usable server was in the observation being taken. */
  usableNow: boolean;
}

export const EVENTS_PER_BACKEND = 20;

const NO_EVENTS: readonly StateEvent[] = [];

/**
 * What the watcher knew of one read's servers and backends as it took the read: a value of that
 * moment, which later polls and log lines leave as it is.
 */
export class ReadHistory {
  constructor(
    /** By the servers' indexes in the read; undefined for a server the watcher has not seen. */
    private readonly servers: ReadonlyArray<ServerHistory | undefined>,
    private readonly backends: ReadonlyMap<string, { readonly noUsableSeconds: number; readonly events: readonly StateEvent[] }>,
  ) {}

  /** Server `i` of the read; undefined when the watcher has not seen it. */
  server(i: number): ServerHistory | undefined {
    return this.servers[i];
  }

  noUsableSeconds(backend: string): number {
    return this.backends.get(backend)?.noUsableSeconds ?? 0;
  }

  events(backend: string): readonly StateEvent[] {
    return this.backends.get(backend)?.events ?? NO_EVENTS;
  }
}

export class Watcher {
  private readonly backends = new Map<string, BackendTrack>();
  private changeCount = 0;
  private lastAt: number | null = null;
  /** Numbers the observations, so a server knows the last one that listed it. */
  private observations = 0;

  /**
   * Takes one read of the servers seen at `at`. A full read passes `backendNames`, every backend
   * (empty ones too), which drops those no longer configured, and gets what the watcher then knows
   * of its servers and backends; a poll of servers alone passes null, and gets nothing: it is
   * rendered nowhere. A read older than the last one taken changes nothing.
   */
  observe(servers: ServerObservations, backendNames: readonly string[], at: number): ReadHistory;
  observe(servers: ServerObservations, backendNames: null, at: number): void;
  observe(servers: ServerObservations, backendNames: readonly string[] | null, at: number): ReadHistory | undefined {
    const histories = backendNames === null ? null : new Array<ServerHistory | undefined>(servers.length);
    if (this.lastAt !== null && at < this.lastAt) {
      if (histories === null) return undefined;
      for (let i = 0; i < servers.length; i++) histories[i] = this.seen(servers.backend(i), servers.name(i));
      return this.readHistory(histories);
    }
    const elapsed = this.lastAt === null ? 0 : Math.round(at - this.lastAt);
    this.lastAt = at;
    const number = ++this.observations;
    for (const track of this.backends.values()) {
      // The time since the last read is counted in the state that read saw.
      if (track.noUsableServer) track.noUsableMs += elapsed;
      track.usableNow = false;
    }
    const iso = new Date(at).toISOString();
    for (let i = 0; i < servers.length; i++) {
      const history = this.server(servers, i, number, iso);
      if (histories !== null) histories[i] = history;
    }
    if (backendNames !== null) {
      const keep = new Set(backendNames);
      for (const name of this.backends.keys()) if (!keep.has(name)) this.backends.delete(name);
      for (const name of backendNames) this.backend(name);
    }
    for (const track of this.backends.values()) {
      // forEach, not entries: no pair is made per server and read.
      track.servers.forEach((server, name) => {
        if (server.seenIn !== number) track.servers.delete(name);
      });
      track.noUsableServer = !track.usableNow;
    }
    return histories === null ? undefined : this.readHistory(histories);
  }

  private readHistory(servers: ReadonlyArray<ServerHistory | undefined>): ReadHistory {
    const backends = new Map<string, { noUsableSeconds: number; events: readonly StateEvent[] }>();
    // The events copied: the watcher's own list goes on changing.
    for (const [name, track] of this.backends)
      backends.set(name, { noUsableSeconds: track.noUsableMs / 1000, events: track.events.length === 0 ? NO_EVENTS : [...track.events] });
    return new ReadHistory(servers, backends);
  }

  /** Takes server `i` of `servers`; what the watcher then knows of it. */
  private server(servers: ServerObservations, i: number, observation: number, at: string): ServerHistory {
    const backend = servers.backend(i);
    const name = servers.name(i);
    const { state, usable } = servers.condition(i);
    const track = this.backend(backend);
    if (usable) track.usableNow = true;
    const lastChangeAt = servers.lastChangeAt(i);
    const changedAt = lastChangeAt === null ? null : Math.floor(lastChangeAt / 1000);
    const known = track.servers.get(name);
    if (known === undefined) {
      const history = { state, changes: zeroChanges(), changedAt };
      track.servers.set(name, { history, seenIn: observation });
      return history;
    }
    known.seenIn = observation;
    const last = known.history;
    // A status nosrv cannot read is no change: the state stays the last one known.
    if (state === 'unknown') return last;
    const changed = last.state !== state;
    const moved = changedAt !== null && (changed || last.changedAt === null || Math.abs(changedAt - last.changedAt) > 1);
    if (!changed && !moved) return last;
    known.history = { state, changes: changed ? counted(last.changes, state) : last.changes, changedAt: moved ? changedAt : last.changedAt };
    if (changed) this.push(backend, { at, server: name, from: last.state, to: state, reason: reasonFor(servers, i), source: 'poll' });
    return known.history;
  }

  /**
   * A health-check line from HAProxy's log: it comes as the change happens, with its reason. A
   * change is counted once, whether the log or a poll sees it first.
   */
  logged(e: LoggedStateEvent): void {
    const servers = this.backend(e.backend).servers;
    const known = servers.get(e.server);
    const at = new Date(e.at).toISOString();
    const state = known?.history.state ?? e.to ?? 'up';
    if (e.to === null) {
      this.push(e.backend, { at, server: e.server, from: state, to: state, reason: e.reason, source: 'log' });
      return;
    }
    if (known === undefined) {
      // Before any poll saw the server: HAProxy said what it left, a poll cannot say better.
      servers.set(e.server, { history: { state: e.to, changes: counted(zeroChanges(), e.to), changedAt: null }, seenIn: this.observations });
      this.push(e.backend, { at, server: e.server, from: e.to === 'up' ? 'down' : 'up', to: e.to, reason: e.reason, source: 'log' });
      return;
    }
    const last = known.history;
    if (last.state !== e.to) {
      known.history = { ...last, state: e.to, changes: counted(last.changes, e.to) };
      this.push(e.backend, { at, server: e.server, from: last.state, to: e.to, reason: e.reason, source: 'log' });
      return;
    }
    // A poll saw this change already: its event takes the log's reason.
    const track = this.backend(e.backend);
    const index = track.events.findLastIndex((x) => x.server === e.server && x.to === e.to && x.source === 'poll' && e.at - Date.parse(x.at) < SAME_CHANGE_MS);
    const previous = track.events[index];
    if (previous && e.reason) track.events[index] = { ...previous, reason: e.reason, source: 'log' };
  }

  /** State changes seen so far: a poll that moved it saw something change. */
  get changesSeen(): number {
    return this.changeCount;
  }

  private push(backend: string, event: StateEvent): void {
    this.changeCount++;
    const events = this.backend(backend).events;
    events.push(event);
    if (events.length > EVENTS_PER_BACKEND) events.shift();
  }

  noUsableSeconds(backend: string): number {
    return (this.backends.get(backend)?.noUsableMs ?? 0) / 1000;
  }

  events(backend: string): readonly StateEvent[] {
    return this.backends.get(backend)?.events ?? [];
  }

  /** What the watcher knows of the server now; undefined for a server not seen. */
  seen(backend: string, server: string): ServerHistory | undefined {
    return this.backends.get(backend)?.servers.get(server)?.history;
  }

  private backend(name: string): BackendTrack {
    let track = this.backends.get(name);
    if (track === undefined) {
      track = { servers: new Map(), noUsableServer: false, noUsableMs: 0, events: [], usableNow: false };
      this.backends.set(name, track);
    }
    return track;
  }
}

/** A literal keeps the counts inside the object; Object.fromEntries stores them apart, one more object per server for each full GC to walk. */
function zeroChanges(): Record<KnownState, number> {
  return { up: 0, down: 0, maint: 0, drain: 0, nolb: 0 };
}

/** `changes` with one more entry into `state`. */
function counted(changes: Readonly<Record<KnownState, number>>, state: KnownState): Record<KnownState, number> {
  const next = { ...changes };
  next[state]++;
  return next;
}

function reasonFor(servers: ServerObservations, i: number): string | null {
  const { state, held } = servers.condition(i);
  if (state === 'maint' || state === 'drain') return `held: ${held.join(', ')}`;
  return servers.checkStatus(i);
}
