// The alert rules: the committed file is what `nosrv rules` prints, promtool accepts it and its
// unit tests pass, every alert carries what an on-call engineer needs and is tested, and the flags
// change what they say they change.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ALERTS } from '../src/rules/alerts.js';
import { parseRuleOptions, ruleFileText, RULE_DEFAULTS, type RuleOptions } from '../src/rules/ruleFile.js';
import { missingTool } from './support/lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const COMMITTED = path.join(ROOT, 'deploy/prometheus/nosrv.rules.yml');
const PROMTOOL_TESTS = path.join(ROOT, 'test/prometheus');
const MAIN = path.join(ROOT, 'dist/src/main.js');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  keep_firing_for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function rulesOf(text: string): Rule[] {
  const doc = parseYaml(text) as { groups?: Array<{ rules: Rule[] }>; spec?: { groups: Array<{ rules: Rule[] }> } };
  return (doc.groups ?? doc.spec?.groups ?? []).flatMap((g) => g.rules);
}

function options(argv: string[]): RuleOptions {
  const parsed = parseRuleOptions(argv);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('; '));
  return parsed.options;
}

const alertRules = (text: string): Rule[] => rulesOf(text).filter((r) => r.alert !== undefined);

describe('nosrv rules', () => {
  test('the committed rule file is what `nosrv rules` prints', () => {
    const printed = execFileSync(MAIN, ['rules'], { encoding: 'utf8' });
    assert.equal(readFileSync(COMMITTED, 'utf8'), printed, 'run: node dist/src/main.js rules > deploy/prometheus/nosrv.rules.yml');
  });

  test('--format=prometheusrule wraps the same groups in a PrometheusRule', () => {
    const resource = parseYaml(ruleFileText(options(['--format=prometheusrule']))) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: { groups: unknown[] };
    };
    assert.equal(resource.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(resource.kind, 'PrometheusRule');
    assert.equal(resource.metadata.name, 'nosrv');
    assert.deepEqual(resource.spec.groups, (parseYaml(readFileSync(COMMITTED, 'utf8')) as { groups: unknown[] }).groups);
  });

  test('every alert: CamelCase from HAProxy, for:, a severity, summary, description and runbook_url', () => {
    const rules = alertRules(readFileSync(COMMITTED, 'utf8'));
    assert.deepEqual(
      rules.map((r) => r.alert),
      ALERTS.map((a) => a.alert),
    );
    for (const rule of rules) {
      const name = rule.alert as string;
      assert.match(name, /^HAProxy[A-Z][A-Za-z0-9]*$/, name);
      assert.ok(rule.for !== undefined, `${name}: for:`);
      assert.ok(['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''), `${name}: severity`);
      for (const key of ['summary', 'description', 'runbook_url']) assert.ok(rule.annotations?.[key], `${name}: ${key}`);
      assert.ok(rule.annotations?.runbook_url?.endsWith(`/runbooks/${name}`), `${name}: runbook_url`);
      const aboutNosrv = name === 'HAProxyNosrvDown' || name === 'HAProxyWatchdog';
      assert.equal(rule.annotations?.explain_url !== undefined, !aboutNosrv, `${name}: explain_url`);
      if (ALERTS.find((a) => a.alert === name)?.scope === 'backend')
        assert.match(rule.annotations?.explain_url ?? '', /\/explain\?backend=\{\{ \$labels\.proxy \| urlquery \}\}$/, name);
    }
  });

  test('every alert is tested by promtool: firing with its labels, and not yet just before', () => {
    const cases = parseYaml(readFileSync(path.join(PROMTOOL_TESTS, 'nosrv.rules.test.yml'), 'utf8')) as {
      tests: Array<{
        alert_rule_test: Array<{ alertname: string; exp_alerts: Array<{ exp_labels: Record<string, string>; exp_annotations: Record<string, string> }> }>;
      }>;
    };
    const checks = cases.tests.flatMap((t) => t.alert_rule_test);
    for (const a of ALERTS) {
      const firing = checks.filter((c) => c.alertname === a.alert && c.exp_alerts.length > 0);
      assert.ok(firing.length > 0, `${a.alert}: a case where it fires`);
      if (a.alert !== 'HAProxyWatchdog')
        assert.ok(
          checks.some((c) => c.alertname === a.alert && c.exp_alerts.length === 0),
          `${a.alert}: a case where it does not`,
        );
      for (const expected of firing.flatMap((c) => c.exp_alerts)) {
        assert.equal(expected.exp_labels.severity, a.severity, a.alert);
        if (a.scope === 'backend' || a.scope === 'server' || a.scope === 'frontend') assert.ok(expected.exp_labels.proxy, `${a.alert}: proxy label`);
        if (a.scope === 'server') assert.ok(expected.exp_labels.server, `${a.alert}: server label`);
        assert.ok(expected.exp_annotations.description && expected.exp_annotations.runbook_url, `${a.alert}: annotations checked`);
      }
    }
  });

  test("the README's table lists every alert with its severity and for:", () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const a of ALERTS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| [${a.alert}](docs/runbooks/${a.alert}.md) |`));
      assert.ok(row, `${a.alert} in the README's Alerts table`);
      assert.match(row, new RegExp(`\\| ${a.severity} \\|.*\\| ${a.for}( \\(kept ${a.keepFiringFor}\\))? \\|$`), row);
    }
  });

  test('flags: selector, ignored backends, for:, thresholds, links and the admin socket', () => {
    const text = ruleFileText(
      options([
        '--selector=job="lb",env="prod"',
        '--ignore-backends=be_static',
        '--for=HAProxyBackendQueueing=10m',
        '--threshold=HAProxyBackendNearMaxconn=0.8',
        '--runbook-url=https://wiki.example/runbooks',
        '--explain-url=https://nosrv.example/explain',
        '--haproxy.admin-socket=/var/run/haproxy-admin.sock',
      ]),
    );
    const by = new Map(alertRules(text).map((r) => [r.alert, r]));
    assert.match(by.get('HAProxyBackendAnswering503')?.expr ?? '', /haproxy_backend_503_cause\{job="lb",env="prod",proxy!~"be_static"\}/);
    assert.match(by.get('HAProxyUnreadable')?.expr ?? '', /^haproxy_up\{job="lb",env="prod"\} == 0$/);
    assert.equal(by.get('HAProxyBackendQueueing')?.for, '10m');
    assert.match(by.get('HAProxyBackendNearMaxconn')?.expr ?? '', />= 0\.8$/);
    assert.equal(by.get('HAProxyServerHeld')?.annotations?.runbook_url, 'https://wiki.example/runbooks/HAProxyServerHeld');
    assert.equal(by.get('HAProxyServerHeld')?.annotations?.explain_url, 'https://nosrv.example/explain?backend={{ $labels.proxy | urlquery }}');
    assert.match(by.get('HAProxyServerHeld')?.annotations?.description ?? '', /\| socat stdio \/var\/run\/haproxy-admin\.sock$/);
  });

  test('--for-scale scales for: and keep_firing_for:, and nothing else', () => {
    const normal = alertRules(ruleFileText(RULE_DEFAULTS));
    const fast = alertRules(ruleFileText(options(['--for-scale=0.05'])));
    const by = new Map(fast.map((r) => [r.alert, r]));
    assert.equal(by.get('HAProxyBackendAnswering503')?.for, '1500ms');
    assert.equal(by.get('HAProxyBackendAnswering503')?.keep_firing_for, '15s');
    assert.equal(by.get('HAProxyOldWorkers')?.for, '3m');
    assert.equal(by.get('HAProxyWatchdog')?.for, '0s');
    assert.deepEqual(
      fast.map(({ for: _, keep_firing_for: __, ...rest }) => rest),
      normal.map(({ for: _, keep_firing_for: __, ...rest }) => rest),
    );
  });

  test('bad flags: each problem named', () => {
    const parsed = parseRuleOptions([
      '--for=HAProxyNope=1m',
      '--for=HAProxyBackendQueueing=soon',
      '--threshold=HAProxyUnreadable=1',
      '--threshold=HAProxyBackendQueueing=x',
      '--ignore-backends=(',
      '--format=json',
      '--for-scale=2',
    ]);
    if (parsed.ok) assert.fail('parsed');
    const problems = parsed.problems;
    assert.equal(problems.length, 7, problems.join('\n'));
    assert.match(problems.join('\n'), /HAProxyNope=1m: expected ALERT=VALUE/);
    assert.match(problems.join('\n'), /HAProxyUnreadable has no threshold/);
    assert.deepEqual(parseRuleOptions(['--nope']).ok, false);
    const cli = spawnSync(MAIN, ['rules', '--format=json'], { encoding: 'utf8' });
    assert.equal(cli.status, 2);
    assert.match(cli.stderr, /--format=json: expected prometheus or prometheusrule/);
  });
});

const missing = missingTool('promtool', 'prometheus');

describe('promtool', { skip: missing ?? false }, () => {
  test('check rules, and the unit tests of every alert (test/prometheus)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-rules-'));
    try {
      copyFileSync(COMMITTED, path.join(dir, 'nosrv.rules.yml'));
      writeFileSync(path.join(dir, 'ignore-backends.rules.yml'), ruleFileText(options(['--ignore-backends=be_(static|redirect)'])));
      for (const file of ['nosrv.rules.test.yml', 'ignore-backends.rules.test.yml']) copyFileSync(path.join(PROMTOOL_TESTS, file), path.join(dir, file));
      const check = spawnSync('promtool', ['check', 'rules', 'nosrv.rules.yml', 'ignore-backends.rules.yml'], { cwd: dir, encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      const unit = spawnSync('promtool', ['test', 'rules', 'nosrv.rules.test.yml', 'ignore-backends.rules.test.yml'], { cwd: dir, encoding: 'utf8' });
      assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
