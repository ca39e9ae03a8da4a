// A real HAProxy sending its logs straight to nosrv: every kind of 5xx counted with its reason,
// health checks in the timeline, and a flood of garbage that changes nothing but counters.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import type { Diagnosis } from '../../src/diagnosis.js';
import { freePort, haproxyVersion, missingTool, startBackend, startHaproxy, labTmpdir, waitFor } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');

test('every 5xx counted with its reason, and shown in /explain', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-logs-'));
  const socket = path.join(dir, 'user.sock');
  const nosrv = await startNosrv([`--haproxy.socket=${socket}`, '--logs.listen=udp://127.0.0.1:0']);
  const logPort = Number(nosrv.daemon.logsAddress?.split(':').pop());
  const ok = await startBackend();
  const slow = await startBackend({ delayMs: 1500 });
  const reset = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.resetAndDestroy());
  });
  await new Promise<void>((resolve) => reset.listen(0, '127.0.0.1', resolve));
  const hang = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((resolve) => hang.listen(0, '127.0.0.1', resolve));
  const frontend = await freePort();
  const haproxy = await startHaproxy({
    userSocket: socket,
    globalLines: `    log 127.0.0.1:${logPort} local0`,
    defaultsLines: '    log global\n    option httplog\n    option log-health-checks\n    timeout queue 500ms\n    timeout server 700ms',
    proxies: `
frontend fe_main
    bind 127.0.0.1:${frontend}
    use_backend be_api if { path_beg /api }
    use_backend be_slow if { path_beg /slow }
    use_backend be_reset if { path_beg /reset }
    use_backend be_hang if { path_beg /hang }
    use_backend be_ok if { path_beg /ok }
backend be_ok
    server web1 127.0.0.1:${ok.port}
backend be_api
    server api1 127.0.0.1:${await freePort()} check inter 100ms
backend be_slow
    server slow1 127.0.0.1:${slow.port} maxconn 1
backend be_reset
    server r1 127.0.0.1:${(reset.address() as net.AddressInfo).port}
backend be_hang
    server h1 127.0.0.1:${(hang.address() as net.AddressInfo).port}
`,
  });
  const url = (p: string): string => `http://127.0.0.1:${frontend}${p}`;
  // HAProxy closes the connection after an error it made; a pooled one would then fail.
  const request = (p: string): Promise<{ status: number; text: string }> => get(url(p), { connection: 'close' });
  try {
    await waitFor(async () => (await request('/api/x')).status === 503, { timeoutMs: 3000, what: 'be_api DOWN' });
    assert.equal((await request('/nothing')).status, 503);
    // HAProxy 2.2 closes the client's connection when the server resets it, and logs -1 and SD--:
    // no 5xx was sent, so none is counted. Later versions answer 502 (SH--).
    const resetAnswered = !haproxyVersion().startsWith('2.2.');
    if (resetAnswered) assert.equal((await request('/reset')).status, 502);
    else await assert.rejects(request('/reset'));
    assert.equal((await request('/hang')).status, 504);
    assert.equal((await request('/ok')).status, 200);
    const slowOnes = await Promise.all([request('/slow/1'), request('/slow/2'), request('/slow/3')]);
    assert.ok(
      slowOnes.some((r) => r.status === 503),
      'a queue timeout',
    );

    const metric = async (series: string): Promise<number | undefined> => sample((await get(`${nosrv.url}/metrics`)).text, series);
    await waitFor(async () => ((await metric('haproxy_log_503_total{frontend="fe_main",backend="be_slow",reason="queue_timeout"}')) ?? 0) >= 1, {
      timeoutMs: 3000,
      what: 'the queue timeout in the logs',
    });
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.ok((sample(text, 'haproxy_log_503_total{frontend="fe_main",backend="be_api",reason="no_server"}') ?? 0) >= 1);
    assert.equal(sample(text, 'haproxy_log_503_total{frontend="fe_main",backend="fe_main",reason="no_backend_match"}'), 1);
    assert.equal(
      sample(text, 'haproxy_log_http_errors_total{frontend="fe_main",backend="be_reset",code="502",termination="SH",origin="haproxy"}'),
      resetAnswered ? 1 : undefined,
    );
    assert.equal(sample(text, 'haproxy_log_http_errors_total{frontend="fe_main",backend="be_hang",code="504",termination="sH",origin="haproxy"}'), 1);
    assert.equal(sample(text, 'nosrv_log_lines_total{result="unparsed"}'), 0);

    const d = JSON.parse((await get(`${nosrv.url}/explain?format=json`)).text) as Diagnosis;
    const fe = d.frontends.find((f) => f.name === 'fe_main');
    assert.deepEqual(
      fe?.causes.map((c) => c.code),
      ['no_backend_match'],
    );
    assert.match(fe.causes[0]?.evidence[0] ?? '', /fe_main fe_main\/<NOSRV> .* 503 .* SC-- .*"GET \/nothing HTTP\/1.1"/);
    const api = d.backends.find((b) => b.name === 'be_api');
    assert.ok(api?.recent_503.some((r) => r.reason === 'no_server' && r.line.includes('"GET /api/x')));
    assert.ok(
      api?.events.some((e) => e.source === 'log' && e.to === 'down' && /Connection refused/.test(e.reason ?? '')),
      JSON.stringify(api?.events),
    );
  } finally {
    await nosrv.stop();
    await haproxy.stop();
    await ok.close();
    await slow.close();
    reset.close();
    hang.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logs over a Unix datagram socket', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-unixgram-'));
  const logSocket = path.join(dir, 'log.sock');
  const socket = path.join(dir, 'user.sock');
  const nosrv = await startNosrv([`--haproxy.socket=${socket}`, `--logs.listen=unixgram:${logSocket}`]);
  const frontend = await freePort();
  const haproxy = await startHaproxy({
    userSocket: socket,
    globalLines: `    log ${logSocket} local0`,
    defaultsLines: '    log global\n    option httplog',
    proxies: `frontend fe\n    bind 127.0.0.1:${frontend}\n    default_backend be_empty\nbackend be_empty\n`,
  });
  try {
    assert.equal((await get(`http://127.0.0.1:${frontend}/`)).status, 503);
    await waitFor(
      async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_log_503_total{frontend="fe",backend="be_empty",reason="no_server"}') === 1,
      {
        timeoutMs: 3000,
        what: 'the 503 through unixgram',
      },
    );
  } finally {
    await nosrv.stop();
    await haproxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flood of malformed datagrams leaves the daemon serving with correct counts', async () => {
  const nosrv = await startNosrv(['--haproxy.socket=/nonexistent/haproxy.sock', '--logs.listen=udp://127.0.0.1:0']);
  const port = Number(nosrv.daemon.logsAddress?.split(':').pop());
  const sender = dgram.createSocket('udp4');
  const SENT = 20_000;
  try {
    const junk = [
      Buffer.from('garbage'),
      Buffer.alloc(1400, 0xff),
      Buffer.from('<134>Nov 24 01:46:01 haproxy[1]: 127.0.0.1:1 [x] half a line'),
      Buffer.from('<999999>'),
      Buffer.alloc(0),
    ];
    for (let i = 0; i < SENT; i++) {
      sender.send(junk[i % junk.length] as Buffer, port, '127.0.0.1');
      if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const counts = async (): Promise<{ received: number; dropped: number; unparsed: number }> => {
      const { text } = await get(`${nosrv.url}/metrics`);
      return {
        received: sample(text, 'nosrv_log_datagrams_total') ?? -1,
        dropped: sample(text, 'nosrv_log_datagrams_dropped_total') ?? 0,
        unparsed: sample(text, 'nosrv_log_lines_total{result="unparsed"}') ?? -1,
      };
    };
    await waitFor(
      async () => {
        const c = await counts();
        return c.received + c.dropped === SENT;
      },
      { timeoutMs: 10_000, what: 'every datagram received or counted as dropped' },
    );
    const c = await counts();
    assert.equal(c.unparsed, c.received, 'every one counted as not understood');
    assert.equal((await get(`${nosrv.url}/healthz`)).status, 200);
  } finally {
    sender.close();
    await nosrv.stop();
  }
});
