// `nosrv rules`: the alert and recording rules of alerts.ts, tuned by flags, as a Prometheus rule
// file or a Kubernetes PrometheusRule. The defaults are committed as deploy/prometheus/nosrv.rules.yml.

import { parseArgs } from 'node:util';
import { parseDuration } from '../config.js';
import { ALERTS, ALERT_NAMES, RECORDING_RULES, type AlertRule, type RuleSettings } from './alerts.js';
import { yaml } from '../onDemand.js';

export interface RuleOptions extends RuleSettings {
  readonly format: 'prometheus' | 'prometheusrule';
  /** Per alert: its `for:` and its threshold, where changed from the defaults. */
  readonly forOf: ReadonlyMap<string, string>;
  readonly thresholdOf: ReadonlyMap<string, number>;
  /** Multiplies every `for:` and `keep_firing_for:`, so a test sees alerts fire in seconds. */
  readonly forScale: number;
}

const INSTANCE = '{{ $labels.instance }}';

export const RULE_DEFAULTS: RuleOptions = {
  format: 'prometheus',
  selector: 'job="nosrv"',
  ignoreBackends: null,
  runbookUrl: `http://${INSTANCE}/runbooks`,
  explainUrl: `http://${INSTANCE}/explain`,
  adminSocket: '/run/haproxy/admin.sock',
  forOf: new Map(),
  thresholdOf: new Map(),
  forScale: 1,
};

export const RULES_USAGE = `Usage: nosrv rules [flags]   print the Prometheus rules for nosrv's metrics

Flags:
  --format=prometheus|prometheusrule   a rule file (default), or the Kubernetes PrometheusRule resource
  --selector=MATCHERS        label matchers for nosrv's series (default ${RULE_DEFAULTS.selector})
  --ignore-backends=REGEX    backends no alert is about: empty or failing by design (anchored)
  --runbook-url=URL          base of runbook_url (default ${RULE_DEFAULTS.runbookUrl})
  --explain-url=URL          base of the /explain link (default ${RULE_DEFAULTS.explainUrl})
  --haproxy.admin-socket=PATH  the admin socket, in the commands the alerts print (default ${RULE_DEFAULTS.adminSocket})
  --for=ALERT=DURATION       change an alert's for: (repeatable)
  --threshold=ALERT=NUMBER   change an alert's threshold (repeatable)
  --for-scale=FACTOR         multiply every for: and keep_firing_for: (for tests; default 1)

Alerts:${ALERTS.map((a) => `\n  ${a.alert.padEnd(34)} ${a.severity.padEnd(8)} for ${a.for}${a.threshold ? `, threshold ${a.threshold.value}: ${a.threshold.meaning}` : ''}`).join('')}
`;

export type RuleOptionsResult = { readonly ok: true; readonly options: RuleOptions } | { readonly ok: false; readonly problems: readonly string[] };

// Long: one check per flag, each problem noted rather than thrown.
/** The flags after `nosrv rules`; every problem is reported, not just the first. */
export function parseRuleOptions(argv: readonly string[]): RuleOptionsResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        format: { type: 'string' },
        selector: { type: 'string' },
        'ignore-backends': { type: 'string' },
        'runbook-url': { type: 'string' },
        'explain-url': { type: 'string' },
        'haproxy.admin-socket': { type: 'string' },
        for: { type: 'string', multiple: true },
        threshold: { type: 'string', multiple: true },
        'for-scale': { type: 'string' },
      },
    }));
  } catch (err) {
    return { ok: false, problems: [err instanceof Error ? err.message : String(err)] };
  }
  const problems: string[] = [];
  const format = values.format ?? RULE_DEFAULTS.format;
  if (format !== 'prometheus' && format !== 'prometheusrule') problems.push(`--format=${format}: expected prometheus or prometheusrule`);
  const checkedFormat = format === 'prometheusrule' ? format : 'prometheus';
  const ignoreBackends = values['ignore-backends'] ?? null;
  if (ignoreBackends !== null) {
    try {
      new RegExp(ignoreBackends);
    } catch (err) {
      problems.push(`--ignore-backends=${ignoreBackends}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const forOf = perAlert(values.for ?? [], '--for', problems, (text) => {
    if (text !== '0s') parseDuration(text);
    return text;
  });
  const thresholdOf = perAlert(values.threshold ?? [], '--threshold', problems, (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new Error('expected a number');
    return n;
  });
  for (const name of thresholdOf.keys())
    if (!ALERTS.find((a) => a.alert === name)?.threshold) problems.push(`--threshold=${name}=...: ${name} has no threshold`);
  const forScale = Number(values['for-scale'] ?? RULE_DEFAULTS.forScale);
  if (!(forScale > 0 && forScale <= 1)) problems.push(`--for-scale=${values['for-scale']}: expected a number above 0, at most 1`);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    options: {
      format: checkedFormat,
      selector: values.selector ?? RULE_DEFAULTS.selector,
      ignoreBackends,
      runbookUrl: values['runbook-url'] ?? RULE_DEFAULTS.runbookUrl,
      explainUrl: values['explain-url'] ?? RULE_DEFAULTS.explainUrl,
      adminSocket: values['haproxy.admin-socket'] ?? RULE_DEFAULTS.adminSocket,
      forOf,
      thresholdOf,
      forScale,
    },
  };
}

function perAlert<T>(pairs: readonly string[], flag: string, problems: string[], parse: (text: string) => T): Map<string, T> {
  const out = new Map<string, T>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const name = pair.slice(0, Math.max(eq, 0));
    if (eq < 0 || !ALERT_NAMES.includes(name)) {
      problems.push(`${flag}=${pair}: expected ALERT=VALUE with ALERT one of ${ALERT_NAMES.join(', ')}`);
      continue;
    }
    try {
      out.set(name, parse(pair.slice(eq + 1)));
    } catch (err) {
      problems.push(`${flag}=${pair}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** The rule file's text. */
export function ruleFileText(options: RuleOptions): string {
  const groups = ruleGroups(options);
  const document =
    options.format === 'prometheus'
      ? { groups }
      : {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'PrometheusRule',
          metadata: { name: 'nosrv', labels: { 'app.kubernetes.io/name': 'nosrv', 'app.kubernetes.io/component': 'alerting' } },
          spec: { groups },
        };
  return `# Generated by "nosrv rules"; edit src/rules/alerts.ts, not this file.\n${yaml().stringify(document, { lineWidth: 0 })}`;
}

function ruleGroups(options: RuleOptions): object[] {
  const byScope = (scopes: readonly AlertRule['scope'][]): object[] => ALERTS.filter((a) => scopes.includes(a.scope)).map((a) => alertRule(a, options));
  return [
    { name: 'nosrv.recording', rules: RECORDING_RULES.map((r) => ({ record: r.record, expr: r.expr(options) })) },
    { name: 'nosrv.haproxy', rules: byScope(['backend', 'server', 'frontend', 'process']) },
    { name: 'nosrv.pipeline', rules: byScope(['pipeline']) },
  ];
}

function alertRule(a: AlertRule, options: RuleOptions): object {
  const threshold = options.thresholdOf.get(a.alert) ?? a.threshold?.value ?? 0;
  const about = a.scope === 'backend' || a.scope === 'server' ? '?backend={{ $labels.proxy | urlquery }}' : '';
  // These two are about nosrv itself, or have no nosrv behind them: no /explain to link to, and
  // the runbook is served by whichever nosrv is up.
  const aboutNosrv = a.alert === 'HAProxyNosrvDown' || a.alert === 'HAProxyWatchdog';
  const runbookUrl = aboutNosrv
    ? options.runbookUrl.replaceAll(INSTANCE, `{{ with printf \`up{${options.selector}} == 1\` | query }}{{ (. | first).Labels.instance }}{{ end }}`)
    : options.runbookUrl;
  return {
    alert: a.alert,
    expr: a.expr(options, threshold),
    for: scaled(options.forOf.get(a.alert) ?? a.for, options.forScale),
    ...(a.keepFiringFor ? { keep_firing_for: scaled(a.keepFiringFor, options.forScale) } : {}),
    labels: { severity: a.severity },
    annotations: {
      summary: a.summary,
      description: a.description(options),
      runbook_url: `${runbookUrl}/${a.alert}`,
      ...(!aboutNosrv ? { explain_url: `${options.explainUrl}${about}` } : {}),
    },
  };
}

const UNITS = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

/** A duration times `factor`, written in the largest unit that holds it whole. */
function scaled(duration: string, factor: number): string {
  if (factor === 1 || duration === '0s') return duration;
  const ms = Math.max(1, Math.round(parseDuration(duration) * factor));
  const [unit, size] = UNITS.find(([, size]) => ms % size === 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}
