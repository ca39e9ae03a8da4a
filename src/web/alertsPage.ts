// /alerts: the alerts nosrv holds and where it sent them, for people (HTML) and tools (JSON).

import type { Alerting } from '../alerting/dispatcher.js';
import { escapeHtml } from './html.js';

export interface AlertsReport {
  readonly enabled: boolean;
  readonly alertmanagers: ReadonlyArray<{
    readonly url: string;
    readonly up: boolean | null;
    readonly last_error: string | null;
    readonly last_sent_at: string | null;
    readonly next_try_at: string | null;
  }>;
  readonly alerts: ReadonlyArray<{
    readonly alertname: string;
    readonly state: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
    readonly since: string;
    readonly firing_at: string | null;
    readonly resolved_at: string | null;
  }>;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function alertsReport(alerting: Alerting | null): AlertsReport {
  if (!alerting) return { enabled: false, alertmanagers: [], alerts: [] };
  return {
    enabled: true,
    alertmanagers: alerting
      .receiverStatus()
      .map((r) => ({ url: r.url, up: r.up, last_error: r.lastError, last_sent_at: iso(r.lastSentAt), next_try_at: iso(r.nextTryAt) })),
    alerts: alerting.alerts().map((h) => ({
      alertname: h.alert.alertname,
      state: h.state,
      labels: h.alert.labels,
      annotations: h.alert.annotations,
      since: new Date(h.since).toISOString(),
      firing_at: iso(h.firingAt),
      resolved_at: iso(h.resolvedAt),
    })),
  };
}

export function alertsPage(report: AlertsReport): string {
  const body = !report.enabled
    ? '<p>nosrv sends no alerts itself: start it with <code>--alertmanager.url=http://alertmanager:9093</code>. The rules in <code>deploy/prometheus/nosrv.rules.yml</code> alert through Prometheus either way.</p>'
    : `<h2>Alertmanagers</h2>
<table><tr><th>URL</th><th>up</th><th>last sent</th><th>last error</th></tr>
${report.alertmanagers.map((a) => `<tr><td>${escapeHtml(a.url)}</td><td>${a.up === null ? 'not yet' : a.up ? 'yes' : 'no'}</td><td>${escapeHtml(a.last_sent_at ?? '')}</td><td>${escapeHtml(a.last_error ?? '')}${a.next_try_at ? ` (retry at ${escapeHtml(a.next_try_at)})` : ''}</td></tr>`).join('\n')}
</table>
<h2>Alerts</h2>
${report.alerts.length === 0 ? '<p>None: nothing holds.</p>' : ''}<table>${report.alerts.length > 0 ? '<tr><th>state</th><th>alert</th><th>about</th><th>since</th><th>summary</th></tr>' : ''}
${report.alerts
  .map((a) => {
    const about = [a.labels.proxy, a.labels.server, a.labels.cause ?? a.labels.risk].filter(Boolean).join(' ');
    const links = `<a href="${escapeHtml(a.annotations.explain_url ?? '')}">explain</a> · <a href="${escapeHtml(a.annotations.runbook_url ?? '')}">runbook</a>`;
    return `<tr class="${escapeHtml(a.state)}"><td>${escapeHtml(a.state)}</td><td>${escapeHtml(a.alertname)} <small>${escapeHtml(a.labels.severity ?? '')}</small></td><td>${escapeHtml(about)}</td><td>${escapeHtml(a.since)}</td><td>${escapeHtml(a.annotations.summary ?? '')} <small>${links}</small></td></tr>`;
  })
  .join('\n')}
</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="10">
<title>nosrv alerts</title>
<style>body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.4}td,th{padding:.2em .5em;text-align:left;border-bottom:1px solid #ddd;vertical-align:top}tr.firing td:first-child{color:#b00;font-weight:bold}tr.resolved{color:#666}code{background:#eee;padding:0 .2em}</style>
</head><body>
<p><a href="./">nosrv</a> · <a href="explain">/explain</a> · <a href="runbooks/">runbooks</a> · <a href="alerts?format=json">JSON</a></p>
<h1>Alerts nosrv sends itself</h1>
${body}
</body></html>
`;
}
