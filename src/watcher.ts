// What happens between two scrapes. Every poll of the servers' conditions (the watcher's own,
// and each scrape's) is an observation; from their sequence come the time each backend spent
// with no usable server, the state changes of each server, and the recent ones as events.

import type { ServerObservation } from './haproxy/source.js';
import type { LoggedStateEvent } from './logs/ingest.js';
import { SERVER_STATES, serverKey, type ServerState } from './snapshot.js';

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
  readonly backend: string;
  readonly server: string;
  state: ServerState;
  readonly changes: Record<ServerState, number>;
}

interface BackendTrack {
  noUsableServer: boolean;
  /** Integer ms, so the sum does not drift. */
  noUsableMs: number;
  events: StateEvent[];
}

export const EVENTS_PER_BACKEND = 20;

export class Watcher {
  private readonly servers = new Map<string, ServerTrack>();
  private readonly backends = new Map<string, BackendTrack>();
  private lastAt: number | null = null;

  /**
   * Takes one poll. `backendNames`, from a full read, lists every backend (empty ones too) and
   * drops those no longer configured; a poll of servers alone passes null.
   */
  observe(observations: readonly ServerObservation[], backendNames: readonly string[] | null, at: number): void {
    if (this.lastAt !== null && at < this.lastAt) return; // an older read that finished late
    const elapsed = this.lastAt === null ? 0 : Math.round(at - this.lastAt);
    // The time since the last poll is counted in the state that poll saw.
    for (const track of this.backends.values()) if (track.noUsableServer) track.noUsableMs += elapsed;
    this.lastAt = at;

    if (backendNames !== null) {
      const keep = new Set(backendNames);
      for (const name of this.backends.keys()) if (!keep.has(name)) this.backends.delete(name);
      for (const name of backendNames) this.backend(name);
    }
    const usable = new Map<string, boolean>();
    const present = new Set<string>();
    for (const o of observations) {
      const key = serverKey(o.backend, o.server);
      present.add(key);
      this.backend(o.backend);
      usable.set(o.backend, (usable.get(o.backend) ?? false) || o.condition.usable);
      const known = this.servers.get(key);
      if (known === undefined) {
        this.servers.set(key, { backend: o.backend, server: o.server, state: o.condition.state, changes: zeroChanges() });
        continue;
      }
      if (known.state === o.condition.state) continue;
      known.changes[o.condition.state]++;
      this.push(o.backend, { at: new Date(at).toISOString(), server: o.server, from: known.state, to: o.condition.state, reason: reasonFor(o), source: 'poll' });
      known.state = o.condition.state;
    }
    for (const key of this.servers.keys()) if (!present.has(key)) this.servers.delete(key);
    for (const [name, track] of this.backends) track.noUsableServer = !(usable.get(name) ?? false);
  }

  /**
   * A health-check line from HAProxy's log: it comes as the change happens, with its reason. A
   * change is counted once, whether the log or a poll sees it first.
   */
  logged(e: LoggedStateEvent): void {
    const known = this.servers.get(serverKey(e.backend, e.server));
    const at = new Date(e.at).toISOString();
    const state = known?.state ?? e.to ?? 'up';
    if (e.to === null) return this.push(e.backend, { at, server: e.server, from: state, to: state, reason: e.reason, source: 'log' });
    if (known === undefined) {
      // Before any poll saw the server: HAProxy said what it left, a poll cannot say better.
      const track: ServerTrack = { backend: e.backend, server: e.server, state: e.to, changes: zeroChanges() };
      track.changes[e.to]++;
      this.servers.set(serverKey(e.backend, e.server), track);
      return this.push(e.backend, { at, server: e.server, from: e.to === 'up' ? 'down' : 'up', to: e.to, reason: e.reason, source: 'log' });
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

  private push(backend: string, event: StateEvent): void {
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

  /** How often the server entered each state, every state listed from 0; undefined for a server not seen. */
  changesOf(backend: string, server: string): Readonly<Record<ServerState, number>> | undefined {
    return this.servers.get(serverKey(backend, server))?.changes;
  }

  private backend(name: string): BackendTrack {
    let track = this.backends.get(name);
    if (track === undefined) {
      track = { noUsableServer: false, noUsableMs: 0, events: [] };
      this.backends.set(name, track);
    }
    return track;
  }
}

function zeroChanges(): Record<ServerState, number> {
  return Object.fromEntries(SERVER_STATES.map((s) => [s, 0])) as Record<ServerState, number>;
}

function reasonFor(o: ServerObservation): string | null {
  if (o.condition.state === 'maint' || o.condition.state === 'drain') return `held: ${o.condition.held.join(', ')}`;
  return o.checkStatus;
}
