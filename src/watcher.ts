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

interface ServerTrack {
  state: ServerState;
  readonly changes: Record<KnownState, number>;
  /**
   * When its state last changed, in whole seconds since the epoch; null when not known. HAProxy
   * says how many whole seconds ago, so each read's estimate may be a second off the last: the
   * first is kept while later ones are within a second of it, or the series would move when
   * nothing changed.
   */
  changedAt: number | null;
  /** The last observation that listed the server. */
  seenIn: number;
}

/** What the watcher knows of a server. */
export type SeenServer = Readonly<Pick<ServerTrack, 'changes' | 'changedAt'>>;

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

export class Watcher {
  private readonly backends = new Map<string, BackendTrack>();
  private changeCount = 0;
  private lastAt: number | null = null;
  /** Numbers the observations, so a server knows the last one that listed it. */
  private observations = 0;

  /**
   * Takes one read of the servers, a poll's or a full read's, seen at `at`. `backendNames`, from a
   * full read, lists every backend (empty ones too) and drops those no longer configured; a poll
   * of servers alone passes null. A read older than the last one taken is ignored.
   */
  observe(servers: ServerObservations, backendNames: readonly string[] | null, at: number): void {
    if (this.lastAt !== null && at < this.lastAt) return;
    const elapsed = this.lastAt === null ? 0 : Math.round(at - this.lastAt);
    this.lastAt = at;
    const number = ++this.observations;
    for (const track of this.backends.values()) {
      // The time since the last read is counted in the state that read saw.
      if (track.noUsableServer) track.noUsableMs += elapsed;
      track.usableNow = false;
    }
    const iso = new Date(at).toISOString();
    for (let i = 0; i < servers.length; i++) this.server(servers, i, number, iso);
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
  }

  /** Server `i` of `servers`. */
  private server(servers: ServerObservations, i: number, observation: number, at: string): void {
    const backend = servers.backend(i);
    const name = servers.name(i);
    const { state, usable } = servers.condition(i);
    const track = this.backend(backend);
    if (usable) track.usableNow = true;
    const lastChangeAt = servers.lastChangeAt(i);
    const changedAt = lastChangeAt === null ? null : Math.floor(lastChangeAt / 1000);
    const known = track.servers.get(name);
    if (known === undefined) {
      track.servers.set(name, { state, changes: zeroChanges(), changedAt, seenIn: observation });
      return;
    }
    known.seenIn = observation;
    // A status nosrv cannot read is no change: the state stays the last one known.
    if (state === 'unknown') return;
    const changed = known.state !== state;
    if (changedAt !== null && (changed || known.changedAt === null || Math.abs(changedAt - known.changedAt) > 1)) known.changedAt = changedAt;
    if (!changed) return;
    known.changes[state]++;
    this.push(backend, { at, server: name, from: known.state, to: state, reason: reasonFor(servers, i), source: 'poll' });
    known.state = state;
  }

  /**
   * A health-check line from HAProxy's log: it comes as the change happens, with its reason. A
   * change is counted once, whether the log or a poll sees it first.
   */
  logged(e: LoggedStateEvent): void {
    const servers = this.backend(e.backend).servers;
    const known = servers.get(e.server);
    const at = new Date(e.at).toISOString();
    const state = known?.state ?? e.to ?? 'up';
    if (e.to === null) {
      this.push(e.backend, { at, server: e.server, from: state, to: state, reason: e.reason, source: 'log' });
      return;
    }
    if (known === undefined) {
      // Before any poll saw the server: HAProxy said what it left, a poll cannot say better.
      const track: ServerTrack = { state: e.to, changes: zeroChanges(), changedAt: null, seenIn: this.observations };
      track.changes[e.to]++;
      servers.set(e.server, track);
      this.push(e.backend, { at, server: e.server, from: e.to === 'up' ? 'down' : 'up', to: e.to, reason: e.reason, source: 'log' });
      return;
    }
    if (known.state !== e.to) {
      known.changes[e.to]++;
      this.push(e.backend, { at, server: e.server, from: known.state, to: e.to, reason: e.reason, source: 'log' });
      known.state = e.to;
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

  /** How often the server entered each state (every state listed from 0), and when it last did; undefined for a server not seen. */
  seen(backend: string, server: string): SeenServer | undefined {
    return this.backends.get(backend)?.servers.get(server);
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

function reasonFor(servers: ServerObservations, i: number): string | null {
  const { state, held } = servers.condition(i);
  if (state === 'maint' || state === 'drain') return `held: ${held.join(', ')}`;
  return servers.checkStatus(i);
}
