// The example Alertmanager routes: amtool accepts them, and each alert goes where its severity
// says (amtool does not evaluate inhibition: test/integration/alerting.test.ts proves that).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { ALERTS } from '../src/rules/alerts.js';
import { missingTool } from './support/lab.js';

const CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/alertmanager/alertmanager.yml');

/** Where each alert must go: critical pages (and posts to Slack), the watchdog beats its heart, the rest posts. */
function expectedReceiver(alert: (typeof ALERTS)[number]): string {
  if (alert.alert === 'HAProxyWatchdog') return 'heartbeat';
  return alert.severity === 'critical' ? 'oncall' : 'slack';
}

test('secrets come from files, never inline', () => {
  const text = readFileSync(CONFIG, 'utf8');
  const config = parseYaml(text) as { receivers: Array<Record<string, Array<Record<string, unknown>>>> };
  const configs = config.receivers.flatMap((r) =>
    Object.entries(r)
      .filter(([k]) => k.endsWith('_configs'))
      .flatMap(([, v]) => v),
  );
  for (const c of configs) {
    for (const inline of ['routing_key', 'service_key', 'api_url', 'api_key']) assert.equal(c[inline], undefined, `${inline} inline`);
  }
  assert.ok(configs.some((c) => c.routing_key_file) && configs.some((c) => c.api_url_file));
  assert.doesNotMatch(text, /hooks\.slack\.com|events\.pagerduty\.com/);
});

const missing = missingTool('amtool', 'prometheus-alertmanager');

describe('amtool', { skip: missing ?? false }, () => {
  test('check-config', () => {
    const check = spawnSync('amtool', ['check-config', CONFIG], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  for (const alert of ALERTS) {
    test(`routes test: ${alert.alert} (${alert.severity}) goes to ${expectedReceiver(alert)}`, () => {
      const labels = [
        `alertname=${alert.alert}`,
        `severity=${alert.severity}`,
        'instance=lb1:9503',
        ...(alert.scope === 'backend' || alert.scope === 'server' ? ['proxy=be_api'] : []),
      ];
      const routed = spawnSync('amtool', ['config', 'routes', 'test', `--config.file=${CONFIG}`, `--verify.receivers=${expectedReceiver(alert)}`, ...labels], {
        encoding: 'utf8',
      });
      assert.equal(routed.status, 0, routed.stdout + routed.stderr);
    });
  }
});
