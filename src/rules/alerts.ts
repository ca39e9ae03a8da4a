// The alert and recording rules, as data: one source for `nosrv rules`, the committed rule file,
// the runbooks' index and the README's table. Every expression reads nosrv's own series, so an
// alert says what /explain says; the one exception, HAProxyBackendMade5xx, reads HAProxy's raw
// counters so that it also catches what the diagnosis missed.

import { FAILED_CHECK_STATUSES } from '../parse/checkStatus.js';

export type Severity = 'critical' | 'warning' | 'info';

/** What `nosrv rules` lets people tune; each alert reads what it needs. */
export interface RuleSettings {
  /** PromQL label matchers that select nosrv's series: `job="nosrv"`. */
  readonly selector: string;
  /** Backends that are empty or failing by design (an anchored regular expression), or null. */
  readonly ignoreBackends: string | null;
  /** Base of `runbook_url`; may use `{{ $labels.instance }}` to point at the nosrv that saw it. */
  readonly runbookUrl: string;
  /** Base of the `/explain` link, likewise. */
  readonly explainUrl: string;
  /** The admin socket's path, printed in commands that change HAProxy's state. */
  readonly adminSocket: string;
}

export interface AlertRule {
  readonly alert: string;
  readonly severity: Severity;
  /** `for:`, a Prometheus duration. */
  readonly for: string;
  /** `keep_firing_for:` where a flapping condition would otherwise resolve and page again. */
  readonly keepFiringFor?: string;
  /** A number people tune, read by `expr`; `meaning` says what it is, for --help and the README. */
  readonly threshold?: { readonly value: number; readonly meaning: string };
  /** What makes it fire, in one sentence, for the README's table. */
  readonly firesWhen: string;
  readonly expr: (s: RuleSettings, threshold: number) => string;
  readonly summary: string;
  readonly description: (s: RuleSettings) => string;
  /** Which scope the alert is about: decides the labels it carries and the /explain link. */
  readonly scope: 'backend' | 'server' | 'frontend' | 'process' | 'pipeline';
}

export interface RecordingRule {
  readonly record: string;
  readonly expr: (s: RuleSettings) => string;
}

/** `metric{selector,extra...}`. */
function series(s: RuleSettings, metric: string, ...extra: string[]): string {
  return `${metric}{${[s.selector, ...extra].filter(Boolean).join(',')}}`;
}

/** The same, leaving out the ignored backends. */
function backendSeries(s: RuleSettings, metric: string, ...extra: string[]): string {
  return series(s, metric, ...(s.ignoreBackends ? [`proxy!~${JSON.stringify(s.ignoreBackends)}`] : []), ...extra);
}

const ON_BACKEND = 'on (job, instance, proxy)';
const ON_SERVER = 'on (job, instance, proxy, server)';

/** The alert's own node and backend, as matchers inside a template's query. */
const THIS_BACKEND = 'job=%[1]q,instance=%[2]q,proxy=%[3]q';
const QUERY_ARGS = '$labels.job $labels.instance $labels.proxy';

/**
 * A template listing the backend's servers that match `stateMatcher`: each with its state, how
 * long it has been in it, and its last check where it has one.
 */
function serverList(stateMatcher: string): string {
  const inState = `(time() - haproxy_server_last_state_change_timestamp_seconds{${THIS_BACKEND}}) * ${ON_SERVER} group_left (state) (haproxy_server_state{${THIS_BACKEND},${stateMatcher}} == 1)`;
  const query = `${inState} * ${ON_SERVER} group_left (status) (haproxy_server_check_status{${THIS_BACKEND}} == 1) or ${ON_SERVER} ${inState}`;
  return `{{ range $i, $s := printf \`${query}\` ${QUERY_ARGS} | query }}{{ if $i }}; {{ end }}{{ $s.Labels.server }} {{ $s.Labels.state | toUpper }} for {{ $s.Value | humanizeDuration }}{{ with $s.Labels.status }}, last check {{ . }}{{ end }}{{ end }}.`;
}

/** A template counting the nodes on which the same backend has the same finding. */
function nodeCount(metric: string, label: 'cause' | 'risk'): string {
  return `{{ with printf \`count(${metric}{job=%q,proxy=%q,${label}=%q} == 1)\` $labels.job $labels.proxy $labels.${label} | query }}{{ . | first | value }}{{ end }}`;
}

const FAILED_CHECK = `status=~"${FAILED_CHECK_STATUSES.join('|')}"`;

/** A template listing the backend's UP servers whose last check failed, with the checks they have left. */
function failingChecks(): string {
  const query = `haproxy_server_checks_until_down{${THIS_BACKEND}} * ${ON_SERVER} group_left (status) (haproxy_server_check_status{${THIS_BACKEND},${FAILED_CHECK}} == 1) and ${ON_SERVER} (haproxy_server_state{${THIS_BACKEND},state="up"} == 1)`;
  return `Failing: {{ range $i, $s := printf \`${query}\` ${QUERY_ARGS} | query }}{{ if $i }}; {{ end }}{{ $s.Labels.server }} (last check {{ $s.Labels.status }}, DOWN after {{ $s.Value }} more failed check(s)){{ end }}.`;
}

const admin = (s: RuleSettings, command: string): string => `echo '${command}' | socat stdio ${s.adminSocket}`;

export const RECORDING_RULES: readonly RecordingRule[] = [
  {
    record: 'instance_proxy:haproxy_backend_http_responses_5xx:rate5m',
    expr: (s) => `sum by (job, instance, proxy) (rate(${backendSeries(s, 'haproxy_backend_http_responses_total', 'code="5xx"')}[5m]))`,
  },
  {
    record: 'instance_proxy:haproxy_server_http_responses_5xx:rate5m',
    expr: (s) => `sum by (job, instance, proxy) (rate(${backendSeries(s, 'haproxy_server_http_responses_total', 'code="5xx"')}[5m]))`,
  },
  {
    // A backend's 5xx count its servers' and those HAProxy made itself (no server, queue timeout);
    // a backend with no server has no server series, so it counts as 0 there.
    record: 'instance_proxy:haproxy_made_http_responses_5xx:rate5m',
    expr: () =>
      `clamp_min(instance_proxy:haproxy_backend_http_responses_5xx:rate5m - ${ON_BACKEND} (instance_proxy:haproxy_server_http_responses_5xx:rate5m or ${ON_BACKEND} instance_proxy:haproxy_backend_http_responses_5xx:rate5m * 0), 0)`,
  },
  {
    record: 'instance_proxy:haproxy_backend_http_requests:rate5m',
    expr: (s) => `sum by (job, instance, proxy) (rate(${backendSeries(s, 'haproxy_backend_http_requests_total')}[5m]))`,
  },
  {
    record: 'instance_proxy:haproxy_made_http_responses_5xx:ratio_rate5m',
    expr: () => `instance_proxy:haproxy_made_http_responses_5xx:rate5m / ${ON_BACKEND} (instance_proxy:haproxy_backend_http_requests:rate5m > 0)`,
  },
  {
    record: 'proxy_cause:haproxy_backend_503_cause:nodes',
    expr: (s) => `count by (job, proxy, cause) (${backendSeries(s, 'haproxy_backend_503_cause')} == 1)`,
  },
  {
    record: 'proxy_risk:haproxy_backend_503_risk:nodes',
    expr: (s) => `count by (job, proxy, risk) (${backendSeries(s, 'haproxy_backend_503_risk')} == 1)`,
  },
  {
    record: 'instance_backend_reason:haproxy_log_503:rate5m',
    expr: (s) => `sum by (job, instance, backend, reason) (rate(${series(s, 'haproxy_log_503_total')}[5m]))`,
  },
];

export const ALERTS: readonly AlertRule[] = [
  // --- HAProxy answers 503 now: page --------------------------------------------------------
  {
    alert: 'HAProxyBackendAnswering503',
    severity: 'critical',
    scope: 'backend',
    for: '30s',
    keepFiringFor: '5m',
    threshold: { value: 0.25, meaning: 'share of the last minute the cause held' },
    firesWhen:
      'a 503 cause (`no_servers`, `servers_down`, `servers_maint`, `pool_exhausted`) held for a quarter of the last minute, so a check flapping every 30 s pages once',
    expr: (s, t) => `avg_over_time(${backendSeries(s, 'haproxy_backend_503_cause')}[1m]) >= ${t}`,
    summary: 'HAProxy answers 503 for backend {{ $labels.proxy }} ({{ $labels.cause }})',
    description: () =>
      `No server of backend {{ $labels.proxy }} on {{ $labels.instance }} can take a request ({{ $labels.cause }}, {{ $value | humanizePercentage }} of the last minute); seen by ${nodeCount('haproxy_backend_503_cause', 'cause')} node(s). Servers: ${serverList('state!="up"')}`,
  },
  {
    alert: 'HAProxyBackendMade5xx',
    severity: 'critical',
    scope: 'backend',
    for: '2m',
    threshold: { value: 0.05, meaning: "share of the backend's requests answered with a 5xx that HAProxy made itself" },
    firesWhen: "5xx that HAProxy made itself (the backend's, less its servers') are at least 5% of the backend's requests, from the raw counters alone",
    expr: (_, t) => `instance_proxy:haproxy_made_http_responses_5xx:ratio_rate5m >= ${t}`,
    summary: 'HAProxy itself answers 5xx for backend {{ $labels.proxy }}',
    description: () =>
      "{{ $value | humanizePercentage }} of backend {{ $labels.proxy }}'s requests on {{ $labels.instance }} got a 5xx that no server sent (no server to take them, or a queue timeout). Server-level 5xx do not count these.",
  },
  {
    alert: 'HAProxyBackendLastServerFailing',
    severity: 'critical',
    scope: 'backend',
    for: '30s',
    keepFiringFor: '5m',
    firesWhen: 'the last server that can take requests is failing its health checks',
    expr: (s) =>
      `${backendSeries(s, 'haproxy_backend_503_risk', 'risk="last_server_up"')} == 1 and ${ON_BACKEND} ${backendSeries(s, 'haproxy_backend_503_risk', 'risk="checks_failing"')} == 1`,
    summary: 'The last server of backend {{ $labels.proxy }} is failing health checks',
    description: () =>
      `Backend {{ $labels.proxy }} on {{ $labels.instance }} runs on one server, which is failing its health checks: once HAProxy marks it DOWN, every request gets 503. ${failingChecks()}`,
  },
  {
    alert: 'HAProxyFrontendNoBackendMatch',
    severity: 'critical',
    scope: 'frontend',
    for: '30s',
    keepFiringFor: '5m',
    firesWhen: 'the logs show 503s for requests that matched no `use_backend` on a frontend without `default_backend`',
    expr: (s) => `${series(s, 'haproxy_frontend_503_cause', 'cause="no_backend_match"')} == 1`,
    summary: 'Frontend {{ $labels.proxy }} answers 503 to requests no use_backend matched',
    description: () =>
      'Frontend {{ $labels.proxy }} on {{ $labels.instance }} has no default_backend, and requests that match none of its use_backend rules get 503 (seen in the logs in the last 5 minutes). Add a default_backend or a rule for them.',
  },
  {
    alert: 'HAProxyReloadFailed',
    severity: 'critical',
    scope: 'process',
    for: '1m',
    firesWhen: 'the last reload failed, so HAProxy runs an older configuration than its file',
    expr: (s) => `${series(s, 'haproxy_process_503_cause', 'cause="failed_reload"')} == 1`,
    summary: 'HAProxy on {{ $labels.instance }} failed to reload: it runs an older configuration',
    description: () =>
      'The master CLI of the HAProxy nosrv at {{ $labels.instance }} watches reports a failed reload: the running worker keeps the configuration it loaded before, not the one in the file. Run "haproxy -c -f <configuration file>" to see the error.',
  },
  // --- a 503 is coming: warn ------------------------------------------------------------------
  {
    alert: 'HAProxyBackendLastServer',
    severity: 'warning',
    scope: 'backend',
    for: '2m',
    keepFiringFor: '10m',
    firesWhen: 'a backend of several servers is down to its last usable one (a backend of one server by design does not fire)',
    expr: (s) =>
      `${backendSeries(s, 'haproxy_backend_503_risk', 'risk="last_server_up"')} == 1 and ${ON_BACKEND} ${backendSeries(s, 'haproxy_backend_servers')} > 1`,
    summary: 'Backend {{ $labels.proxy }} runs on its last usable server',
    description: () =>
      `One more failure and HAProxy answers 503 for backend {{ $labels.proxy }} on {{ $labels.instance }}. Cannot take requests: ${serverList('state!="up"')}`,
  },
  {
    alert: 'HAProxyBackendChecksFailing',
    severity: 'warning',
    scope: 'backend',
    for: '30s',
    keepFiringFor: '10m',
    firesWhen: 'a server that still takes requests is failing health checks, before HAProxy marks it DOWN',
    expr: (s) => `${backendSeries(s, 'haproxy_backend_503_risk', 'risk="checks_failing"')} == 1`,
    summary: 'A server of backend {{ $labels.proxy }} is failing health checks while UP',
    description: () =>
      `HAProxy will mark these servers of {{ $labels.proxy }} on {{ $labels.instance }} DOWN when their failed checks reach "fall". ${failingChecks()}`,
  },
  {
    alert: 'HAProxyBackendNearMaxconn',
    severity: 'warning',
    scope: 'backend',
    for: '5m',
    threshold: { value: 0.9, meaning: "sessions over the usable servers' maxconn" },
    firesWhen: "sessions hold 90% of the usable servers' `maxconn`: at 100% requests queue, then get 503",
    expr: (s, t) => `${backendSeries(s, 'haproxy_backend_sessions_utilization_ratio')} >= ${t}`,
    summary: "Backend {{ $labels.proxy }} is near its servers' maxconn",
    description: () =>
      'Backend {{ $labels.proxy }} on {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its usable servers\' maxconn. At 100% new requests wait in the queue, and get 503 after "timeout queue".',
  },
  {
    alert: 'HAProxyBackendSaturationPredicted',
    severity: 'warning',
    scope: 'backend',
    for: '10m',
    threshold: { value: 3600, meaning: 'seconds ahead that the last 30 minutes predict maxconn is reached' },
    firesWhen: "the last 30 minutes' trend (`predict_linear`) reaches the servers' `maxconn` within an hour",
    expr: (s, t) =>
      `predict_linear(${backendSeries(s, 'haproxy_backend_sessions_utilization_ratio')}[30m], ${t}) >= 1 and ${ON_BACKEND} ${backendSeries(s, 'haproxy_backend_sessions_utilization_ratio')} >= 0.5`,
    summary: "Backend {{ $labels.proxy }} will reach its servers' maxconn at this trend",
    description: () =>
      'At the last 30 minutes\' trend, backend {{ $labels.proxy }} on {{ $labels.instance }} fills its usable servers\' maxconn within the hour; then requests queue, and get 503 after "timeout queue".',
  },
  {
    alert: 'HAProxyBackendQueueing',
    severity: 'warning',
    scope: 'backend',
    for: '2m',
    keepFiringFor: '5m',
    threshold: { value: 0, meaning: 'requests waiting in the queue' },
    firesWhen: 'requests have been waiting in the backend\'s queue for 2 minutes: past "timeout queue" they get 503',
    expr: (s, t) => `${backendSeries(s, 'haproxy_backend_current_queue')} > ${t}`,
    summary: 'Requests queue in backend {{ $labels.proxy }}',
    description: () =>
      '{{ $value }} request(s) wait in the queue of backend {{ $labels.proxy }} on {{ $labels.instance }}: every usable server is at maxconn. Past "timeout queue" they get 503 (sQ in the logs).',
  },
  {
    alert: 'HAProxyServerHeld',
    severity: 'warning',
    scope: 'server',
    for: '5m',
    threshold: { value: 3600, meaning: 'seconds a server stays in MAINT or DRAIN before it counts as forgotten' },
    firesWhen: 'a server has been in MAINT or DRAIN for an hour while its peers serve: the forgotten maintenance',
    expr: (s, t) =>
      `time() - ${backendSeries(s, 'haproxy_server_last_state_change_timestamp_seconds')} > ${t} and ${ON_SERVER} ${backendSeries(s, 'haproxy_server_state', 'state=~"maint|drain"')} == 1 and ${ON_BACKEND} ${backendSeries(s, 'haproxy_backend_503_risk', 'risk="servers_held"')} == 1`,
    summary: 'Server {{ $labels.proxy }}/{{ $labels.server }} has been held in MAINT or DRAIN for {{ $value | humanizeDuration }}',
    description: (s) =>
      `Server {{ $labels.server }} of backend {{ $labels.proxy }} on {{ $labels.instance }} has taken no new requests for {{ $value | humanizeDuration }} while its peers serve: maintenance forgotten after a deploy takes capacity away. If it is healthy, put it back: ${admin(s, 'set server {{ $labels.proxy }}/{{ $labels.server }} state ready')}`,
  },
  {
    alert: 'HAProxyFrontendNoDefaultBackend',
    severity: 'warning',
    scope: 'frontend',
    for: '5m',
    firesWhen: 'a frontend routes with `use_backend` and has no `default_backend`: an unmatched request gets 503',
    expr: (s) => `${series(s, 'haproxy_frontend_503_risk', 'risk="no_default_backend"')} == 1`,
    summary: 'Frontend {{ $labels.proxy }} has no default_backend',
    description: () =>
      'Frontend {{ $labels.proxy }} on {{ $labels.instance }} routes with use_backend and has no default_backend: a request that no rule matches gets 503. Add a default_backend, even one that answers a clear error page.',
  },
  {
    alert: 'HAProxyOldWorkers',
    severity: 'warning',
    scope: 'process',
    for: '1h',
    firesWhen: 'workers from earlier reloads have kept running for an hour, serving old configurations',
    expr: (s) => `${series(s, 'haproxy_process_503_risk', 'risk="old_workers"')} == 1`,
    summary: 'Old HAProxy workers pile up on {{ $labels.instance }}',
    description: () =>
      'Workers from earlier reloads of the HAProxy nosrv at {{ $labels.instance }} watches have run for over an hour, each with the configuration it started with and its own memory. "hard-stop-after" in the global section bounds how long they may stay.',
  },
  // --- the pipeline ---------------------------------------------------------------------------
  {
    alert: 'HAProxyUnreadable',
    severity: 'info',
    scope: 'pipeline',
    for: '1m',
    firesWhen: 'nosrv cannot read HAProxy (`haproxy_up == 0`): no other alert from that node can be trusted, so the example routes silence them',
    expr: (s) => `${series(s, 'haproxy_up')} == 0`,
    summary: 'nosrv at {{ $labels.instance }} cannot read HAProxy',
    description: () =>
      "nosrv at {{ $labels.instance }} has failed to read HAProxy's runtime API for a minute: HAProxy may be down, restarting, or its socket moved or refused. nosrv logs the reason once; /explain shows it.",
  },
  {
    alert: 'HAProxyNosrvDown',
    severity: 'info',
    scope: 'pipeline',
    for: '5m',
    firesWhen: 'Prometheus cannot scrape nosrv, or finds no nosrv to scrape',
    expr: (s) => `${series(s, 'up')} == 0 or absent(${series(s, 'up')})`,
    summary: 'nosrv {{ with $labels.instance }}at {{ . }} {{ end }}is not scraped',
    description: () =>
      'Prometheus has not scraped nosrv {{ with $labels.instance }}at {{ . }} {{ end }}for 5 minutes: no alert about HAProxy can fire from it. Check that the process runs ("systemctl status nosrv", the pod) and that Prometheus reaches its /metrics.',
  },
  {
    alert: 'HAProxyWatchdog',
    severity: 'info',
    scope: 'pipeline',
    for: '0s',
    firesWhen: "always: a dead man's switch, routed to a heartbeat receiver that pages when it stops arriving",
    expr: () => 'vector(1)',
    summary: 'The alerting pipeline of nosrv is working',
    description: () =>
      'This alert always fires. If its heartbeat stops arriving, Prometheus, its rules or Alertmanager are broken, and no HAProxy alert can reach anyone.',
  },
];

export const ALERT_NAMES: readonly string[] = ALERTS.map((a) => a.alert);
