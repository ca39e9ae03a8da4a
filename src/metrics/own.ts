// nosrv's own metrics (nosrv_*, process_*, nodejs_*): long-lived, so prom-client keeps them.
// They read the reader's state in collect() without awaiting anything, so they cannot race.

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Alerting } from '../alerting/dispatcher.js';
import type { HaproxyReader } from '../reader.js';
import { VERSION } from '../version.js';

export function createOwnRegistry(reader: HaproxyReader, alerting: Alerting | null = null): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters, which promtool rejects; the per-type nodejs_active_* stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  new Gauge({ name: 'nosrv_build_info', help: 'nosrv version, as a label.', labelNames: ['version', 'nodejs'], registers: [registry] }).set(
    { version: VERSION, nodejs: process.version },
    1,
  );
  new Gauge({
    name: 'nosrv_read_duration_seconds',
    help: 'Time the last successful read of each HAProxy command took.',
    labelNames: ['command'],
    registers: [registry],
    collect() {
      this.reset();
      for (const t of reader.lastTimings) this.set({ command: t.command }, t.seconds);
    },
  });
  new Counter({
    name: 'nosrv_read_errors_total',
    help: 'Failed reads of HAProxy, by error code.',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of reader.errorCounts) this.inc({ code }, n);
    },
  });
  new Counter({
    name: 'nosrv_watcher_polls_total',
    help: "The watcher's polls by result: observed, failed, skipped_busy (a read or poll was running), skipped_share (kept below 1% of HAProxy's time).",
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [result, n] of reader.pollCounts) this.inc({ result }, n);
    },
  });
  if (alerting) registerAlertingMetrics(registry, alerting);
  return registry;
}

function registerAlertingMetrics(registry: Registry, alerting: Alerting): void {
  new Counter({
    name: 'nosrv_alerts_sent_total',
    help: 'Posts of alerts to Alertmanager, by result: success, error.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const result of ['success', 'error'] as const) this.inc({ result }, alerting.postCounts.get(result) ?? 0);
    },
  });
  new Gauge({
    name: 'nosrv_alerts_active',
    help: 'Alerts nosrv holds, by state: pending (not held long enough yet), firing, resolved (not yet told to every Alertmanager).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const held = alerting.alerts();
      for (const state of ['pending', 'firing', 'resolved'] as const) this.set({ state }, held.filter((h) => h.state === state).length);
    },
  });
  new Gauge({
    name: 'nosrv_alertmanager_up',
    help: '1 when the last post of alerts to that Alertmanager succeeded.',
    labelNames: ['url'],
    registers: [registry],
    collect() {
      for (const r of alerting.receiverStatus()) this.set({ url: r.url }, r.up === true ? 1 : 0);
    },
  });
}
