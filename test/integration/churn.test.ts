// A real HAProxy in turmoil: reloaded and restarted in a loop while nosrv is scraped, and a syslog
// flood of forged proxy names followed by a real 503. What nosrv says must stay true throughout.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Diagnosis } from '../../src/diagnosis.js';
import { freePort, labTmpdir, missingTool, startBackend, startHaproxy, waitFor, type Haproxy } from '../support/lab.js';
import { fixture } from '../support/fixtures.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');

/** What a read that failed while HAProxy was stopping, starting or reloading may say. */
const BETWEEN_PROCESSES = new Set(['socket_missing', 'connection_refused', 'connection_reset', 'truncated', 'timeout']);

test('reloaded and restarted in a loop while scraped: every answer is either a true verdict or haproxy_up 0', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-churn-'));
  const userSocket = path.join(dir, 'user.sock');
  const masterSocket = path.join(dir, 'master.sock');
  const ok = await startBackend();
  const options = {
    userSocket,
    masterSocket,
    masterWorker: true,
    proxies: `
backend be_ok
    server web1 127.0.0.1:${ok.port}
    server web2 127.0.0.1:${ok.port}
backend be_maint
    server m1 127.0.0.1:${ok.port} disabled
`,
  };
  let haproxy: Haproxy = await startHaproxy(options);
  const nosrv = await startNosrv([`--haproxy.socket=${userSocket}`, `--haproxy.master-socket=${masterSocket}`, '--haproxy.timeout=1s', '--watch.interval=1s']);
  const churned = new AbortController();
  const seen = { up: 0, down: 0, explained: 0 };
  const problems: string[] = [];
  const scraper = (async () => {
    for (let i = 0; !churned.signal.aborted && i < 2000; i++) {
      const { status, text } = await get(`${nosrv.url}/metrics`);
      if (status !== 200) problems.push(`/metrics answered ${status}`);
      const up = sample(text, 'haproxy_up');
      if (up === 1) {
        seen.up++;
        if (sample(text, 'haproxy_backend_up_servers{proxy="be_ok"}') !== 2) problems.push('be_ok without its 2 UP servers while haproxy_up 1');
        if (sample(text, 'haproxy_backend_503_cause{proxy="be_maint",cause="servers_maint"}') !== 1)
          problems.push('be_maint not failing for maint while haproxy_up 1');
        if (sample(text, 'haproxy_backend_503_cause{proxy="be_ok",cause="no_servers"}') === 1) problems.push('be_ok said to have no servers');
      } else if (up === 0) {
        seen.down++;
        if (text.includes('haproxy_backend_up_servers{')) problems.push('a backend series while haproxy_up 0');
        const codes = [...text.matchAll(/^nosrv_read_errors_total\{code="(\w+)"\} (\d+)$/gm)].filter(([, , n]) => Number(n) > 0).map(([, code]) => code ?? '');
        for (const code of codes) if (!BETWEEN_PROCESSES.has(code)) problems.push(`read error ${code}`);
      } else problems.push(`haproxy_up ${up}`);
      if (i % 10 === 0) {
        const explain = JSON.parse((await get(`${nosrv.url}/explain?format=json`)).text) as Diagnosis;
        const verdicts = Object.fromEntries(explain.backends.map((b) => [b.name, b.verdict]));
        if (explain.haproxy.up) {
          seen.explained++;
          if (verdicts.be_ok !== 'ok' || verdicts.be_maint !== 'failing') problems.push(`/explain: ${JSON.stringify(verdicts)}`);
        } else if (explain.backends.length > 0) problems.push('/explain judged backends while HAProxy was unreadable');
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    for (let round = 0; round < 6; round++) {
      haproxy.reload();
      await new Promise((resolve) => setTimeout(resolve, 400));
      await haproxy.stop();
      await new Promise((resolve) => setTimeout(resolve, 200));
      haproxy = await startHaproxy(options);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    await waitFor(async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up') === 1, { timeoutMs: 5000, what: 'haproxy_up 1 after the churn' });
    churned.abort();
    await scraper;
    assert.deepEqual(problems, []);
    assert.ok(seen.up > 20 && seen.explained > 0, `read while HAProxy ran: ${JSON.stringify(seen)}`);
    // Each outage of each source said once as it starts (a warning) and once as it ends.
    const logs = nosrv.logs();
    for (const what of ['HAProxy', "HAProxy's master CLI", "HAProxy's server states for the watcher"]) {
      const failed = logs.filter((l) => l.msg === `cannot read ${what}`).length;
      const recovered = logs.filter((l) => l.msg === `${what} can be read again`).length;
      assert.ok(failed <= 12, `${failed} outages of ${what} said for 6 reloads and 6 restarts`);
      assert.equal(recovered, failed, what);
    }
    assert.ok(logs.filter((l) => l.msg === 'cannot read HAProxy').length >= 1, 'the restarts were seen');
    assert.ok(
      logs.filter((l) => l.level === 40).every((l) => typeof l.code === 'string' && BETWEEN_PROCESSES.has(l.code)),
      'every warning a reason of HAProxy going or coming',
    );
  } finally {
    churned.abort();
    await scraper;
    await nosrv.stop();
    await haproxy.stop();
    await ok.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a syslog flood of forged proxy names, then a real 503: counted under its own backend and shown in /explain', { skip: missing ?? false }, async () => {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-flood-'));
  const socket = path.join(dir, 'user.sock');
  const nosrv = await startNosrv([`--haproxy.socket=${socket}`, '--logs.listen=udp://127.0.0.1:0']);
  const logPort = Number(nosrv.daemon.logsAddress?.split(':').pop());
  const frontend = await freePort();
  const haproxy = await startHaproxy({
    userSocket: socket,
    globalLines: `    log 127.0.0.1:${logPort} local0`,
    defaultsLines: '    log global\n    option httplog',
    proxies: `
frontend fe_main
    bind 127.0.0.1:${frontend}
    default_backend be_empty
backend be_empty
`,
  });
  const sender = dgram.createSocket('udp4');
  // A 503 line as HAProxy 2.6.12 writes it, naming proxies it does not have: anyone on the network can send one.
  const real503 = fixture('haproxy-2.6.12-syslog.txt')
    .split('\n')
    .find((l) => l.startsWith('<134>') && l.includes(' 503 '));
  assert.ok(real503);
  const SENT = 15_000;
  try {
    // The first read tells the ingest which proxies HAProxy has.
    assert.equal(sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up'), 1);
    for (let i = 0; i < SENT; i++) {
      sender.send(real503.replace('fe_main be_api/', `fe_forged${i} be_forged${i}/`), logPort, '127.0.0.1');
      if (i % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const counted = async (): Promise<string> => (await get(`${nosrv.url}/metrics`)).text;
    await waitFor(
      async () => {
        const text = await counted();
        return (sample(text, 'nosrv_log_datagrams_total') ?? 0) + (sample(text, 'nosrv_log_datagrams_dropped_total') ?? 0) >= SENT;
      },
      { timeoutMs: 10_000, what: 'every forged datagram received or counted as dropped' },
    );
    const answer = await get(`http://127.0.0.1:${frontend}/`, { connection: 'close' });
    assert.equal(answer.status, 503);
    const series = 'haproxy_log_503_total{frontend="fe_main",backend="be_empty",reason="no_server"}';
    await waitFor(async () => sample(await counted(), series) === 1, { timeoutMs: 5000, what: `${series} 1` });
    const text = await counted();
    const forged = text.split('\n').filter((l) => l.includes('be_forged')).length;
    assert.ok(forged <= 10_000, `${forged} series of forged names: at most 10,000 label sets`);
    const folded = sample(text, 'nosrv_log_lines_folded_total') ?? 0;
    assert.ok(folded > 0, 'the lines past the bound are folded');
    assert.ok((sample(text, 'haproxy_log_503_total{frontend="(other)",backend="(other)",reason="no_server"}') ?? 0) > 0, 'and counted under (other)');
    const explain = JSON.parse((await get(`${nosrv.url}/explain?format=json`)).text) as Diagnosis;
    const empty = explain.backends.find((b) => b.name === 'be_empty');
    assert.equal(empty?.verdict, 'failing');
    assert.equal(empty.recent_503.length, 1, 'the real 503 line is kept for its backend');
    assert.match(empty.recent_503[0]?.line ?? '', /fe_main be_empty\/<NOSRV>/);
    assert.ok(
      explain.backends.every((b) => !b.name.startsWith('be_forged')),
      'no forged backend is judged',
    );
  } finally {
    sender.close();
    await nosrv.stop();
    await haproxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
