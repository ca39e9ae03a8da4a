// Bad input loses nothing: with HAProxy missing the daemon keeps serving, says haproxy_up 0,
// logs the failure once, and recovers by itself when HAProxy appears.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, missingTool, startBackend, startHaproxy, labTmpdir, waitFor } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');

test('a missing socket: haproxy_up 0, still serving, logged once, then recovery', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-missing-'));
  const socket = path.join(dir, 'later.sock');
  const nosrv = await startNosrv([`--haproxy.socket=${socket}`, '--haproxy.timeout=1s']);
  try {
    for (let i = 0; i < 3; i++) {
      const { status, text } = await get(`${nosrv.url}/metrics`);
      assert.equal(status, 200, 'a failed read is a normal scrape');
      assert.equal(sample(text, 'haproxy_up'), 0);
      assert.equal(sample(text, 'nosrv_read_errors_total{code="socket_missing"}') !== undefined, true);
    }
    assert.equal((await get(`${nosrv.url}/ready`)).status, 503);
    assert.equal((await get(`${nosrv.url}/healthz`)).status, 200);
    const warnings = nosrv.logs().filter((l) => l.msg === 'cannot read HAProxy');
    assert.equal(warnings.length, 1, 'logged when it starts, not on every read');
    assert.equal(warnings[0]?.code, 'socket_missing');

    const backend = await startBackend();
    const haproxy = await startHaproxy({ userSocket: socket, proxies: `backend be\n    server s1 127.0.0.1:${backend.port} check inter 100ms\n` });
    try {
      await waitFor(async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up') === 1, { timeoutMs: 5000, what: 'haproxy_up 1' });
      assert.equal((await get(`${nosrv.url}/ready`)).status, 200);
      assert.equal(nosrv.logs().filter((l) => l.msg === 'HAProxy can be read again').length, 1);
    } finally {
      await haproxy.stop();
      await backend.close();
    }
  } finally {
    await nosrv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the stats page CSV as the source, with basic auth', { skip: missing ?? false }, async () => {
  const statsPort = await freePort();
  const dead = await freePort();
  const haproxy = await startHaproxy({
    proxies: `
listen stats
    bind 127.0.0.1:${statsPort}
    stats enable
    stats uri /stats
    stats auth ops:s3cret
backend be_down
    server d1 127.0.0.1:${dead} check inter 100ms
backend be_maint
    server m1 127.0.0.1:${dead} disabled
`,
  });
  const good = await startNosrv([`--haproxy.stats-url=http://ops:s3cret@127.0.0.1:${statsPort}/stats;csv`]);
  const bad = await startNosrv([
    `--haproxy.stats-url=http://127.0.0.1:${statsPort}/stats;csv`,
    '--haproxy.stats-username=ops',
    '--haproxy.stats-password=wrong',
  ]);
  try {
    await waitFor(async () => sample((await get(`${good.url}/metrics`)).text, 'haproxy_server_state{proxy="be_down",server="d1",state="down"}') === 1, {
      timeoutMs: 5000,
      what: 'd1 DOWN through the stats page',
    });
    const { text } = await get(`${good.url}/metrics`);
    assert.equal(sample(text, 'haproxy_up'), 1);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_down"}'), 1);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_maint",server="m1",state="maint"}'), 1);
    const latest = await good.daemon.reader.read();
    assert.ok(latest.ok);
    assert.ok(latest.snapshot.unknown.length > 0, 'says what the stats page cannot tell');

    const refused = await get(`${bad.url}/metrics`);
    assert.equal(refused.status, 200);
    assert.equal(sample(refused.text, 'haproxy_up'), 0);
    assert.equal(sample(refused.text, 'nosrv_read_errors_total{code="permission_denied"}') !== undefined, true);
  } finally {
    await good.stop();
    await bad.stop();
    await haproxy.stop();
  }
});
