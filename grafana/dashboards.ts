// The three dashboards of a 503 incident, led by nosrv's verdict: "HAProxy 503s" (the first screen),
// "HAProxy backend" (one backend's servers, checks and capacity) and "nosrv" (the exporter itself).
// `npm run dashboards` writes them to grafana/dashboards/*.json.

import { DashboardBuilder, MappingType, type Dashboard, type ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { AnnotationQueryBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PanelBuilder as TablePanel } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { stringify } from 'yaml';
import { CHECK_STATUSES } from '../src/parse/checkStatus.js';
import {
  BACKEND_LINK,
  DATASOURCE,
  EXPLAIN_LINK,
  RUNBOOK_LINK,
  SEL,
  UIDS,
  backendVariable,
  dashboardLinks,
  datasourceVariable,
  instanceVariable,
  instant,
  jobVariable,
  series,
} from './common.js';

/** During an incident: refreshed often, over the last hours. */
const INCIDENT = { tags: ['nosrv', 'haproxy'], refresh: '30s', from: 'now-3h' };

/** A dashboard with the datasource, job and instance variables and the links to the others. */
function dashboard(title: string, uid: string, description: string, options: { tags: string[]; refresh: string; from: string }): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(options.tags)
    .refresh(options.refresh)
    .time({ from: options.from, to: 'now' })
    .withVariable(datasourceVariable())
    .withVariable(jobVariable())
    .withVariable(instanceVariable())
    .links(dashboardLinks());
}

const at = (x: number, y: number, w: number, h: number): { x: number; y: number; w: number; h: number } => ({ x, y, w, h });

/** Table columns left out: what the reader does not need to see. */
const HIDDEN = { Time: true, __name__: true, job: true, Value: true, 'Value #A': true };

function table(title: string, description: string): TablePanel {
  return new TablePanel().title(title).description(description).datasource(DATASOURCE).unit('none').showHeader(true);
}

function timeseries(title: string, description: string, unit: string): TimeseriesPanel {
  return new TimeseriesPanel().title(title).description(description).datasource(DATASOURCE).unit(unit).min(0);
}

const textOf = (values: Record<string, string>): ValueMapping[] => [
  { type: MappingType.ValueToText, options: Object.fromEntries(Object.entries(values).map(([value, text], index) => [value, { text, index }])) },
];

export function overviewDashboard(): Dashboard {
  const failing = table(
    'Backends answering 503 now',
    'Every backend for which a nosrv says HAProxy answers 503, with the cause (no_servers, servers_down, servers_maint, pool_exhausted) and how long since its servers last changed state. Click a backend for its servers, or for /explain on the nosrv that saw it: the evidence and the command that fixes it.',
  )
    .withTarget(instant('A', `max by (instance, proxy, cause) (haproxy_backend_503_cause{${SEL}} == 1)`))
    .withTarget(
      instant(
        'B',
        `(time() - max by (instance, proxy) (haproxy_server_last_state_change_timestamp_seconds{${SEL}})) and on (instance, proxy) max by (instance, proxy) (haproxy_backend_503_cause{${SEL}} == 1)`,
      ),
    )
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({ id: 'organize', options: { excludeByName: HIDDEN, renameByName: { 'Value #B': 'since last change' } } })
    .overrideByName('since last change', [{ id: 'unit', value: 's' }])
    .overrideByName('proxy', [{ id: 'links', value: [BACKEND_LINK, EXPLAIN_LINK] }])
    .gridPos(at(0, 0, 14, 8));
  const atRisk = table(
    'Backends at risk of 503',
    'Risks nosrv sees before HAProxy answers 503: last_server_up, checks_failing (a server failing checks while still UP), near_maxconn, queueing, servers_held (MAINT or DRAIN while peers serve).',
  )
    .withTarget(instant('A', `max by (instance, proxy, risk) (haproxy_backend_503_risk{${SEL}} == 1)`))
    .withTransformation({ id: 'organize', options: { excludeByName: HIDDEN } })
    .overrideByName('proxy', [{ id: 'links', value: [BACKEND_LINK, EXPLAIN_LINK] }])
    .gridPos(at(14, 0, 10, 8));
  const nodes = table(
    'Nodes that see each failing backend',
    'How many HAProxy nodes (of those nosrv watches) see each backend failing, and why: one node points at that node, every node at the servers or their network. From the recording rule proxy_cause:haproxy_backend_503_cause:nodes.',
  )
    .withTarget(instant('A', 'proxy_cause:haproxy_backend_503_cause:nodes{job=~"$job"}'))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true, job: true }, renameByName: { Value: 'nodes' } } })
    .overrideByName('proxy', [{ id: 'links', value: [BACKEND_LINK] }])
    .gridPos(at(0, 8, 8, 7));
  const alerts = table(
    'Firing nosrv alerts',
    "Alerts firing in Prometheus from nosrv's rules (ALERTS). The runbook link opens on the nosrv that exported the series.",
  )
    .withTarget(
      instant(
        'A',
        'max by (alertname, severity, instance, proxy, cause, risk, server) (ALERTS{alertstate="firing",alertname=~"HAProxy.+",job=~"$job",instance=~"$instance"})',
      ),
    )
    .withTransformation({ id: 'organize', options: { excludeByName: HIDDEN } })
    .overrideByName('alertname', [{ id: 'links', value: [RUNBOOK_LINK] }])
    .gridPos(at(8, 8, 16, 7));
  const made = timeseries(
    'HAProxy-made 5xx against server 5xx',
    "5xx HAProxy answered itself (the backend's less its servers', from the counters) next to those its servers sent, and the 503s in HAProxy's logs by reason. Dashboards built on server responses never see the first: no server answered.",
    'reqps',
  )
    .withTarget(series('A', `sum by (proxy) (instance_proxy:haproxy_made_http_responses_5xx:rate5m{${SEL}})`, 'made by HAProxy: {{proxy}}'))
    .withTarget(series('B', `sum by (proxy) (instance_proxy:haproxy_server_http_responses_5xx:rate5m{${SEL}})`, 'from servers: {{proxy}}'))
    .withTarget(series('C', `sum by (backend, reason) (rate(haproxy_log_503_total{${SEL}}[$__rate_interval]))`, 'logged 503: {{backend}} {{reason}}'))
    .gridPos(at(0, 15, 12, 8));
  const noServer = timeseries(
    'Time with no usable server',
    'Share of the time the watcher (polling every second) saw each backend with no server able to take a request: HAProxy answers every request to it with 503 then.',
    'percentunit',
  )
    .withTarget(series('A', `max by (proxy) (rate(haproxy_backend_no_up_servers_seconds_total{${SEL}}[$__rate_interval])) > 0`, '{{proxy}}'))
    .max(1)
    .gridPos(at(12, 15, 12, 8));
  const reloads = timeseries(
    'Reloads, failed reloads and old workers',
    'A new worker after each reload (its start time changes); a failed reload (HAProxy runs an older configuration than its file); old workers still serving connections. Needs --haproxy.master-socket for the last two.',
    'short',
  )
    .withTarget(series('A', `sum by (instance) (changes(haproxy_process_start_time_seconds{${SEL}}[$__rate_interval]))`, 'reloads: {{instance}}'))
    .withTarget(series('B', `max by (instance) (haproxy_process_503_cause{${SEL},cause="failed_reload"}) > 0`, 'failed reload: {{instance}}'))
    .withTarget(series('C', `max by (instance) (haproxy_process_503_risk{${SEL},risk="old_workers"}) > 0`, 'old workers: {{instance}}'))
    .gridPos(at(0, 23, 24, 6));
  return dashboard(
    'HAProxy 503s',
    UIDS.overview,
    'Which backends HAProxy answers 503 for now or soon, why, since when and on how many nodes: the first screen of an incident.',
    INCIDENT,
  )
    .withPanel(failing)
    .withPanel(atRisk)
    .withPanel(nodes)
    .withPanel(alerts)
    .withPanel(made)
    .withPanel(noServer)
    .withPanel(reloads)
    .build();
}

/** State codes for the state timeline: one series per server whose value says its state. */
const STATE_CODES = { up: 1, down: 2, maint: 3, drain: 4, nolb: 5 } as const;
const STATE_COLORS: Record<keyof typeof STATE_CODES, string> = { up: 'green', down: 'red', maint: 'blue', drain: 'orange', nolb: 'yellow' };
const BACKEND_SEL = `${SEL},proxy="$backend"`;

export function backendDashboard(): Dashboard {
  const states = Object.entries(STATE_CODES).map(([state, code]) => `(haproxy_server_state{${BACKEND_SEL},state="${state}"} == 1) * ${code}`);
  const usable = timeseries(
    'Usable servers against configured',
    'Servers that can take a new request (UP, not MAINT or DRAIN; backups counted) against those configured. At 0 HAProxy answers 503.',
    'short',
  )
    .withTarget(series('A', `haproxy_backend_up_servers{${BACKEND_SEL}}`, 'usable: {{instance}}'))
    .withTarget(series('B', `haproxy_backend_servers{${BACKEND_SEL}}`, 'configured: {{instance}}'))
    .decimals(0)
    .gridPos(at(0, 0, 12, 8));
  const timeline = new StateTimelinePanel()
    .title('Server states')
    .description("Each server's state over time: up, down (by health checks), maint, drain (held by an operator, the configuration or an agent), nolb.")
    .datasource(DATASOURCE)
    .unit('none')
    .withTarget(series('A', `max by (instance, server) (${states.join(' or ')})`, '{{server}} ({{instance}})'))
    .mappings([
      {
        type: MappingType.ValueToText,
        options: Object.fromEntries(
          Object.entries(STATE_CODES).map(([state, code], index) => [
            String(code),
            { text: state, color: STATE_COLORS[state as keyof typeof STATE_CODES], index },
          ]),
        ),
      },
    ])
    .gridPos(at(12, 0, 12, 8));
  const servers = table(
    'Servers',
    "Each server: its state, its last health check (the code, and what it means), how many failed checks are left before HAProxy marks it DOWN, and how long it has been in its state. The check's own detail is in /explain.",
  )
    .withTarget(instant('A', `max by (instance, server, state) (haproxy_server_state{${BACKEND_SEL}} == 1)`))
    .withTarget(instant('B', `max by (instance, server, status) (haproxy_server_check_status{${BACKEND_SEL}} == 1)`))
    .withTarget(instant('C', `max by (instance, server) (haproxy_server_checks_until_down{${BACKEND_SEL}})`))
    .withTarget(instant('D', `max by (instance, server) (time() - haproxy_server_last_state_change_timestamp_seconds{${BACKEND_SEL}})`))
    .withTransformation({ id: 'merge', options: {} })
    .withTransformation({
      id: 'organize',
      options: {
        excludeByName: { ...HIDDEN, 'Value #B': true },
        renameByName: { status: 'last check', 'Value #C': 'checks left before DOWN', 'Value #D': 'in state for' },
      },
    })
    .overrideByName('in state for', [{ id: 'unit', value: 's' }])
    .overrideByName('last check', [{ id: 'mappings', value: textOf(Object.fromEntries(CHECK_STATUSES.map((s) => [s.name, `${s.name}: ${s.description}`]))) }])
    .overrideByName('state', [{ id: 'mappings', value: textOf(Object.fromEntries(Object.keys(STATE_CODES).map((s) => [s, s.toUpperCase()]))) }])
    .overrideByName('instance', [
      { id: 'links', value: [{ title: 'Why: /explain on that nosrv', url: 'http://${__data.fields.instance}/explain?backend=$backend', targetBlank: true }] },
    ])
    .gridPos(at(0, 8, 24, 8));
  const sessions = timeseries(
    'Sessions against maxconn',
    "Current sessions over the usable servers' maxconn, and where the last 30 minutes' trend leads in an hour (the predict_linear of HAProxyBackendSaturationPredicted). At 1 requests queue, then get 503.",
    'percentunit',
  )
    .withTarget(series('A', `haproxy_backend_sessions_utilization_ratio{${BACKEND_SEL}}`, 'used: {{instance}}'))
    .withTarget(series('B', `predict_linear(haproxy_backend_sessions_utilization_ratio{${BACKEND_SEL}}[30m], 3600)`, 'in an hour at this trend: {{instance}}'))
    .gridPos(at(0, 16, 12, 8));
  const queue = timeseries('Queue', 'Requests waiting for a server slot (qcur). Past "timeout queue" they get 503 (sQ in the logs).', 'short')
    .withTarget(series('A', `haproxy_backend_current_queue{${BACKEND_SEL}}`, 'queued: {{instance}}'))
    .gridPos(at(12, 16, 12, 8));
  const reasons = timeseries(
    '503s by reason',
    "HAProxy's 503s for this backend in its logs, by reason (no_server, queue_timeout, other), and the 5xx it made itself from the counters.",
    'reqps',
  )
    .withTarget(series('A', `sum by (reason) (rate(haproxy_log_503_total{${SEL},backend="$backend"}[$__rate_interval]))`, '{{reason}}'))
    .withTarget(series('B', `sum(instance_proxy:haproxy_made_http_responses_5xx:rate5m{${BACKEND_SEL}})`, 'made by HAProxy (counters)'))
    .gridPos(at(0, 24, 12, 8));
  const runbooks = table('Alerts firing for this backend', "nosrv's alerts firing for this backend, with their runbook.")
    .withTarget(instant('A', `max by (alertname, severity, instance, cause, risk, server) (ALERTS{alertstate="firing",alertname=~"HAProxy.+",${BACKEND_SEL}})`))
    .withTransformation({ id: 'organize', options: { excludeByName: HIDDEN } })
    .overrideByName('alertname', [{ id: 'links', value: [RUNBOOK_LINK] }])
    .gridPos(at(12, 24, 12, 8));
  return dashboard(
    'HAProxy backend',
    UIDS.backend,
    'One backend during an incident: its servers and their checks, sessions against maxconn, the queue, its 503s and the alerts that fire for it.',
    INCIDENT,
  )
    .withVariable(backendVariable())
    .annotation(
      new AnnotationQueryBuilder()
        .name('Server state changes')
        .datasource(DATASOURCE)
        .enable(true)
        .iconColor('orange')
        .expr(`sum by (instance, server, to) (increase(haproxy_server_state_changes_total{${BACKEND_SEL}}[$__rate_interval])) > 0`),
    )
    .withPanel(usable)
    .withPanel(timeline)
    .withPanel(servers)
    .withPanel(sessions)
    .withPanel(queue)
    .withPanel(reasons)
    .withPanel(runbooks)
    .build();
}

export function nosrvDashboard(): Dashboard {
  const panels = [
    timeseries(
      'Read duration by command',
      'How long the last read of each HAProxy command took (show info, show stat, show servers state, show proc).',
      's',
    ).withTarget(series('A', `max by (instance, command) (nosrv_read_duration_seconds{${SEL}})`, '{{command}} {{instance}}')),
    timeseries(
      'Read errors by code',
      'Failed reads of HAProxy: socket_missing, permission_denied, timeout, malformed_answer, ... Each failure is also logged once when it starts and once when it ends.',
      'ops',
    ).withTarget(series('A', `sum by (code) (rate(nosrv_read_errors_total{${SEL}}[$__rate_interval]))`, '{{code}}')),
    timeseries(
      'Watcher polls by result',
      "The watcher's polls of server states: observed, failed, skipped while busy, or skipped to stay below 1% of HAProxy's time.",
      'ops',
    ).withTarget(series('A', `sum by (result) (rate(nosrv_watcher_polls_total{${SEL}}[$__rate_interval]))`, '{{result}}')),
    timeseries(
      'Log lines by result, and dropped datagrams',
      "HAProxy's log lines nosrv received (with --logs.listen), by how they were understood, and the datagrams the kernel dropped before nosrv read them.",
      'ops',
    )
      .withTarget(series('A', `sum by (result) (rate(nosrv_log_lines_total{${SEL}}[$__rate_interval]))`, '{{result}}'))
      .withTarget(series('B', `sum(rate(nosrv_log_datagrams_dropped_total{${SEL}}[$__rate_interval]))`, 'dropped datagrams')),
    timeseries(
      'Series and scrape duration',
      "Samples in each scrape of nosrv, and how long the scrape took; a scrape near Prometheus's scrape_timeout loses data.",
      'short',
    )
      .withTarget(series('A', `scrape_samples_scraped{${SEL}}`, 'samples {{instance}}'))
      .withTarget(series('B', `scrape_duration_seconds{${SEL}}`, 'seconds {{instance}}'))
      .overrideByName('seconds {{instance}}', [{ id: 'unit', value: 's' }]),
    timeseries('Memory', "nosrv's resident memory and its JavaScript heap.", 'bytes')
      .withTarget(series('A', `process_resident_memory_bytes{${SEL}}`, 'resident {{instance}}'))
      .withTarget(series('B', `nodejs_heap_size_used_bytes{${SEL}}`, 'heap used {{instance}}')),
    timeseries(
      'Alerts sent to Alertmanager',
      "Posts of nosrv's own alerts to Alertmanager by result (with --alertmanager.url), and whether each Alertmanager took the last one.",
      'ops',
    )
      .withTarget(series('A', `sum by (result) (rate(nosrv_alerts_sent_total{${SEL}}[$__rate_interval]))`, '{{result}}'))
      .withTarget(series('B', `min by (url) (nosrv_alertmanager_up{${SEL}})`, 'up: {{url}}')),
    timeseries('HAProxy readable', '1 when the last read of HAProxy succeeded (haproxy_up); at 0 nosrv knows nothing of that node.', 'short')
      .withTarget(series('A', `haproxy_up{${SEL}}`, '{{instance}}'))
      .max(1),
  ];
  const builder = dashboard(
    'nosrv',
    UIDS.nosrv,
    'The exporter itself: its reads of HAProxy and their errors, the watcher, the logs it receives, its series, scrape time, memory and the alerts it sends.',
    {
      tags: ['nosrv'],
      refresh: '1m',
      from: 'now-6h',
    },
  );
  panels.forEach((panel, i) => builder.withPanel(panel.gridPos(at((i % 2) * 12, Math.floor(i / 2) * 8, 12, 8))));
  return builder.build();
}

export const DASHBOARDS: ReadonlyArray<{ readonly file: string; readonly build: () => Dashboard }> = [
  { file: 'haproxy-503s.json', build: overviewDashboard },
  { file: 'haproxy-backend.json', build: backendDashboard },
  { file: 'nosrv.json', build: nosrvDashboard },
];

/** The dashboards as a ConfigMap that Grafana's sidecar loader picks up (deploy/kubernetes/). */
export function dashboardsConfigMap(): string {
  const data = Object.fromEntries(DASHBOARDS.map(({ file, build }) => [file, dashboardJson(build())]));
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'nosrv-dashboards', labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'nosrv' } },
    data,
  };
  return `# Generated by "npm run dashboards" from grafana/dashboards.ts; edit that, not this file.\n${stringify(configMap, { lineWidth: 0 })}`;
}

/** A dashboard as committed: two-space JSON and a final newline. */
export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
