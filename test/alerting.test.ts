// nosrv's own alerts: which alerts a diagnosis holds (the rules' names and labels), how they start,
// hold, are sent again and resolve over a sequence of reads, and how an Alertmanager that fails is
// retried and then told the current set. Diagnoses are literal values.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { AlertBook } from '../src/alerting/alertBook.js';
import { AlertmanagerClient, parseAlertmanagerHttpConfig, type PostableAlert } from '../src/alerting/alertmanager.js';
import { Alerting } from '../src/alerting/dispatcher.js';
import { pushedAlerts, type PushedAlert } from '../src/alerting/pushedAlerts.js';
import type { BackendDiagnosis, Diagnosis, Finding } from '../src/diagnosis.js';
import { capturedLogger } from './support/metrics.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');
const CTX = {
  externalUrl: 'http://lb1:9503',
  labels: { instance: 'lb1:9503', haproxy: '/run/haproxy/nosrv.sock', sender: 'nosrv' },
  ignoreBackends: null,
  now: T0,
};

function finding(code: string, extra: Partial<Finding> = {}): Finding {
  return { code, summary: `${code} summary.`, evidence: [`${code} evidence.`], fix: [], advice: [], ...extra };
}

function backend(name: string, causes: Finding[], risks: Finding[], total = 2): BackendDiagnosis {
  return {
    name,
    verdict: causes.length > 0 ? 'failing' : risks.length > 0 ? 'at_risk' : 'ok',
    servers: { total, up: 0, down: 0, maint: 0, drain: 0, nolb: 0, unknown: 0, backup_up: 0 },
    causes,
    risks,
    findings: [],
    events: [],
    recent_503: [],
  };
}

function diagnosis(backends: BackendDiagnosis[], extra: Partial<Diagnosis> = {}): Diagnosis {
  return {
    generated_at: new Date(T0).toISOString(),
    haproxy: { up: true, version: '2.6.12', error: null },
    backends,
    frontends: [],
    process: { verdict: 'ok', known: true, causes: [], risks: [] },
    unknown: [],
    ...extra,
  };
}

const names = (alerts: readonly PushedAlert[]): string[] =>
  alerts.map((a) => `${a.alertname} ${a.labels.proxy ?? ''}${a.labels.server ? `/${a.labels.server}` : ''}`.trim()).sort();

describe('the alerts a diagnosis holds', () => {
  test('the rules names, labels and summary; the diagnosis its own words; links on this nosrv', () => {
    const [down] = pushedAlerts(diagnosis([backend('be_api', [finding('servers_down')], [])]), CTX);
    assert.deepEqual(down?.labels, { alertname: 'HAProxyBackendAnswering503', severity: 'critical', proxy: 'be_api', cause: 'servers_down', ...CTX.labels });
    assert.deepEqual(down.annotations, {
      summary: 'HAProxy answers 503 for backend be_api (servers_down)',
      description: 'servers_down summary. servers_down evidence.',
      runbook_url: 'http://lb1:9503/runbooks/HAProxyBackendAnswering503',
      explain_url: 'http://lb1:9503/explain?backend=be_api',
    });
  });

  test('every cause and risk, each under the alert the rules give it', () => {
    const held = new Date(T0 - 2 * 3600_000).toISOString();
    const d = diagnosis(
      [
        backend('be_api', [finding('servers_down')], []),
        backend('be_two', [], [finding('last_server_up')]),
        backend('be_single', [], [finding('last_server_up')], 1),
        backend('be_pay', [], [finding('last_server_up'), finding('checks_failing', { servers: [{ name: 'pay1', since: null }] })], 1),
        backend('be_busy', [], [finding('near_maxconn'), finding('queueing')]),
        backend(
          'be_held',
          [],
          [
            finding('servers_held', {
              servers: [
                { name: 'old', since: held },
                { name: 'new', since: new Date(T0 - 60_000).toISOString() },
              ],
            }),
          ],
        ),
      ],
      {
        frontends: [{ name: 'fe_main', verdict: 'failing', causes: [finding('no_backend_match')], risks: [finding('no_default_backend')], recent_503: [] }],
        process: { verdict: 'failing', known: true, causes: [finding('failed_reload')], risks: [finding('old_workers')] },
      },
    );
    assert.deepEqual(names(pushedAlerts(d, CTX)), [
      'HAProxyBackendAnswering503 be_api',
      'HAProxyBackendChecksFailing be_pay',
      'HAProxyBackendLastServer be_two',
      'HAProxyBackendLastServerFailing be_pay',
      'HAProxyBackendNearMaxconn be_busy',
      'HAProxyBackendQueueing be_busy',
      'HAProxyFrontendNoBackendMatch fe_main',
      'HAProxyFrontendNoDefaultBackend fe_main',
      'HAProxyOldWorkers',
      'HAProxyReloadFailed',
      // Held for two hours, as the rule: the one held for a minute is no alert yet.
      'HAProxyServerHeld be_held/old',
    ]);
    const heldAlert = pushedAlerts(d, CTX).find((a) => a.alertname === 'HAProxyServerHeld');
    assert.equal(heldAlert?.annotations.summary, 'Server be_held/old has been held in MAINT or DRAIN for 2h');
    assert.equal(pushedAlerts(d, CTX).find((a) => a.alertname === 'HAProxyOldWorkers')?.holdMs, 3600_000, "the rule's for: 1h");
  });

  test('backends empty by design (--alertmanager.ignore-backends) are no alert', () => {
    const d = diagnosis([backend('be_redirect', [finding('no_servers')], []), backend('be_api', [finding('no_servers')], [])]);
    assert.deepEqual(names(pushedAlerts(d, { ...CTX, ignoreBackends: /^(?:be_redirect|be_static)$/ })), ['HAProxyBackendAnswering503 be_api']);
  });

  test('HAProxy unreadable: that alone, with the reason', () => {
    const alerts = pushedAlerts(diagnosis([], { haproxy: { up: false, version: null, error: 'connect ENOENT /run/haproxy/nosrv.sock' } }), CTX);
    assert.deepEqual(names(alerts), ['HAProxyUnreadable']);
    assert.equal(alerts[0]?.annotations.description, 'nosrv cannot read HAProxy: connect ENOENT /run/haproxy/nosrv.sock.');
    assert.equal(alerts[0].annotations.summary, 'nosrv at lb1:9503 cannot read HAProxy');
  });
});

describe('the alert book over a sequence of reads', () => {
  const DEBOUNCE = { critical: 3000, warning: 30_000, info: 60_000 };
  const down = (d = diagnosis([backend('be_api', [finding('servers_down')], [])])): PushedAlert[] => pushedAlerts(d, CTX);
  const stateOf = (book: AlertBook): string[] => book.alerts().map((h) => `${h.alert.alertname}:${h.state}`);

  test('start, debounce, fire, hold, resolve; told once to every Alertmanager, then forgotten', () => {
    const book = new AlertBook(DEBOUNCE, ['am1', 'am2']);
    assert.equal(book.observe(T0, down()), false, 'pending: nothing to send');
    assert.deepEqual(stateOf(book), ['HAProxyBackendAnswering503:pending']);
    assert.equal(book.nextDue(), T0 + 3000);
    assert.deepEqual(book.toSend('am1'), []);
    assert.equal(book.observe(T0 + 2000, down()), false, 'not held 3 s yet');
    assert.equal(book.observe(T0 + 3000, down()), true, 'held 3 s: send now');
    assert.deepEqual(stateOf(book), ['HAProxyBackendAnswering503:firing']);
    assert.equal(book.toSend('am1')[0]?.since, T0, 'startsAt: when a read first saw it');
    assert.equal(book.observe(T0 + 40_000, down()), false, 'holding: nothing new');
    assert.equal(book.observe(T0 + 41_000, []), true, 'gone: resolved, send now');
    const resolved = book.toSend('am1');
    assert.deepEqual([resolved[0]?.state, resolved[0]?.resolvedAt], ['resolved', T0 + 41_000]);
    book.told('am1', resolved);
    assert.deepEqual(book.toSend('am1'), [], 'am1 knows');
    assert.equal(book.toSend('am2').length, 1, 'am2 does not yet');
    book.told('am2', book.toSend('am2'));
    assert.deepEqual(book.alerts(), [], 'forgotten once every Alertmanager knows');
  });

  test('what holds shorter than its debounce is never sent: a check that fails once', () => {
    const book = new AlertBook(DEBOUNCE, ['am1']);
    const failing = pushedAlerts(diagnosis([backend('be_pay', [], [finding('last_server_up'), finding('checks_failing')], 1)]), CTX);
    assert.deepEqual(names(failing), ['HAProxyBackendChecksFailing be_pay', 'HAProxyBackendLastServerFailing be_pay']);
    assert.equal(book.observe(T0, failing), false);
    assert.equal(book.observe(T0 + 2000, []), false, 'over within 2 s: dropped, nothing sent');
    assert.deepEqual(book.alerts(), []);
  });

  test('what a read could not see stays as it was; a new start after a resolve is a new alert', () => {
    const book = new AlertBook(DEBOUNCE, ['am1']);
    book.observe(T0, down());
    book.observe(T0 + 3000, down());
    assert.equal(
      book.observe(T0 + 4000, [], () => true),
      false,
      'kept: not resolved',
    );
    assert.deepEqual(stateOf(book), ['HAProxyBackendAnswering503:firing']);
    book.observe(T0 + 5000, []);
    book.observe(T0 + 6000, down());
    assert.deepEqual(stateOf(book), ['HAProxyBackendAnswering503:pending'], 'back within its debounce again');
    assert.equal(
      book.observe(T0 + 20_000, [], () => true),
      false,
      'kept, not seen: not promoted on time alone',
    );
    assert.deepEqual(stateOf(book), ['HAProxyBackendAnswering503:pending']);
    assert.equal(book.observe(T0 + 21_000, down()), true, 'seen again, held long enough: sent');
  });
});

interface Post {
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly alerts: PostableAlert[];
}

/** A stand-in Alertmanager v2 API on loopback that records posts, answering `status()`. */
async function alertmanagerStandIn(status: () => number): Promise<{ url: string; posts: Post[]; close(): Promise<void> }> {
  const posts: Post[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/alerts')
        posts.push({ at: Date.now(), headers: req.headers, alerts: JSON.parse(body) as PostableAlert[] });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

describe('sending to Alertmanager', () => {
  test('sent when it starts, again while it holds with endsAt ahead, resolved with endsAt now', async () => {
    const am = await alertmanagerStandIn(() => 200);
    const alerting = new Alerting(
      [new AlertmanagerClient(am.url, null)],
      { debounceMs: { critical: 0, warning: 0, info: 0 }, resendMs: 30_000, externalUrl: CTX.externalUrl, labels: CTX.labels, ignoreBackends: null },
      pino({ level: 'silent' }),
    );
    try {
      const failing = diagnosis([backend('be_api', [finding('servers_down')], [])]);
      const now = Date.now();
      alerting.observe(failing, now);
      await alerting.settled();
      assert.equal(am.posts.length, 1);
      const [sent] = am.posts[0]?.alerts ?? [];
      assert.equal(sent?.labels.alertname, 'HAProxyBackendAnswering503');
      assert.equal(Date.parse(sent.endsAt) - now, 120_000, 'ends four re-sends ahead');
      assert.equal(sent.generatorURL, 'http://lb1:9503/alerts');
      alerting.tick(now + 10_000);
      await alerting.settled();
      assert.equal(am.posts.length, 1, 'not again before the re-send interval');
      assert.equal(alerting.wantsRead(now + 30_000), true, 'a fresh read before sending again');
      alerting.observe(failing, now + 30_000);
      alerting.tick(now + 30_000);
      await alerting.settled();
      assert.equal(am.posts.length, 2, 'sent again while it holds');
      alerting.observe(diagnosis([backend('be_api', [], [])]), now + 31_000);
      await alerting.settled();
      const resolved = am.posts[2]?.alerts[0];
      assert.equal(resolved?.endsAt, new Date(now + 31_000).toISOString(), 'resolved: endsAt now');
      assert.deepEqual(alerting.alerts(), []);
    } finally {
      await am.close();
    }
  });

  test('an Alertmanager that fails: retried with backoff, told the current set once back, the outage logged once', async () => {
    let status = 503;
    const am = await alertmanagerStandIn(() => status);
    const { log, lines } = capturedLogger();
    const alerting = new Alerting(
      [new AlertmanagerClient(am.url, null)],
      { debounceMs: { critical: 0, warning: 0, info: 0 }, resendMs: 30_000, externalUrl: CTX.externalUrl, labels: CTX.labels, ignoreBackends: null },
      log,
    );
    try {
      const now = Date.now();
      alerting.observe(diagnosis([backend('be_api', [finding('servers_down')], [])]), now);
      await alerting.settled();
      assert.equal(alerting.receiverStatus()[0]?.up, false);
      const firstRetry = alerting.receiverStatus()[0]?.nextTryAt ?? 0;
      assert.ok(firstRetry - Date.now() <= 1000 && firstRetry > now, 'first retry within a second');
      alerting.tick(firstRetry);
      await alerting.settled();
      const secondRetry = alerting.receiverStatus()[0]?.nextTryAt ?? 0;
      assert.ok(secondRetry - Date.now() > 1500, 'the second wait is longer: it backs off');
      // Meanwhile the backend recovered: the set kept holds its resolve.
      alerting.observe(diagnosis([backend('be_api', [], [])]), Date.now());
      status = 200;
      alerting.tick(secondRetry);
      await alerting.settled();
      const last = am.posts[am.posts.length - 1];
      assert.equal(last?.alerts.length, 1);
      assert.equal(last.alerts[0]?.labels.alertname, 'HAProxyBackendAnswering503');
      assert.ok(Date.parse(last.alerts[0].endsAt) <= Date.now(), 'the resolve, sent once it is back');
      assert.equal(alerting.receiverStatus()[0]?.up, true);
      const said = lines().map((l) => l.msg);
      assert.equal(said.filter((m) => String(m).startsWith('cannot send alerts')).length, 1, 'the outage logged once');
      assert.equal(said.filter((m) => m === 'Alertmanager takes alerts again').length, 1);
      assert.equal(alerting.postCounts.get('error'), 2);
    } finally {
      await am.close();
    }
  });

  test('basic auth and a bearer token from files, as in alertmanager_config', async () => {
    const am = await alertmanagerStandIn(() => 200);
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-am-'));
    writeFileSync(path.join(dir, 'token'), 's3cret\n');
    writeFileSync(path.join(dir, 'password'), 'pw\n');
    try {
      const bearer = parseAlertmanagerHttpConfig('authorization:\n  credentials_file: token\n', path.join(dir, 'http.yml'));
      await new AlertmanagerClient(am.url, bearer).post([]);
      assert.equal(am.posts[0]?.headers.authorization, 'Bearer s3cret');
      const basic = parseAlertmanagerHttpConfig('basic_auth:\n  username: nosrv\n  password_file: password\n', path.join(dir, 'http.yml'));
      await new AlertmanagerClient(am.url, basic).post([]);
      assert.equal(am.posts[1]?.headers.authorization, `Basic ${Buffer.from('nosrv:pw').toString('base64')}`);
      assert.throws(
        () => parseAlertmanagerHttpConfig('authorization:\n  credentials: s3cret\nproxy_url: x\n', 'f.yml'),
        /unknown setting "proxy_url".*authorization: needs credentials_file/,
      );
      // An empty path names no file: refused, never a client that sends no credentials.
      assert.throws(() => parseAlertmanagerHttpConfig("authorization:\n  credentials_file: ''\n", 'f.yml'), /authorization: needs credentials_file/);
      assert.throws(() => parseAlertmanagerHttpConfig('- a list\n', 'f.yml'), /expected a mapping/);
    } finally {
      await am.close();
    }
  });
});

describe('/alerts', () => {
  test('what nosrv holds and where it sent it, every value escaped; or how to turn it on', async () => {
    const { alertsPage, alertsReport } = await import('../src/web/alertsPage.js');
    assert.match(alertsPage(alertsReport(null)), /--alertmanager\.url=/);
    const alerting = new Alerting(
      [new AlertmanagerClient('http://127.0.0.1:1', null)],
      { debounceMs: { critical: 0, warning: 0, info: 0 }, resendMs: 30_000, externalUrl: CTX.externalUrl, labels: CTX.labels, ignoreBackends: null },
      pino({ level: 'silent' }),
    );
    alerting.observe(diagnosis([backend('be_<script>', [finding('servers_down')], [])]), Date.now());
    await alerting.settled();
    const report = alertsReport(alerting);
    assert.deepEqual([report.alerts[0]?.alertname, report.alerts[0]?.state, report.alertmanagers[0]?.up], ['HAProxyBackendAnswering503', 'firing', false]);
    const page = alertsPage(report);
    assert.match(page, /HAProxyBackendAnswering503/);
    assert.match(page, /be_&#60;script&#62;/);
    assert.doesNotMatch(page, /be_<script>/);
  });
});
