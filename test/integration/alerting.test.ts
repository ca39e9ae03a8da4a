// End to end, nothing faked but PagerDuty and Slack: two real HAProxy nodes with the same backends,
// a nosrv beside each, a real Prometheus loading the committed rules (for: scaled down by the
// rules command's own flag) and a real Alertmanager loading the example routes (only the receivers'
// URLs and secret files changed). Each step breaks something real and checks what the receivers get.

import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseRuleOptions, ruleFileText } from '../../src/rules/ruleFile.js';
import { missingTool, startBackend, startCheckedBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { startAlertmanager, startPrometheus, startReceiver, type Received } from '../support/monitoring.js';
import { startNosrv, type RunningNosrv } from '../support/nosrv.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FOR_SCALE = '0.05';

const missing =
  missingTool('haproxy', 'haproxy') ?? missingTool('prometheus', 'prometheus') ?? missingTool('prometheus-alertmanager', 'prometheus-alertmanager');

interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  payload?: { summary: string; source: string; severity: string; custom_details: Record<string, string> };
  links?: Array<{ href: string; text: string }>;
}

interface SlackMessage {
  attachments: Array<{ title: string; title_link: string; text: string }>;
}

const pagerDuty = (r: Received): PagerDutyEvent => r.body as unknown as PagerDutyEvent;
const slack = (r: Received): SlackMessage => r.body as unknown as SlackMessage;

describe('alerts end to end: HAProxy, nosrv, Prometheus, Alertmanager, PagerDuty and Slack', { skip: missing ?? false, timeout: 600_000 }, () => {
  const backends: Backend[] = [];
  let app1: Backend;
  let app2: Backend;
  let checked: Awaited<ReturnType<typeof startCheckedBackend>>;
  let solo: Backend;
  const nodes: Haproxy[] = [];
  const nosrvs: RunningNosrv[] = [];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let alertmanager: Awaited<ReturnType<typeof startAlertmanager>>;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  let scrapedSince = 0;

  const pages = (): PagerDutyEvent[] => receiver.received.filter((r) => r.path === '/pagerduty').map(pagerDuty);
  const slacks = (): SlackMessage[] => receiver.received.filter((r) => r.path === '/slack').map(slack);

  before(async () => {
    [app1, app2, solo] = [await startBackend(), await startBackend(), await startBackend()];
    checked = await startCheckedBackend();
    const spare = await startBackend();
    backends.push(spare);
    const shared = `
backend be_app
    default-server check inter 500ms fall 2 rise 1
    server app1 127.0.0.1:${app1.port}
    server app2 127.0.0.1:${app2.port}
backend be_checks
    option httpchk GET /health
    server c1 127.0.0.1:${checked.port} check inter 500ms fall 1000 rise 1
    server c2 127.0.0.1:${spare.port} check inter 500ms
`;
    nodes.push(await startHaproxy({ proxies: `${shared}backend be_solo\n    server solo1 127.0.0.1:${solo.port} check inter 500ms fall 2 rise 1\n` }));
    nodes.push(await startHaproxy({ proxies: shared }));
    for (const node of nodes)
      nosrvs.push(await startNosrv([`--haproxy.socket=${node.userSocket}`, `--haproxy.admin-socket=${node.adminSocket}`, '--watch.interval=1s']));

    receiver = await startReceiver();
    alertmanager = await startAlertmanager(path.join(ROOT, 'deploy/alertmanager/alertmanager.yml'), receiver.url);
    const options = parseRuleOptions([`--for-scale=${FOR_SCALE}`]);
    assert.ok(options.ok);
    prometheus = await startPrometheus({
      targets: nosrvs.map((n) => new URL(n.url).host),
      rules: ruleFileText(options.options),
      alertmanager: alertmanager.address,
    });
    // Both nodes scraped and healthy before anything breaks.
    await waitFor(
      async () => {
        const answer = (await (await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('sum(haproxy_up)')}`)).json()) as {
          data: { result: Array<{ value: [number, string] }> };
        };
        return answer.data.result[0]?.value[1] === '2';
      },
      { timeoutMs: 20_000, what: 'Prometheus to scrape both nosrv' },
    );
    scrapedSince = Date.now();
  });

  after(async () => {
    await prometheus.stop();
    await alertmanager.stop();
    await receiver.close();
    for (const n of nosrvs) await n.stop();
    for (const n of nodes) await n.stop();
    for (const b of [app1, app2, solo, checked, ...backends]) await b.close();
  });

  test('every server of a backend stops: one page for both nodes, with its cause; the resolve when they are back', async (t) => {
    // A minute of healthy history first, as in production: the alert weighs the last minute.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, scrapedSince + 61_000 - Date.now())));
    const fault = Date.now();
    await app1.close();
    await app2.close();
    let markedDown = 0;
    const watchDown = setInterval(() => {
      void nodes[0]?.admin('show stat').then((stat) => {
        if (markedDown === 0 && /^be_app,app1,(?:[^,]*,){15}DOWN/m.test(stat) && /^be_app,app2,(?:[^,]*,){15}DOWN/m.test(stat)) markedDown = Date.now();
      });
    }, 100);
    const isPage = (e: PagerDutyEvent): boolean =>
      e.event_action === 'trigger' && (e.payload?.summary ?? '').includes('HAProxyBackendAnswering503 be_app (servers_down)');
    try {
      await waitFor(() => pages().some(isPage), { timeoutMs: 90_000, intervalMs: 100, what: 'the page for be_app' });
    } finally {
      clearInterval(watchDown);
    }
    const paged = Date.now();
    const page = pages().find(isPage) as PagerDutyEvent;
    t.diagnostic(
      `fault to page: ${((paged - fault) / 1000).toFixed(1)} s; HAProxy marking the last server DOWN to page: ${((paged - markedDown) / 1000).toFixed(1)} s (scrape and evaluation every 1 s, for: scaled by ${FOR_SCALE})`,
    );
    assert.ok(markedDown > 0, 'HAProxy marked both servers DOWN');

    assert.equal(page.routing_key, alertmanager.secrets.get('pagerduty-routing-key'));
    assert.match(page.payload?.summary ?? '', /^\[FIRING critical\] HAProxyBackendAnswering503 be_app \(servers_down\) on 2 nodes$/);
    assert.equal(page.payload?.custom_details.cause, 'servers_down');
    assert.equal(page.payload.custom_details.nodes, '2 nodes');
    assert.match(
      page.payload.custom_details.description ?? '',
      /No server of backend be_app on 127\.0\.0\.1:\d+ can take a request \(servers_down, .*\); seen by 2 node\(s\)\. Servers: app1 DOWN for .*last check L4CON; app2 DOWN for .*last check L4CON\./,
    );
    // The links open on the nosrv that saw it, and work.
    const explain = page.links?.find((l) => l.text === '/explain')?.href ?? '';
    const runbook = page.links?.find((l) => l.text === 'runbook')?.href ?? '';
    assert.ok(
      nosrvs.some((n) => explain === `${n.url}/explain?backend=be_app`),
      explain,
    );
    assert.match(await (await fetch(explain)).text(), /be_app/);
    assert.equal((await fetch(runbook)).status, 200);
    const slackPage = slacks().find((m) => m.attachments[0]?.title.includes('HAProxyBackendAnswering503 be_app'));
    assert.ok(slackPage, 'critical also posts to Slack');
    assert.match(slackPage.attachments[0]?.text ?? '', /Nodes: 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+/);

    [app1, app2] = [await startBackend({ port: app1.port }), await startBackend({ port: app2.port })];
    await waitFor(() => pages().some((e) => e.event_action === 'resolve' && e.dedup_key === page.dedup_key), {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: 'the resolve for be_app',
    });
    assert.equal(pages().filter((e) => e.event_action === 'trigger' && e.dedup_key === page.dedup_key).length, 1, 'one page for one incident on two nodes');
    assert.equal(pages().filter((e) => e.event_action === 'trigger' && (e.payload?.summary ?? '').includes('be_app')).length, 1);
  });

  test("a server's checks fail with a large fall: the warning arrives while HAProxy still has it UP, and pages no one", async () => {
    const pagesBefore = pages().length;
    checked.failChecks(true);
    try {
      await waitFor(() => slacks().some((m) => m.attachments[0]?.title.includes('HAProxyBackendChecksFailing be_checks')), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'the checks warning',
      });
      const stat = await nodes[0]?.admin('show stat');
      assert.match(stat ?? '', /^be_checks,c1,(?:[^,]*,){15}UP/m, 'c1 still UP in HAProxy');
      const warning = slacks().find((m) => m.attachments[0]?.title.includes('HAProxyBackendChecksFailing be_checks'));
      assert.match(warning?.attachments[0]?.title ?? '', /^\[FIRING warning\] HAProxyBackendChecksFailing be_checks \(checks_failing\) on 2 nodes$/);
      assert.match(warning?.attachments[0]?.text ?? '', /Failing: c1 \(last check L7STS, DOWN after \d+ more failed check\(s\)\)\./);
      assert.equal(pages().length, pagesBefore, 'a warning pages no one');
    } finally {
      checked.failChecks(false);
    }
  });

  test('HAProxy unreadable while a backend fails: only the unreadable alert reaches the receivers', async () => {
    const [node] = nodes as [Haproxy];
    await solo.close();
    const isSoloPage = (e: PagerDutyEvent): boolean => e.event_action === 'trigger' && (e.payload?.summary ?? '').includes('be_solo');
    await waitFor(() => pages().some(isSoloPage), { timeoutMs: 90_000, intervalMs: 200, what: 'the page for be_solo' });
    const since = receiver.received.length;

    // nosrv can no longer read that node: its series vanish, while Prometheus keeps the page open
    // for keep_firing_for, then resolves it. Nothing about be_solo is known, so nothing may say it resolved.
    renameSync(node.userSocket, `${node.userSocket}.hidden`);
    try {
      await waitFor(() => receiver.received.slice(since).some((r) => r.path === '/slack' && slack(r).attachments[0]?.title.includes('HAProxyUnreadable')), {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'the unreadable alert',
      });
      // Alertmanager holds the backend's alert as inhibited by the unreadable one.
      await waitFor(
        async () => {
          const alerts = (await (await fetch(`${alertmanager.url}/api/v2/alerts?filter=${encodeURIComponent('proxy="be_solo"')}`)).json()) as Array<{
            status: { state: string; inhibitedBy: string[] };
          }>;
          return alerts.length > 0 && alerts.every((a) => a.status.state === 'suppressed' && a.status.inhibitedBy.length > 0);
        },
        { timeoutMs: 30_000, what: "be_solo's alert inhibited" },
      );
      // Past keep_firing_for and the routes' group_interval, the backend's alert has resolved in
      // Prometheus; without inhibition its resolve would have reached PagerDuty by now.
      await new Promise((resolve) => setTimeout(resolve, 90_000));
      const after = receiver.received.slice(since).filter((r) => r.path !== '/heartbeat');
      const titles = after.map((r) =>
        r.path === '/slack' ? slack(r).attachments[0]?.title : (pagerDuty(r).payload?.summary ?? `${pagerDuty(r).event_action} ${pagerDuty(r).dedup_key}`),
      );
      assert.ok(
        after.every((r) => r.path === '/slack' && slack(r).attachments[0]?.title.includes('HAProxyUnreadable')),
        titles.join('\n'),
      );
    } finally {
      renameSync(`${node.userSocket}.hidden`, node.userSocket);
    }
  });

  test('the watchdog reaches its heartbeat receiver, with the key from its file', () => {
    const beat = receiver.received.find((r) => r.path === '/heartbeat');
    assert.ok(beat, 'a heartbeat');
    assert.equal(beat.headers.authorization, 'GenieKey test-heartbeat-key');
    assert.deepEqual(
      (beat.body.alerts as Array<{ labels: Record<string, string> }>).map((a) => a.labels.alertname),
      ['HAProxyWatchdog'],
    );
  });
});
