// Reads HAProxy for everyone who asks: concurrent scrapes share one read in flight
// (single-flight), each caller waiting no longer than its own deadline. A read runs its stages in
// order: the source's answers, the snapshot built from them, the watcher's observation of it, and
// the diagnosis, with the master CLI and the configuration file when configured. A failure is a
// normal result, logged once when it starts and once when it ends.

import type { Logger } from 'pino';
import { diagnose, type Diagnosis, type LogEvidence } from './diagnosis.js';
import { HaproxyReadError } from './haproxy/errors.js';
import { ParseError } from './parse/errors.js';
import { readProcs, type ConfigFile } from './haproxy/extras.js';
import { socatCommand, type CommandTiming, type RuntimeApiAddress } from './haproxy/runtimeApi.js';
import type { HaproxySource } from './haproxy/source.js';
import type { HaproxyConfig } from './parse/haproxyConfig.js';
import type { ProcList } from './parse/showProc.js';
import { buildSnapshot, pollObservations, type Snapshot } from './snapshot.js';
import type { ReadHistory, Watcher } from './watcher.js';

/**
 * One full read: the snapshot, what the watcher knew of it and its diagnosis, or why HAProxy could
 * not be read (and the diagnosis that says so).
 */
export type ReadResult = (
  { readonly ok: true; readonly snapshot: Snapshot; readonly history: ReadHistory } | { readonly ok: false; readonly error: HaproxyReadError }
) & {
  readonly at: number;
  readonly diagnosis: Diagnosis;
};

export interface ReaderOptions {
  /** --haproxy.timeout: the longest any read may take. */
  readonly timeoutMs: number;
  readonly master: RuntimeApiAddress | null;
  /** Named in fix commands that change state; never opened. */
  readonly adminSocket: RuntimeApiAddress | null;
  readonly configFile: ConfigFile | null;
  /** The logs, told each read's proxies: those HAProxy has are always counted under their names. */
  readonly logs: (LogEvidence & { know(frontends: readonly string[], backends: readonly string[]): void }) | null;
}

/** Logs a failure once as it starts (a warning) and once as it ends; a new reason meanwhile at info level; never on every read. */
class FailureLog {
  private since: { text: string; at: number } | null = null;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  report(error: { code?: string; message: string } | null, fields: Record<string, unknown> = {}): void {
    if (error === null) {
      if (this.since !== null) this.log.info({ failedFor: `${Math.round((Date.now() - this.since.at) / 1000)}s`, ...fields }, `${this.what} can be read again`);
      this.since = null;
      return;
    }
    const text = error.code ?? error.message;
    if (this.since?.text === text) return;
    // The reason once, in words; where in nosrv it was seen only for those who ask for it. One
    // outage can change reasons (reset, then refused, as HAProxy stops): still one warning.
    const said = { code: error.code, reason: error.message, ...fields };
    if (this.since === null) this.log.warn(said, `cannot read ${this.what}`);
    else this.log.info(said, `still cannot read ${this.what}, now for another reason`);
    this.log.debug({ err: error }, `where reading ${this.what} failed`);
    this.since = { text, at: this.since?.at ?? Date.now() };
  }
}

/**
 * The watcher's share of HAProxy's time at most: a poll waits until HAProxy's typical answer (the
 * median of the last few) is at most this fraction of the time since the last poll was asked.
 * HAProxy takes about 10 ms to write `show servers state` of 10,000 servers, so there the watcher
 * polls every 2 s, not every 1 s.
 */
export const WATCHER_SHARE_OF_HAPROXY = 0.01;

/** How many of the watcher's last answers its spacing is the median of. */
const RECENT_ANSWERS = 5;

export type PollResult = 'observed' | 'failed' | 'skipped_busy' | 'skipped_share';

export class HaproxyReader {
  private inFlight: Promise<ReadResult> | null = null;
  private polling = false;
  /** performance.now() when the last poll that was answered was asked. */
  private lastPollAt = 0;
  /** Full reads started so far: a poll that one overlapped does not time HAProxy alone. */
  private readsStarted = 0;
  /** The median of the recent answers' times. */
  private typicalAnswerMs = 0;
  private readonly recentAnswersMs: number[] = [];
  private shareSaid = false;
  private readonly log: Logger;
  private readonly haproxyFailures: FailureLog;
  /** The watcher's polls apart from the full reads: a failure of one command alone is logged once, not at each turn. */
  private readonly pollFailures: FailureLog;
  private readonly masterFailures: FailureLog;
  private readonly configFailures: FailureLog;
  /** How long each command of the last successful read took, for nosrv's own metrics. */
  lastTimings: readonly CommandTiming[] = [];
  /** Why the last full read failed; null once one succeeds. Only this is kept, not the snapshot, which is megabytes at scale. */
  lastError: HaproxyReadError | null = null;
  /** HAProxy has been read at least once: /ready. */
  hasRead = false;
  /** Told of every full read's diagnosis (nosrv's own alerts). */
  onDiagnosis: ((diagnosis: Diagnosis, at: number) => void) | null = null;
  readonly errorCounts = new Map<string, number>();
  readonly pollCounts = new Map<PollResult, number>();

  constructor(
    readonly source: HaproxySource,
    private readonly watcher: Watcher,
    log: Logger,
    private readonly options: ReaderOptions,
  ) {
    this.log = log;
    this.haproxyFailures = new FailureLog(log, 'HAProxy');
    this.pollFailures = new FailureLog(log, "HAProxy's server states for the watcher");
    this.masterFailures = new FailureLog(log, "HAProxy's master CLI");
    this.configFailures = new FailureLog(log, "HAProxy's configuration file");
  }

  /** A full read, shared with any read already in flight. `deadline` is epoch ms. */
  read(deadline = Date.now() + this.options.timeoutMs): Promise<ReadResult> {
    const own = Math.min(deadline, Date.now() + this.options.timeoutMs);
    if (this.inFlight === null) {
      const started = this.readNow(own);
      this.inFlight = started;
      this.readsStarted++;
      void started.finally(() => {
        if (this.inFlight === started) this.inFlight = null;
      });
      return started;
    }
    return beforeDeadline(this.inFlight, own, this.source.target).catch((error: unknown) =>
      this.failed(asReadError(error, this.source.target), null, null, null, null),
    );
  }

  /**
   * The watcher's poll between scrapes: servers' conditions only. Skipped while a poll or a full
   * read runs (the read observes the servers too), and while HAProxy's typical answer is more
   * than the watcher's share of the time since the last poll was asked.
   */
  async poll(): Promise<PollResult> {
    const started = performance.now();
    let result: PollResult;
    if (this.polling || this.inFlight) result = 'skipped_busy';
    else if (started < this.lastPollAt + this.typicalAnswerMs / WATCHER_SHARE_OF_HAPROXY) {
      result = 'skipped_share';
      // Said once: the watcher then polls less often than --watch.interval.
      if (!this.shareSaid)
        this.log.info(
          { answerMs: Math.round(this.typicalAnswerMs) },
          "the watcher skips polls to stay below 1% of HAProxy's time: it answers show servers state slowly",
        );
      this.shareSaid = true;
    } else {
      this.polling = true;
      const readsBefore = this.readsStarted;
      try {
        const deadline = Date.now() + this.options.timeoutMs;
        const { table, answerSeconds } = await beforeDeadline(this.source.poll(deadline), deadline, this.source.target);
        this.watcher.observe(pollObservations(table), null, Date.now());
        this.pollFailures.report(null);
        // A full read that began meanwhile kept nosrv busy while the answer waited to be read: its
        // time is not HAProxy's, and must not space the polls.
        this.answered(started, this.readsStarted === readsBefore ? answerSeconds : null);
        result = 'observed';
      } catch (err) {
        const error = asReadError(err, this.source.target);
        this.pollFailures.report(error, { target: this.source.target });
        this.count(error);
        result = 'failed';
      } finally {
        this.polling = false;
      }
    }
    this.pollCounts.set(result, (this.pollCounts.get(result) ?? 0) + 1);
    return result;
  }

  /**
   * Polls are spaced by the median of the last answers, so one slow answer (HAProxy busy for a
   * moment) does not stop the watcher for a minute. `answerSeconds` null: a time not counted.
   */
  private answered(started: number, answerSeconds: number | null): void {
    this.lastPollAt = started;
    if (answerSeconds === null) return;
    this.recentAnswersMs.push(answerSeconds * 1000);
    if (this.recentAnswersMs.length > RECENT_ANSWERS) this.recentAnswersMs.shift();
    const sorted = [...this.recentAnswersMs].sort((a, b) => a - b);
    this.typicalAnswerMs = sorted[Math.floor(sorted.length / 2)] ?? 0;
  }

  private async readNow(deadline: number): Promise<ReadResult> {
    const [answers, procs, config] = await Promise.all([
      // An answer the snapshot cannot read whole fails the read: never a verdict from a part of it.
      beforeDeadline(this.source.read(deadline), deadline, this.source.target)
        .then((answers) => ({ value: buildSnapshot(answers), timings: answers.timings, error: null }))
        .catch((err: unknown) => ({ value: null, error: asReadError(err, this.source.target) })),
      this.readMaster(deadline),
      this.readConfig(),
    ]);
    let result: ReadResult;
    if (answers.value) {
      const snapshot = answers.value;
      // Taken when its answers are in, as a poll is: the watcher takes reads in the order they end.
      const history = this.watcher.observe(
        snapshot.servers,
        snapshot.backends.map((b) => b.name),
        Date.now(),
      );
      this.options.logs?.know(
        snapshot.frontends.map((f) => f.name),
        snapshot.backends.map((b) => b.name),
      );
      this.hasRead = true;
      this.haproxyFailures.report(null);
      this.lastTimings = answers.timings;
      result = { ok: true, snapshot, history, at: snapshot.takenAt, diagnosis: this.diagnose(snapshot, history, null, procs, config) };
    } else {
      result = this.failed(this.reportHaproxy(answers.error), procs.value, procs.error, config.value, config.error);
      this.count(answers.error);
    }
    this.lastError = result.ok ? null : result.error;
    this.onDiagnosis?.(result.diagnosis, Date.now());
    return result;
  }

  private failed(
    error: HaproxyReadError,
    procs: ProcList | null,
    procsError: string | null,
    config: HaproxyConfig | null,
    configError: string | null,
  ): ReadResult {
    return {
      ok: false,
      error,
      at: Date.now(),
      diagnosis: this.diagnose(null, null, error.message, { value: procs, error: procsError }, { value: config, error: configError }),
    };
  }

  /** `history` is the watcher's of `snapshot`; both null when HAProxy could not be read. */
  private diagnose(
    snapshot: Snapshot | null,
    history: ReadHistory | null,
    error: string | null,
    procs: { value: ProcList | null; error: string | null },
    config: { value: HaproxyConfig | null; error: string | null },
  ): Diagnosis {
    return diagnose({
      now: Date.now(),
      snapshot,
      error,
      events: (backend) => history?.events(backend) ?? [],
      procs: procs.value,
      procsError: procs.error,
      config: config.value,
      configError: config.error,
      socat: this.source.socat,
      adminSocat: this.options.adminSocket ? socatCommand(this.options.adminSocket) : null,
      masterSocat: this.options.master ? socatCommand(this.options.master) : null,
      configPath: this.options.configFile?.path ?? null,
      logs: this.options.logs,
    });
  }

  private async readMaster(deadline: number): Promise<{ value: ProcList | null; error: string | null }> {
    const master = this.options.master;
    if (master === null) return { value: null, error: null };
    try {
      const value = await beforeDeadline(readProcs(master, deadline), deadline, 'the master CLI');
      this.masterFailures.report(null);
      return { value, error: null };
    } catch (err) {
      const error = asReadError(err, 'the master CLI');
      this.masterFailures.report(error);
      return { value: null, error: error.message };
    }
  }

  private async readConfig(): Promise<{ value: HaproxyConfig | null; error: string | null }> {
    const file = this.options.configFile;
    if (file === null) return { value: null, error: null };
    try {
      const value = await file.read();
      this.configFailures.report(null);
      return { value, error: null };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.configFailures.report({ message }, { path: file.path });
      return { value: null, error: message };
    }
  }

  private reportHaproxy(error: HaproxyReadError): HaproxyReadError {
    this.haproxyFailures.report(error, { target: this.source.target });
    return error;
  }

  private count(error: HaproxyReadError | null): void {
    if (error) this.errorCounts.set(error.code, (this.errorCounts.get(error.code) ?? 0) + 1);
  }
}

function asReadError(err: unknown, target: string): HaproxyReadError {
  if (err instanceof HaproxyReadError) return err;
  if (err instanceof ParseError) return new HaproxyReadError('malformed_answer', err.message, { cause: err });
  return new HaproxyReadError('io_error', `reading ${target} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Settles by the deadline whatever the work does, so no read stays in flight forever. */
function beforeDeadline<T>(work: Promise<T>, deadline: number, target: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => {
        reject(new HaproxyReadError('timeout', `no answer from ${target} within the deadline`));
      },
      Math.max(0, deadline - Date.now()),
    );
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
