// nosrv sends its own alerts: a real HAProxy, nosrv with --alertmanager.url, a real Alertmanager
// loading the example routes (receivers pointed at a local stand-in for PagerDuty and Slack), and
// Prometheus with the rules beside it, as people run both paths.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseRuleOptions, ruleFileText } from '../../src/rules/ruleFile.js';
import { missingTool, startBackend, startCheckedBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { startAlertmanager, startPrometheus, startReceiver } from '../support/monitoring.js';
import { startNosrv, type RunningNosrv } from '../support/nosrv.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ROUTES = path.join(ROOT, 'deploy/alertmanager/alertmanager.yml');

const missing =
  missingTool('haproxy', 'haproxy') ?? missingTool('prometheus', 'prometheus') ?? missingTool('prometheus-alertmanager', 'prometheus-alertmanager');

interface PagerDutyEvent {
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; custom_details: Record<string, string> };
}

/** Resolves with the time both servers show `state` in HAProxy's show stat (polled every 100 ms). */
async function whenServers(node: Haproxy, backend: string, servers: readonly string[], state: RegExp): Promise<number> {
  let at = 0;
  await waitFor(
    async () => {
      const stat = await node.admin('show stat');
      const all = servers.every((s) => new RegExp(`^${backend},${s},(?:[^,]*,){15}(${state.source})`, 'm').test(stat));
      if (all) at = Date.now();
      return all;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `${backend} ${state.source}` },
  );
  return at;
}

describe("nosrv's own alerts through a real Alertmanager", { skip: missing ?? false, timeout: 600_000 }, () => {
  let app1: Backend;
  let app2: Backend;
  let solo: Backend;
  let checked: Awaited<ReturnType<typeof startCheckedBackend>>;
  let node: Haproxy;
  let nosrv: RunningNosrv;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let alertmanager: Awaited<ReturnType<typeof startAlertmanager>>;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;

  const pages = (): PagerDutyEvent[] => receiver.received.filter((r) => r.path === '/pagerduty').map((r) => r.body as unknown as PagerDutyEvent);
  const about =
    (backend: string) =>
    (e: PagerDutyEvent): boolean =>
      (e.payload?.summary ?? '').includes(` ${backend} `);

  before(async () => {
    [app1, app2, solo] = [await startBackend(), await startBackend(), await startBackend()];
    checked = await startCheckedBackend();
    node = await startHaproxy({
      proxies: `
backend be_app
    default-server check inter 500ms fall 2 rise 1
    server app1 127.0.0.1:${app1.port}
    server app2 127.0.0.1:${app2.port}
backend be_solo
    server solo1 127.0.0.1:${solo.port} check inter 500ms fall 2 rise 1
backend be_last
    option httpchk GET /health
    server last1 127.0.0.1:${checked.port} check inter 1s fall 3 rise 1
`,
    });
    receiver = await startReceiver();
    alertmanager = await startAlertmanager(ROUTES, receiver.url);
    nosrv = await startNosrv([
      `--haproxy.socket=${node.userSocket}`,
      `--haproxy.admin-socket=${node.adminSocket}`,
      `--alertmanager.url=${alertmanager.url}`,
      '--watch.interval=1s',
    ]);
    const rules = parseRuleOptions(['--for-scale=0.05']);
    assert.ok(rules.ok);
    prometheus = await startPrometheus({ targets: [new URL(nosrv.url).host], rules: ruleFileText(rules.options), alertmanager: alertmanager.address });
    await waitFor(
      async () =>
        ((await (await fetch(`${nosrv.url}/alerts?format=json`)).json()) as { alertmanagers: Array<{ up: boolean | null }> }).alertmanagers[0]?.up === true,
      {
        timeoutMs: 45_000,
        what: 'nosrv to reach Alertmanager',
      },
    );
  });

  after(async () => {
    await prometheus.stop();
    await nosrv.stop();
    await alertmanager.stop();
    await receiver.close();
    await node.stop();
    for (const b of [app1, app2, solo, checked]) await b.close();
  });

  test('a check that fails once and recovers: no page', async () => {
    await whenServers(node, 'be_last', ['last1'], /UP,/);
    checked.failChecks(true);
    try {
      // Going down: a failed check, not yet "fall" of them.
      await whenServers(node, 'be_last', ['last1'], /UP \d+\/\d+/);
    } finally {
      checked.failChecks(false);
    }
    await whenServers(node, 'be_last', ['last1'], /UP,/);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    assert.deepEqual(pages().filter(about('be_last')), []);
    const report = (await (await fetch(`${nosrv.url}/alerts?format=json`)).json()) as { alerts: Array<{ labels: Record<string, string> }> };
    assert.deepEqual(
      report.alerts.filter((a) => a.labels.proxy === 'be_last'),
      [],
      'held shorter than its debounce: dropped',
    );
  });

  test('every server stops: the page leaves within 10 s of HAProxy marking the last one DOWN; with the rules too, one incident', async (t) => {
    const fault = Date.now();
    await app1.close();
    await app2.close();
    const markedDown = await whenServers(node, 'be_app', ['app1', 'app2'], /DOWN/);
    await waitFor(() => pages().some((e) => e.event_action === 'trigger' && about('be_app')(e)), {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the page for be_app',
    });
    const paged = Date.now();
    t.diagnostic(
      `pushed: HAProxy marking the last server DOWN to page ${((paged - markedDown) / 1000).toFixed(1)} s; fault to page ${((paged - fault) / 1000).toFixed(1)} s`,
    );
    assert.ok(paged - markedDown <= 10_000, `${paged - markedDown} ms`);
    const page = pages().find((e) => e.event_action === 'trigger' && about('be_app')(e));
    assert.match(page?.payload?.summary ?? '', /^\[FIRING critical\] HAProxyBackendAnswering503 be_app \(servers_down\) on 1 node$/);
    assert.equal(page?.payload?.custom_details.cause, 'servers_down');
    assert.match(page.payload.custom_details.description ?? '', /No server of be_api|No server of be_app can take a request/);

    // The rules' alert for the same incident comes later, and Alertmanager holds it under the pushed one.
    await waitFor(
      async () => {
        const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts?filter=${encodeURIComponent('proxy="be_app"')}`)).json()) as Array<{
          labels: Record<string, string>;
          status: { state: string };
        }>;
        const fromRules = alerts.filter((a) => a.labels.sender === undefined && a.labels.alertname === 'HAProxyBackendAnswering503');
        return fromRules.length > 0 && fromRules.every((a) => a.status.state === 'suppressed');
      },
      { timeoutMs: 90_000, intervalMs: 500, what: "the rules' alert, inhibited by nosrv's" },
    );

    [app1, app2] = [await startBackend({ port: app1.port }), await startBackend({ port: app2.port })];
    await waitFor(() => pages().some((e) => e.event_action === 'resolve' && e.dedup_key === page.dedup_key), {
      timeoutMs: 300_000,
      intervalMs: 500,
      what: 'the resolve',
    });
    const incidents = new Set(
      pages()
        .filter(about('be_app'))
        .map((e) => e.dedup_key),
    );
    assert.equal(incidents.size, 1, 'one incident, whichever path saw it');
  });

  test('Alertmanager down during the fault: the page arrives once it is back', async () => {
    const port = Number(new URL(alertmanager.url).port);
    await alertmanager.stop();
    await solo.close();
    await whenServers(node, 'be_solo', ['solo1'], /DOWN/);
    await waitFor(
      async () =>
        ((await (await fetch(`${nosrv.url}/alerts?format=json`)).json()) as { alertmanagers: Array<{ up: boolean | null }> }).alertmanagers[0]?.up === false,
      {
        timeoutMs: 20_000,
        what: 'nosrv to find Alertmanager down',
      },
    );
    // The page is held, not lost, while Alertmanager is away.
    await waitFor(async () => /^nosrv_alerts_active\{state="firing"\} [1-9]/m.test(await (await fetch(`${nosrv.url}/metrics`)).text()), {
      timeoutMs: 20_000,
      what: 'the be_solo alert firing in nosrv',
    });
    assert.match(await (await fetch(`${nosrv.url}/metrics`)).text(), /^nosrv_alertmanager_up\{url="[^"]+"\} 0$/m);
    alertmanager = await startAlertmanager(ROUTES, receiver.url, { port });
    await waitFor(() => pages().some((e) => e.event_action === 'trigger' && about('be_solo')(e)), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the page for be_solo',
    });
    assert.match(await (await fetch(`${nosrv.url}/metrics`)).text(), /^nosrv_alertmanager_up\{url="[^"]+"\} 1$/m);
  });
});
