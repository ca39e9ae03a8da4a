// Every query of every committed dashboard, run through a real Prometheus on real data: a HAProxy
// in trouble (a backend with every server DOWN, one server in MAINT, a backend queueing under load,
// a server failing checks while UP, HAProxy-made 503s sent through it), nosrv with its logs, and
// Debian's Prometheus loading the rules and scraping nosrv every second.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRuleOptions, ruleFileText } from '../../src/rules/ruleFile.js';
import { committedDashboards, expressions, fill, metricNames, variableQuery, type CommittedDashboard } from '../support/dashboards.js';
import { freePort, missingTool, startBackend, startCheckedBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { startPrometheus, startReceiver } from '../support/monitoring.js';
import { startNosrv, type RunningNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy') ?? missingTool('prometheus', 'prometheus');

interface Sample {
  readonly metric: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: Array<[number, string]>;
}

/** Names Prometheus itself writes beside a scrape's own series. */
const PROMETHEUS_OWN = new Set(['up', 'ALERTS', 'scrape_duration_seconds', 'scrape_samples_scraped']);

describe('dashboards on a real Prometheus with real data', { skip: missing ?? false, timeout: 300_000 }, () => {
  const backends: Backend[] = [];
  let haproxy: Haproxy;
  let nosrv: RunningNosrv;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let traffic: NodeJS.Timeout | undefined;
  let frontend = 0;
  const dashboards = committedDashboards();

  async function promql(expr: string, instant: boolean): Promise<Sample[]> {
    const now = Date.now() / 1000;
    const params = new URLSearchParams(instant ? { query: expr, time: String(now) } : { query: expr, start: String(now - 60), end: String(now), step: '1' });
    const answer = (await (await fetch(`${prometheus.url}/api/v1/${instant ? 'query' : 'query_range'}?${params.toString()}`)).json()) as {
      status: string;
      error?: string;
      data?: { result: Sample[] };
    };
    assert.equal(answer.status, 'success', `${expr}: ${answer.error ?? ''}`);
    return answer.data?.result ?? [];
  }

  before(async () => {
    const healthy = await startBackend();
    const slow = await startBackend({ delayMs: 3000 });
    const flaky = await startCheckedBackend();
    backends.push(healthy, slow, flaky);
    receiver = await startReceiver();
    // nosrv first: HAProxy's configuration names the port nosrv receives its logs on.
    const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-dashboards-'));
    const [socket, master] = [path.join(dir, 'user.sock'), path.join(dir, 'master.sock')];
    nosrv = await startNosrv([
      `--haproxy.socket=${socket}`,
      `--haproxy.master-socket=${master}`,
      '--logs.listen=udp://127.0.0.1:0',
      `--alertmanager.url=${receiver.url}`,
    ]);
    const logPort = Number(nosrv.daemon.logsAddress?.split(':').pop());
    frontend = await freePort();
    const dead = await freePort();
    haproxy = await startHaproxy({
      userSocket: socket,
      masterWorker: true,
      masterSocket: master,
      globalLines: `    log 127.0.0.1:${logPort} local0`,
      defaultsLines: '    log global\n    option httplog\n    timeout queue 20s',
      proxies: `
frontend fe_main
    bind 127.0.0.1:${frontend}
    use_backend be_down if { path_beg /down }
    use_backend be_queue if { path_beg /queue }
    use_backend be_flaky if { path_beg /flaky }
    default_backend be_maint
backend be_down
    server d1 127.0.0.1:${dead} check inter 500ms fall 2
    server d2 127.0.0.1:${dead} check inter 500ms fall 2
backend be_maint
    server m1 127.0.0.1:${healthy.port} check
    server m2 127.0.0.1:${healthy.port} check
backend be_queue
    server q1 127.0.0.1:${slow.port} maxconn 1
backend be_flaky
    option httpchk GET /health
    server f1 127.0.0.1:${flaky.port} check inter 500ms fall 1000
    server f2 127.0.0.1:${healthy.port} check inter 500ms
`,
    });
    await haproxy.admin('set server be_maint/m2 state maint');
    flaky.failChecks(true);
    // HAProxy-made 503s through the failing backend, and the slow backend kept queueing.
    const send = (p: string): void =>
      void fetch(`http://127.0.0.1:${frontend}${p}`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    traffic = setInterval(() => {
      send('/down');
      send('/queue');
    }, 250);
    const targets = [new URL(nosrv.url).host];
    const rules = parseRuleOptions(['--for-scale=0.05']);
    assert.ok(rules.ok);
    prometheus = await startPrometheus({ targets, rules: ruleFileText(rules.options), alertmanager: receiver.url.replace('http://', '') });
    // Enough scrapes for rates and the recording rules over them.
    await waitFor(async () => (await promql('instance_proxy:haproxy_made_http_responses_5xx:rate5m{proxy="be_down"} > 0', true)).length > 0, {
      timeoutMs: 90_000,
      intervalMs: 1000,
      what: "HAProxy's own 503s in Prometheus",
    });
    await waitFor(async () => (await promql('haproxy_backend_current_queue{proxy="be_queue"} > 0', true)).length > 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'be_queue queueing',
    });
  });

  after(async () => {
    clearInterval(traffic);
    await prometheus.stop();
    await nosrv.stop();
    await haproxy.stop();
    await receiver.close();
    for (const b of backends) await b.close();
  });

  const values = (backend: string): Record<string, string> => ({
    job: 'nosrv',
    instance: '.*',
    backend,
    __rate_interval: '10s',
    __interval: '1s',
    __range: '1m',
  });

  test('every query of every panel, annotation and variable runs and parses', async () => {
    for (const d of dashboards) {
      for (const { where, expr, instant } of expressions(d)) {
        for (const backend of ['be_down', 'be_queue'])
          await promql(fill(expr, values(backend)), instant).catch((err: unknown) =>
            assert.fail(`${where}: ${err instanceof Error ? err.message : String(err)}`),
          );
      }
      for (const v of d.templating.list) {
        const query = variableQuery(v);
        if (query === null) continue;
        const m = /^label_values\((.*), (\w+)\)$/.exec(query);
        assert.ok(m, `${d.file}: variable ${v.name}`);
        const params = new URLSearchParams({ 'match[]': fill(m[1] as string, values('be_down')) });
        const answer = (await (await fetch(`${prometheus.url}/api/v1/label/${m[2]}/values?${params.toString()}`)).json()) as { status: string; data: string[] };
        assert.equal(answer.status, 'success');
        assert.ok(answer.data.length > 0, `${d.file}: variable ${v.name} has values`);
      }
    }
  });

  test('every metric a dashboard reads is one nosrv exports or a recording rule defines', async () => {
    const known = new Set(((await (await fetch(`${prometheus.url}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data);
    for (const d of dashboards) {
      for (const { where, expr } of expressions(d))
        for (const name of metricNames(expr)) assert.ok(known.has(name) || PROMETHEUS_OWN.has(name), `${where}: ${name}`);
    }
  });

  /** The samples of one panel's target, with the variables filled for `backend`. */
  async function target(file: string, title: string, refId: string, backend: string): Promise<Sample[]> {
    const d = dashboards.find((x) => x.file === file) as CommittedDashboard;
    const panel = d.panels.find((p) => p.title === title);
    const t = panel?.targets?.find((x) => x.refId === refId);
    assert.ok(t, `${file}: ${title} ${refId}`);
    return promql(fill(t.expr, values(backend)), t.instant === true);
  }

  test('the fault lights what it should', async () => {
    const failing = await target('haproxy-503s.json', 'Backends answering 503 now', 'A', '');
    // The queueing backend's only server is at maxconn and requests time out in its queue: failing too.
    assert.deepEqual(failing.map((s) => `${s.metric.proxy} ${s.metric.cause}`).sort(), ['be_down servers_down', 'be_queue pool_exhausted']);
    const risks = (await target('haproxy-503s.json', 'Backends at risk of 503', 'A', '')).map((s) => `${s.metric.proxy} ${s.metric.risk}`);
    for (const r of ['be_maint last_server_up', 'be_maint servers_held', 'be_flaky checks_failing', 'be_queue queueing'])
      assert.ok(risks.includes(r), `${r} in ${risks.join(', ')}`);
    const made = await target('haproxy-503s.json', 'HAProxy-made 5xx against server 5xx', 'A', '');
    assert.ok(
      made.some((s) => s.metric.proxy === 'be_down' && Number(s.values?.at(-1)?.[1]) > 0),
      'HAProxy-made 5xx for be_down',
    );
    const logged = await target('haproxy-503s.json', 'HAProxy-made 5xx against server 5xx', 'C', '');
    assert.ok(
      logged.some((s) => s.metric.backend === 'be_down' && s.metric.reason === 'no_server'),
      "the logs' 503s by reason",
    );
    const nodes = await target('haproxy-503s.json', 'Nodes that see each failing backend', 'A', '');
    assert.deepEqual(nodes.map((s) => [s.metric.proxy, s.value?.[1]]).sort(), [
      ['be_down', '1'],
      ['be_queue', '1'],
    ]);
    const states = await target('haproxy-backend.json', 'Server states', 'A', 'be_down');
    assert.deepEqual(
      states.map((s) => [s.metric.server, s.values?.at(-1)?.[1]]).sort(),
      [
        ['d1', '2'],
        ['d2', '2'],
      ],
      'down in the state timeline',
    );
    const maint = await target('haproxy-backend.json', 'Server states', 'A', 'be_maint');
    assert.ok(
      maint.some((s) => s.metric.server === 'm2' && s.values?.at(-1)?.[1] === '3'),
      'maint in the state timeline',
    );
    const queue = await target('haproxy-backend.json', 'Queue', 'A', 'be_queue');
    assert.ok(
      queue.some((s) => s.values?.some(([, v]) => Number(v) > 0)),
      'the queue above 0',
    );
    const servers = await target('haproxy-backend.json', 'Servers', 'B', 'be_flaky');
    assert.ok(
      servers.some((s) => s.metric.server === 'f1' && s.metric.status === 'L7STS'),
      "the failing server's last check",
    );
    const usable = await target('haproxy-backend.json', 'Usable servers against configured', 'A', 'be_down');
    assert.equal(usable[0]?.values?.at(-1)?.[1], '0');
  });
});
