// The alerts nosrv sends itself, from one diagnosis: the rules' alert names, labels and summaries
// (src/rules/alerts.ts), so that Alertmanager's routes, silences and inhibitions treat both paths
// alike; the description is the diagnosis's own words. A pure function of its input.

import type { Diagnosis, Finding } from '../diagnosis.js';
import { formatMs } from '../diagnosisText.js';
import { ALERTS, type AlertRule, type Severity } from '../rules/alerts.js';

export interface PushedAlert {
  /** The label set, as Alertmanager tells alerts apart. */
  readonly key: string;
  readonly alertname: string;
  readonly severity: Severity;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Held at least this long before it is sent, beyond the severity's debounce (the rules' own for:). */
  readonly holdMs: number;
}

export interface PushContext {
  /** Base of the links, `http://host:9503`: where people reach this nosrv. */
  readonly externalUrl: string;
  /** Labels naming this nosrv and the HAProxy it watches. */
  readonly labels: Readonly<Record<string, string>>;
  /** Backends no alert is about: empty or failing by design. */
  readonly ignoreBackends: RegExp | null;
  readonly now: number;
}

const RULE: ReadonlyMap<string, AlertRule> = new Map(ALERTS.map((a) => [a.alert, a]));

function rule(name: string): AlertRule {
  const found = RULE.get(name);
  if (!found) throw new Error(`no rule named ${name}`);
  return found;
}

/** Every alert the diagnosis holds now. While HAProxy cannot be read, only what is known. */
export function pushedAlerts(d: Diagnosis, ctx: PushContext): PushedAlert[] {
  const out: PushedAlert[] = [];
  const add = (
    name: string,
    labels: Record<string, string>,
    finding: Finding | null,
    options: { value?: string; holdMs?: number; description?: string } = {},
  ): void => {
    const r = rule(name);
    const all = { alertname: name, severity: r.severity, ...labels, ...ctx.labels };
    const about = labels.proxy !== undefined && (r.scope === 'backend' || r.scope === 'server') ? `?backend=${encodeURIComponent(labels.proxy)}` : '';
    out.push({
      key: labelKey(all),
      alertname: name,
      severity: r.severity,
      labels: all,
      annotations: {
        summary: fill(r.summary, all, options.value ?? ''),
        description: options.description ?? (finding ? describe(finding) : ''),
        runbook_url: `${ctx.externalUrl}/runbooks/${name}`,
        explain_url: `${ctx.externalUrl}/explain${about}`,
      },
      holdMs: options.holdMs ?? 0,
    });
  };

  if (!d.haproxy.up) add('HAProxyUnreadable', {}, null, { description: `nosrv cannot read HAProxy: ${d.haproxy.error ?? 'unknown error'}.` });
  for (const b of d.backends) {
    if (ctx.ignoreBackends?.test(b.name)) continue;
    for (const c of b.causes) add('HAProxyBackendAnswering503', { proxy: b.name, cause: c.code }, c);
    const risk = (code: string): Finding | undefined => b.risks.find((f) => f.code === code);
    const last = risk('last_server_up');
    const failing = b.risks.filter((f) => f.code === 'checks_failing');
    if (last && failing.length > 0) add('HAProxyBackendLastServerFailing', { proxy: b.name, risk: 'last_server_up' }, failing[0] ?? null);
    if (last && b.servers.total > 1) add('HAProxyBackendLastServer', { proxy: b.name, risk: 'last_server_up' }, last);
    if (failing.length > 0)
      add('HAProxyBackendChecksFailing', { proxy: b.name, risk: 'checks_failing' }, null, { description: failing.map(describe).join(' ') });
    const near = risk('near_maxconn');
    if (near) add('HAProxyBackendNearMaxconn', { proxy: b.name }, near);
    const queueing = risk('queueing');
    if (queueing) add('HAProxyBackendQueueing', { proxy: b.name }, queueing);
    const held = risk('servers_held');
    const heldFor = (rule('HAProxyServerHeld').threshold?.value ?? 0) * 1000;
    for (const s of held?.servers ?? []) {
      const ms = s.since === null ? null : ctx.now - Date.parse(s.since);
      // As the rule: only once HAProxy has had it held that long, counted from HAProxy's own clock.
      if (ms !== null && ms > heldFor) add('HAProxyServerHeld', { proxy: b.name, server: s.name }, held ?? null, { value: formatMs(ms) });
    }
  }
  for (const f of d.frontends) {
    for (const c of f.causes) if (c.code === 'no_backend_match') add('HAProxyFrontendNoBackendMatch', { proxy: f.name, cause: c.code }, c);
    for (const r of f.risks) if (r.code === 'no_default_backend') add('HAProxyFrontendNoDefaultBackend', { proxy: f.name, risk: r.code }, r);
  }
  for (const c of d.process.causes) if (c.code === 'failed_reload') add('HAProxyReloadFailed', { cause: c.code }, c);
  for (const r of d.process.risks) if (r.code === 'old_workers') add('HAProxyOldWorkers', { risk: r.code }, r, { holdMs: 60 * 60_000 });
  return out;
}

function describe(f: Finding): string {
  return [f.summary, ...f.evidence].join(' ');
}

/** Alertmanager's identity of an alert: its labels, sorted. */
function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * The rules' summaries are Prometheus templates; the ones they use are `{{ $labels.x }}` and one
 * `{{ $value | ... }}`, given here as text.
 */
function fill(template: string, labels: Readonly<Record<string, string>>, value: string): string {
  const text = template.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '').replace(/\{\{ \$value[^}]*\}\}/g, value);
  if (text.includes('{{')) throw new Error(`a summary template nosrv cannot fill: ${template}`);
  return text;
}
