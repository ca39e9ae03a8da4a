// nosrv's own alerts, sent to every Alertmanager given: as soon as a read finds them past their
// debounce, again while they hold (endsAt ahead of now, re-sent well inside it), and resolved with
// endsAt now. An Alertmanager that fails is retried with backoff and then sent the current set;
// its outage is logged once when it starts and once when it ends.

import type { Logger } from 'pino';
import type { Diagnosis } from '../diagnosis.js';
import type { Severity } from '../rules/alerts.js';
import { AlertBook, type HeldAlert } from './alertBook.js';
import { AlertmanagerClient, type PostableAlert } from './alertmanager.js';
import { pushedAlerts } from './pushedAlerts.js';

export interface AlertingOptions {
  readonly debounceMs: Readonly<Record<Severity, number>>;
  /** How often firing alerts are sent again; each is sent ending four of these ahead. */
  readonly resendMs: number;
  readonly externalUrl: string;
  /** Labels naming this nosrv and its HAProxy, added to every alert. */
  readonly labels: Readonly<Record<string, string>>;
  readonly ignoreBackends: RegExp | null;
}

export interface ReceiverStatus {
  readonly url: string;
  /** null before the first post. */
  readonly up: boolean | null;
  readonly lastError: string | null;
  readonly lastSentAt: number | null;
  readonly nextTryAt: number | null;
}

interface Receiver {
  readonly client: AlertmanagerClient;
  up: boolean | null;
  failures: number;
  nextTryAt: number | null;
  lastError: string | null;
  lastSentAt: number | null;
  sending: Promise<void> | null;
  /** Something changed while a post was under way: post again once it is done. */
  again: boolean;
}

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export class Alerting {
  private readonly book: AlertBook;
  private readonly receivers: Receiver[];
  private lastSendAllAt = 0;
  private lastObservedAt = 0;
  readonly postCounts = new Map<'success' | 'error', number>();

  constructor(
    clients: readonly AlertmanagerClient[],
    private readonly options: AlertingOptions,
    private readonly log: Logger,
  ) {
    this.book = new AlertBook(
      options.debounceMs,
      clients.map((c) => c.url),
    );
    this.receivers = clients.map((client) => ({
      client,
      up: null,
      failures: 0,
      nextTryAt: null,
      lastError: null,
      lastSentAt: null,
      sending: null,
      again: false,
    }));
  }

  /** Takes the diagnosis of a read; sends at once what starts or ends. */
  observe(diagnosis: Diagnosis, now: number): void {
    const current = pushedAlerts(diagnosis, {
      externalUrl: this.options.externalUrl,
      labels: this.options.labels,
      ignoreBackends: this.options.ignoreBackends,
      now,
    });
    // A read that could not see HAProxy cannot end what it last knew: that stays, under HAProxyUnreadable.
    const keep = diagnosis.haproxy.up ? undefined : (): boolean => true;
    this.lastObservedAt = now;
    if (this.book.observe(now, current, keep)) this.sendAll(now);
  }

  /** When the next pending alert has held long enough to be sent, if it still holds; null: none pending. */
  nextDue(): number | null {
    return this.book.nextDue();
  }

  /** True when a fresh read is wanted: a pending alert is due, or the firing ones must be sent again. */
  wantsRead(now: number): boolean {
    const due = this.book.nextDue();
    return (due !== null && due <= now) || now - this.lastObservedAt >= this.options.resendMs;
  }

  /** The clock: sends again what holds, and retries the Alertmanagers whose backoff is over. */
  tick(now: number): void {
    if (now - this.lastSendAllAt >= this.options.resendMs) this.sendAll(now);
    else for (const r of this.receivers) if (r.nextTryAt !== null && r.nextTryAt <= now) void this.send(r, now);
  }

  /** Waits for the posts under way. */
  async settled(): Promise<void> {
    await Promise.all(this.receivers.map((r) => r.sending ?? Promise.resolve()));
  }

  alerts(): HeldAlert[] {
    return this.book.alerts();
  }

  receiverStatus(): ReceiverStatus[] {
    return this.receivers.map((r) => ({ url: r.client.url, up: r.up, lastError: r.lastError, lastSentAt: r.lastSentAt, nextTryAt: r.nextTryAt }));
  }

  private sendAll(now: number): void {
    this.lastSendAllAt = now;
    for (const r of this.receivers) if (r.nextTryAt === null || r.nextTryAt <= now) void this.send(r, now);
  }

  private send(r: Receiver, now: number): Promise<void> {
    // One post at a time to each: the next one, sent after, carries the newer set.
    if (r.sending) {
      r.again = true;
      return r.sending;
    }
    const held = this.book.toSend(r.client.url);
    const posted = r.client.post(held.map((h) => this.postable(h, now)));
    r.sending = posted.then(
      () => {
        this.book.told(r.client.url, held);
        this.count('success');
        if (r.up === false) this.log.info({ alertmanager: r.client.url }, 'Alertmanager takes alerts again');
        Object.assign(r, { up: true, failures: 0, nextTryAt: null, lastError: null, lastSentAt: Date.now() });
      },
      (err: unknown) => {
        this.count('error');
        const message = err instanceof Error ? err.message : String(err);
        if (r.up !== false)
          this.log.warn(
            { alertmanager: r.client.url, error: message },
            'cannot send alerts to Alertmanager; retrying with backoff, the current alerts are kept',
          );
        r.failures++;
        Object.assign(r, { up: false, lastError: message, nextTryAt: Date.now() + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (r.failures - 1)) });
      },
    );
    void r.sending.finally(() => {
      r.sending = null;
      if (r.again && r.up) {
        r.again = false;
        void this.send(r, Date.now());
      }
    });
    return r.sending;
  }

  private postable(h: HeldAlert, now: number): PostableAlert {
    return {
      labels: h.alert.labels,
      annotations: h.alert.annotations,
      startsAt: new Date(h.since).toISOString(),
      endsAt: new Date(h.state === 'resolved' ? (h.resolvedAt ?? now) : now + 4 * this.options.resendMs).toISOString(),
      generatorURL: `${this.options.externalUrl}/alerts`,
    };
  }

  private count(result: 'success' | 'error'): void {
    this.postCounts.set(result, (this.postCounts.get(result) ?? 0) + 1);
  }
}
