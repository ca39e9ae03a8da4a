// Every server state that decides a 503, made on a real HAProxy and read through a `level user`
// socket, as nosrv runs in production.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, missingTool, startBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv, type RunningNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');

describe('server states on a real HAProxy', { skip: missing ?? false }, () => {
  let haproxy: Haproxy;
  let nosrv: RunningNosrv;
  let tcpNosrv: RunningNosrv;
  const backends: Backend[] = [];

  before(async () => {
    const [a, b] = [await startBackend(), await startBackend()];
    backends.push(a, b);
    const dead = await freePort();
    const tcpPort = await freePort();
    haproxy = await startHaproxy({
      globalLines: `    stats socket ipv4@127.0.0.1:${tcpPort} level user`,
      defaultsLines: '    default-server inter 100ms fall 2 rise 2',
      proxies: `
backend be_ok
    server web1 127.0.0.1:${a.port} check
    server web2 127.0.0.1:${b.port} check maxconn 10
backend be_down
    server api1 127.0.0.1:${dead} check
    server api2 127.0.0.1:${dead} check
backend be_held
    server h1 127.0.0.1:${a.port} check
    server h2 127.0.0.1:${b.port} check
backend be_empty
backend be_backup
    server primary 127.0.0.1:${dead} check
    server spare 127.0.0.1:${a.port} check backup
backend be_track
    server t1 127.0.0.1:${a.port} track be_ok/web1
backend be_nocheck
    server n1 127.0.0.1:${dead}
`,
    });
    await haproxy.admin('set server be_held/h1 state maint');
    await haproxy.admin('set server be_held/h2 state drain');
    nosrv = await startNosrv([`--haproxy.socket=${haproxy.userSocket}`]);
    tcpNosrv = await startNosrv([`--haproxy.socket=tcp://127.0.0.1:${tcpPort}`]);
    await waitFor(async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_backend_no_up_servers{proxy="be_down"}') === 1, {
      timeoutMs: 5000,
      what: 'be_down to be seen DOWN',
    });
  });

  after(async () => {
    await nosrv.stop();
    await tcpNosrv.stop();
    await haproxy.stop();
    for (const b of backends) await b.close();
  });

  test('healthy: both servers up, no 503 cause', async () => {
    const { status, text } = await get(`${nosrv.url}/metrics`);
    assert.equal(status, 200);
    assert.equal(sample(text, 'haproxy_up'), 1);
    assert.equal(sample(text, 'haproxy_backend_up_servers{proxy="be_ok"}'), 2);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_ok"}'), 0);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_ok",server="web1",state="up"}'), 1);
    assert.equal(sample(text, 'haproxy_server_check_status{proxy="be_ok",server="web1",status="L4OK"}'), 1);
    assert.equal(sample(text, 'haproxy_server_checks_until_down{proxy="be_ok",server="web1"}'), 2);
    assert.equal(sample(text, 'haproxy_server_limit_sessions{proxy="be_ok",server="web2"}'), 10);
    assert.equal(sample(text, 'haproxy_backend_sessions_utilization_ratio{proxy="be_ok"}'), 0);
  });

  test('every server DOWN: no UP server, L4CON per server', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_down"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_up_servers{proxy="be_down"}'), 0);
    for (const s of ['api1', 'api2']) {
      assert.equal(sample(text, `haproxy_server_state{proxy="be_down",server="${s}",state="down"}`), 1);
      assert.equal(sample(text, `haproxy_server_check_status{proxy="be_down",server="${s}",status="L4CON"}`), 1);
      assert.equal(sample(text, `haproxy_server_checks_until_down{proxy="be_down",server="${s}"}`), 0);
    }
  });

  test('MAINT and DRAIN set through the admin socket take no request', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_held",server="h1",state="maint"}'), 1);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_held",server="h2",state="drain"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_held"}'), 1);
    const result = await nosrv.daemon.reader.read();
    assert.ok(result.ok);
    const held = result.snapshot.backends.find((b) => b.name === 'be_held');
    assert.deepEqual(
      held?.servers.map((s) => [s.name, s.state, s.held]),
      [
        ['h1', 'maint', ['forced']],
        ['h2', 'drain', ['forced']],
      ],
    );
  });

  test('an empty backend has no UP server although HAProxy reports it UP', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_backend_servers{proxy="be_empty"}'), 0);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_empty"}'), 1);
  });

  test('primary DOWN with a backup UP still serves', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_backup"}'), 0);
    assert.equal(sample(text, 'haproxy_backend_up_servers{proxy="be_backup"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_active_servers{proxy="be_backup"}'), 0);
    assert.equal(sample(text, 'haproxy_server_backup{proxy="be_backup",server="spare"}'), 1);
  });

  test('a tracked server follows its target and has no check of its own', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_track",server="t1",state="up"}'), 1);
    assert.equal(sample(text, 'haproxy_server_checks_until_down{proxy="be_track",server="t1"}'), undefined);
    const result = await nosrv.daemon.reader.read();
    assert.ok(result.ok);
    assert.equal(result.snapshot.backends.find((b) => b.name === 'be_track')?.servers[0]?.tracks, 'be_ok/web1');
  });

  test('a server without check counts as up, even where nothing listens', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_nocheck",server="n1",state="up"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_nocheck"}'), 0);
    assert.equal(sample(text, 'haproxy_server_check_status{proxy="be_nocheck",server="n1",status="L4CON"}'), undefined);
  });

  test('the same facts over a tcp:// runtime API socket', async () => {
    const [unix, tcp] = [(await get(`${nosrv.url}/metrics`)).text, (await get(`${tcpNosrv.url}/metrics`)).text];
    for (const series of [
      'haproxy_up',
      'haproxy_backend_no_up_servers{proxy="be_down"}',
      'haproxy_backend_up_servers{proxy="be_backup"}',
      'haproxy_backend_no_up_servers{proxy="be_held"}',
    ]) {
      assert.equal(sample(tcp, series), sample(unix, series), series);
    }
  });
});
