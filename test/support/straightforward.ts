// The obvious way to export the same facts: prom-client labelled gauges and counters, one `set`
// per series, from the snapshot's objects. Too slow at 10,000 servers, which is why nosrv writes
// the text itself; here it is the reference that nosrv's own path must equal.

import { Counter, Gauge, Registry } from 'prom-client';
import type { CollectOptions } from '../../src/config.js';
import {
  BACKEND_CAUSES,
  BACKEND_RISKS,
  FRONTEND_CAUSES,
  FRONTEND_RISKS,
  PROCESS_CAUSES,
  PROCESS_RISKS,
  type Diagnosis,
  type Finding,
} from '../../src/diagnosis.js';
import { BACKEND_FAMILIES, FRONTEND_FAMILIES, HTTP_CODES, PROCESS_FAMILIES, SERVER_FAMILIES, type StatFamily } from '../../src/metrics/families.js';
import type { MetricType } from '../../src/metrics/exposition.js';
import { cell } from '../../src/parse/stat.js';
import { SERVER_STATES, type Snapshot } from '../../src/snapshot.js';
import type { Watcher } from '../../src/watcher.js';

type Labels = Record<string, string>;

export async function straightforwardExposition(snapshot: Snapshot, watcher: Watcher, diagnosis: Diagnosis, collect: CollectOptions): Promise<string> {
  const registry = new Registry();
  const metrics = new Map<string, Gauge | Counter>();
  const set = (name: string, type: MetricType, labels: Labels, value: number): void => {
    let metric = metrics.get(name);
    if (metric === undefined) {
      const options = { name, help: name, labelNames: Object.keys(labels), registers: [registry] };
      metric = type === 'counter' ? new Counter(options) : new Gauge(options);
      metrics.set(name, metric);
    }
    if (metric instanceof Counter) metric.inc(labels, value);
    else metric.set(labels, value);
  };
  const statFamilies = (
    scope: string,
    families: readonly StatFamily[],
    objects: ReadonlyArray<{ row: number | null; labels: Labels }>,
    withResponses: boolean,
  ): void => {
    for (const o of objects) {
      if (o.row === null) continue;
      for (const f of families) {
        const text = cell(snapshot.stat, o.row, f.column);
        if (text === undefined || text === '' || !Number.isFinite(Number(text))) continue;
        set(`haproxy_${scope}_${f.suffix}`, f.type, o.labels, f.ms ? Number(text) / 1000 : Number(text));
      }
      if (!withResponses) continue;
      for (const [code, column] of HTTP_CODES) {
        const text = cell(snapshot.stat, o.row, column);
        if (text !== undefined && text !== '') set(`haproxy_${scope}_http_responses_total`, 'counter', { ...o.labels, code }, Number(text));
      }
    }
  };

  const info = snapshot.info;
  if (info !== null) {
    set('haproxy_process_build_info', 'gauge', { version: info.version ?? '' }, 1);
    for (const [field, suffix, type] of PROCESS_FAMILIES) {
      const text = info.fields.get(field);
      if (text !== undefined && text !== '' && Number.isFinite(Number(text))) set(`haproxy_process_${suffix}`, type, {}, Number(text));
    }
  }

  statFamilies(
    'frontend',
    FRONTEND_FAMILIES,
    snapshot.frontends.map((f) => ({ row: f.row, labels: { proxy: f.name } })),
    true,
  );
  for (const f of snapshot.frontends) {
    if (f.sessions.limit) set('haproxy_frontend_sessions_utilization_ratio', 'gauge', { proxy: f.name }, f.sessions.current / f.sessions.limit);
  }

  const backends = snapshot.backends.filter((b) => collect.backends === null || collect.backends.test(b.name));
  statFamilies(
    'backend',
    BACKEND_FAMILIES,
    backends.map((b) => ({ row: b.row, labels: { proxy: b.name } })),
    true,
  );
  for (const b of backends) {
    const labels = { proxy: b.name };
    set('haproxy_backend_servers', 'gauge', labels, b.counts.total);
    set('haproxy_backend_up_servers', 'gauge', labels, b.counts.usable);
    set('haproxy_backend_no_up_servers', 'gauge', labels, b.noUsableServer ? 1 : 0);
    if (b.capacity) set('haproxy_backend_sessions_utilization_ratio', 'gauge', labels, b.capacity.sessions / b.capacity.limit);
    set('haproxy_backend_no_up_servers_seconds_total', 'counter', labels, watcher.noUsableSeconds(b.name));
  }

  const groups = collect.serverMetrics;
  const servers = backends.flatMap((b) => b.servers).filter((s) => !(collect.noMaint && s.state === 'maint'));
  if (groups.size > 0) {
    statFamilies(
      'server',
      SERVER_FAMILIES.filter((f) => groups.has(f.group)),
      servers.map((s) => ({ row: s.row, labels: { proxy: s.backend, server: s.name } })),
      groups.has('traffic'),
    );
  }
  for (const s of servers) {
    const labels = { proxy: s.backend, server: s.name };
    const seen = watcher.seen(s.backend, s.name);
    if (groups.has('state')) {
      set('haproxy_server_state', 'gauge', { ...labels, state: s.state }, 1);
      if (s.check?.status && !s.check.paused) set('haproxy_server_check_status', 'gauge', { ...labels, status: s.check.status }, 1);
      if (s.check?.failuresUntilDown != null) set('haproxy_server_checks_until_down', 'gauge', labels, s.check.failuresUntilDown);
      const changedAt = seen?.changedAt ?? (s.lastChangeAt === null ? null : Math.floor(s.lastChangeAt / 1000));
      if (changedAt !== null) set('haproxy_server_last_state_change_timestamp_seconds', 'gauge', labels, changedAt);
    }
    if (groups.has('sessions') && s.sessions.limit) set('haproxy_server_sessions_utilization_ratio', 'gauge', labels, s.sessions.current / s.sessions.limit);
    const changes = seen?.changes;
    if (groups.has('changes') && changes) for (const to of SERVER_STATES) set('haproxy_server_state_changes_total', 'counter', { ...labels, to }, changes[to]);
  }

  const findings = (name: string, label: string, codes: readonly string[], labels: Labels, found: readonly Finding[]): void => {
    for (const code of codes) set(name, 'gauge', { ...labels, [label]: code }, found.some((f) => f.code === code) ? 1 : 0);
  };
  for (const b of diagnosis.backends.filter((d) => collect.backends === null || collect.backends.test(d.name))) {
    findings('haproxy_backend_503_cause', 'cause', BACKEND_CAUSES, { proxy: b.name }, b.causes);
    findings('haproxy_backend_503_risk', 'risk', BACKEND_RISKS, { proxy: b.name }, b.risks);
  }
  for (const f of diagnosis.frontends) {
    findings('haproxy_frontend_503_cause', 'cause', FRONTEND_CAUSES, { proxy: f.name }, f.causes);
    findings('haproxy_frontend_503_risk', 'risk', FRONTEND_RISKS, { proxy: f.name }, f.risks);
  }
  if (diagnosis.process.known) {
    findings('haproxy_process_503_cause', 'cause', PROCESS_CAUSES, {}, diagnosis.process.causes);
    findings('haproxy_process_503_risk', 'risk', PROCESS_RISKS, {}, diagnosis.process.risks);
  }
  return registry.metrics();
}

/** What an exposition says: each series' value, and each family's type; order, help and spacing aside. */
export function expositionContent(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    const key = `${match[1]}{${labels.join(',')}}`;
    if (samples.has(key)) throw new Error(`series twice: ${key}`);
    samples.set(key, Number(match[3]));
  }
  return { samples, types };
}
