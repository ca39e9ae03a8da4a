// What nosrv holds of its own alerts, read after read: an alert is pending until it has held for
// its severity's debounce, then firing; when it no longer holds it is resolved, and kept until
// every Alertmanager has been told. Pure: the time comes with each call.

import type { Severity } from '../rules/alerts.js';
import type { PushedAlert } from './pushedAlerts.js';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface HeldAlert {
  readonly alert: PushedAlert;
  readonly state: AlertState;
  /** When a read first saw it (this time round). */
  readonly since: number;
  /** When it was first sent as firing: Alertmanager's startsAt. */
  readonly firingAt: number | null;
  readonly resolvedAt: number | null;
  /** For a resolved alert: the Alertmanagers not yet told. */
  readonly untold: ReadonlySet<string>;
}

/** Resolved alerts kept for Alertmanagers that are down, at most; the oldest go first. */
const MAX_RESOLVED = 1000;

export class AlertBook {
  private readonly held = new Map<string, HeldAlert>();

  constructor(
    private readonly debounceMs: Readonly<Record<Severity, number>>,
    private readonly receivers: readonly string[],
  ) {}

  /**
   * Takes the alerts one read holds. `keep` says which alerts that are missing from it stay as
   * they are (what a read that could not see them cannot end). True when something must be sent
   * now: an alert starts firing or is resolved. Times are epoch milliseconds.
   */
  observe(now: number, current: readonly PushedAlert[], keep: (a: PushedAlert) => boolean = () => false): boolean {
    let changed = false;
    const seen = new Set<string>();
    for (const alert of current) {
      seen.add(alert.key);
      const before = this.held.get(alert.key);
      const held =
        before === undefined || before.state === 'resolved'
          ? { alert, state: 'pending' as const, since: now, firingAt: null, resolvedAt: null, untold: new Set<string>() }
          : { ...before, alert };
      this.held.set(alert.key, held);
    }
    for (const [key, h] of this.held) {
      if (seen.has(key) || h.state === 'resolved' || keep(h.alert)) continue;
      if (h.state === 'pending') this.held.delete(key);
      else {
        this.held.set(key, { ...h, state: 'resolved', resolvedAt: now, untold: new Set(this.receivers) });
        changed = true;
      }
    }
    return this.promote(now, seen) || changed;
  }

  /**
   * Pending alerts this read saw that have held long enough start firing; true when any did. One
   * kept without being seen (HAProxy unreadable) waits for a read that sees it.
   */
  private promote(now: number, seen: ReadonlySet<string>): boolean {
    let changed = false;
    for (const [key, h] of this.held) {
      if (h.state === 'pending' && seen.has(key) && now - h.since >= this.holdMs(h.alert)) {
        this.held.set(key, { ...h, state: 'firing', firingAt: now });
        changed = true;
      }
    }
    this.trimResolved();
    return changed;
  }

  /** When the next pending alert is due to fire, or null. */
  nextDue(): number | null {
    let next: number | null = null;
    for (const h of this.held.values()) if (h.state === 'pending') next = Math.min(next ?? Infinity, h.since + this.holdMs(h.alert));
    return next;
  }

  /** What to send `receiver`: every firing alert, and the resolved ones it has not been told of. */
  toSend(receiver: string): HeldAlert[] {
    return [...this.held.values()].filter((h) => h.state === 'firing' || (h.state === 'resolved' && h.untold.has(receiver)));
  }

  /** `receiver` has taken `sent`: resolved alerts every receiver has taken are forgotten. */
  told(receiver: string, sent: readonly HeldAlert[]): void {
    for (const s of sent) {
      const h = this.held.get(s.alert.key);
      if (h?.state !== 'resolved' || h.resolvedAt !== s.resolvedAt) continue;
      const untold = new Set(h.untold);
      untold.delete(receiver);
      if (untold.size === 0) this.held.delete(s.alert.key);
      else this.held.set(s.alert.key, { ...h, untold });
    }
  }

  alerts(): HeldAlert[] {
    return [...this.held.values()];
  }

  private holdMs(alert: PushedAlert): number {
    return Math.max(this.debounceMs[alert.severity], alert.holdMs);
  }

  private trimResolved(): void {
    const resolved = [...this.held.entries()].filter(([, h]) => h.state === 'resolved');
    for (const [key] of resolved.slice(0, Math.max(0, resolved.length - MAX_RESOLVED))) this.held.delete(key);
  }
}
