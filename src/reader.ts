// Reads HAProxy for everyone who asks: concurrent scrapes share one read in flight
// (single-flight), each caller waiting no longer than its own deadline. A failure is a normal
// result, logged once when it starts and once when it ends, never on every poll.

import type { Logger } from 'pino';
import { HaproxyReadError, type ReadErrorCode } from './haproxy/errors.js';
import type { HaproxySource, Reading, ServerObservation } from './haproxy/source.js';
import type { Snapshot } from './snapshot.js';
import type { Watcher } from './watcher.js';

export type ReadResult = { readonly ok: true; readonly reading: Reading; readonly at: number } | { readonly ok: false; readonly error: HaproxyReadError; readonly at: number };

export class HaproxyReader {
  private inFlight: Promise<ReadResult> | null = null;
  private failingSince: { code: ReadErrorCode; at: number } | null = null;
  private polling = false;
  /** The last full read, for /ready and /explain. */
  latest: ReadResult | null = null;
  /** HAProxy has been read at least once: /ready. */
  hasRead = false;
  readonly errorCounts = new Map<ReadErrorCode, number>();

  constructor(
    readonly source: HaproxySource,
    private readonly watcher: Watcher,
    private readonly log: Logger,
    /** --haproxy.timeout: the longest any read may take. */
    private readonly timeoutMs: number,
  ) {}

  /** A full read, shared with any read already in flight. `deadline` is epoch ms. */
  read(deadline = Date.now() + this.timeoutMs): Promise<ReadResult> {
    const own = Math.min(deadline, Date.now() + this.timeoutMs);
    if (this.inFlight === null) {
      const started = this.readNow(own);
      this.inFlight = started;
      void started.finally(() => {
        if (this.inFlight === started) this.inFlight = null;
      });
      return started;
    }
    return withDeadline(this.inFlight, own, this.source.target);
  }

  /** The watcher's poll between scrapes: servers' conditions only. Skipped while one runs. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const deadline = Date.now() + this.timeoutMs;
      const observations = await beforeDeadline(this.source.readServerConditions(deadline), deadline, this.source.target);
      this.watcher.observe(observations, null, Date.now());
      this.report(null);
    } catch (err) {
      this.report(asReadError(err, this.source.target));
    } finally {
      this.polling = false;
    }
  }

  private async readNow(deadline: number): Promise<ReadResult> {
    let result: ReadResult;
    try {
      const reading = await beforeDeadline(this.source.readSnapshot(deadline), deadline, this.source.target);
      const { snapshot } = reading;
      this.watcher.observe(observationsOf(snapshot), snapshot.backends.map((b) => b.name), snapshot.takenAt);
      result = { ok: true, reading, at: snapshot.takenAt };
      this.hasRead = true;
      this.report(null);
    } catch (err) {
      const error = asReadError(err, this.source.target);
      result = { ok: false, error, at: Date.now() };
      this.report(error);
    }
    this.latest = result;
    return result;
  }

  private report(error: HaproxyReadError | null): void {
    if (error === null) {
      if (this.failingSince !== null) {
        this.log.info({ failedFor: `${Math.round((Date.now() - this.failingSince.at) / 1000)}s`, code: this.failingSince.code }, 'HAProxy can be read again');
        this.failingSince = null;
      }
      return;
    }
    this.errorCounts.set(error.code, (this.errorCounts.get(error.code) ?? 0) + 1);
    if (this.failingSince?.code === error.code) return;
    this.log.warn({ code: error.code, target: this.source.target, err: error }, 'cannot read HAProxy');
    this.failingSince = { code: error.code, at: this.failingSince?.at ?? Date.now() };
  }
}

export function observationsOf(snapshot: Snapshot): ServerObservation[] {
  return snapshot.backends.flatMap((b) =>
    b.servers.map((s) => ({ backend: b.name, server: s.name, condition: { state: s.state, held: s.held, usable: s.usable }, checkStatus: s.check?.status ?? null })),
  );
}

function asReadError(err: unknown, target: string): HaproxyReadError {
  if (err instanceof HaproxyReadError) return err;
  return new HaproxyReadError('io_error', `reading ${target} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Settles by the deadline whatever the source does, so no read stays in flight forever. */
function beforeDeadline<T>(work: Promise<T>, deadline: number, target: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new HaproxyReadError('timeout', `no answer from ${target} within the deadline`)), Math.max(0, deadline - Date.now()));
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** A read already in flight, waited for no longer than this caller's own deadline. */
function withDeadline(shared: Promise<ReadResult>, deadline: number, target: string): Promise<ReadResult> {
  return beforeDeadline(shared, deadline, target).catch((error: HaproxyReadError) => ({ ok: false as const, error, at: Date.now() }));
}
