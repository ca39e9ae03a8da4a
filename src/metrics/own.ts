// nosrv's own metrics (nosrv_*, process_*, nodejs_*): long-lived, so prom-client keeps them.
// They read the reader's state in collect() without awaiting anything, so they cannot race.

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { HaproxyReader } from '../reader.js';
import { VERSION } from '../version.js';

export function createOwnRegistry(reader: HaproxyReader): Registry {
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
  return registry;
}
