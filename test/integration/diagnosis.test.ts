// Every cause and risk made on a real HAProxy with real backends on loopback, read through a
// `level user` socket, and seen in /explain and /metrics.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { BackendDiagnosis, Diagnosis } from '../../src/diagnosis.js';
import { freePort, missingTool, startBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv, type RunningNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');

async function explain(nosrv: RunningNosrv): Promise<Diagnosis> {
  const { status, text } = await get(`${nosrv.url}/explain`, { accept: 'application/json' });
  assert.equal(status, 200);
  return JSON.parse(text) as Diagnosis;
}

function backend(d: Diagnosis, name: string): BackendDiagnosis {
  const b = d.backends.find((x) => x.name === name);
  assert.ok(b, `backend ${name} in ${d.backends.map((x) => x.name).join(', ')}`);
  return b;
}

const codes = (b: BackendDiagnosis): string[] => [...b.causes.map((c) => `cause:${c.code}`), ...b.risks.map((r) => `risk:${r.code}`)];

describe('causes and risks on a real HAProxy', { skip: missing ?? false }, () => {
  let haproxy: Haproxy;
  let nosrv: RunningNosrv;
  const backends: Backend[] = [];
  let failing: Backend;

  before(async () => {
    const [a, b] = [await startBackend(), await startBackend()];
    failing = await startBackend();
    backends.push(a, b);
    const dead = await freePort();
    const frontendPort = await freePort();
    haproxy = await startHaproxy({
      defaultsLines: '    default-server inter 100ms rise 2 fall 2',
      proxies: `
frontend fe_routes
    bind 127.0.0.1:${frontendPort}
    use_backend be_down if { path_beg /down }
backend be_down
    server d1 127.0.0.1:${dead} check
    server d2 127.0.0.1:${dead} check
backend be_held
    server h1 127.0.0.1:${a.port} check
    server h2 127.0.0.1:${b.port} check
backend be_empty
backend be_backup
    server primary 127.0.0.1:${dead} check
    server spare 127.0.0.1:${a.port} check backup
backend be_last
    server l1 127.0.0.1:${a.port} check
    server l2 127.0.0.1:${b.port} check
backend be_failing
    server f1 127.0.0.1:${failing.port} check inter 300ms fall 20 rise 2
    server f2 127.0.0.1:${b.port} check
`,
    });
    await haproxy.admin('set server be_held/h1 state maint');
    await haproxy.admin('set server be_held/h2 state drain');
    await haproxy.admin('set server be_last/l2 state maint');
    nosrv = await startNosrv([
      `--haproxy.socket=${haproxy.userSocket}`,
      `--haproxy.admin-socket=${haproxy.adminSocket}`,
      `--haproxy.config=${haproxy.configPath}`,
    ]);
    await waitFor(async () => backend(await explain(nosrv), 'be_down').verdict === 'failing', { timeoutMs: 5000, what: 'be_down failing' });
  });

  after(async () => {
    await nosrv.stop();
    await haproxy.stop();
    for (const b of [...backends, failing]) await b.close();
  });

  test('all DOWN, MAINT and DRAIN, empty, backup serving, one server left', async () => {
    const d = await explain(nosrv);
    assert.equal(d.haproxy.up, true);
    assert.deepEqual(codes(backend(d, 'be_down')), ['cause:servers_down']);
    assert.deepEqual(codes(backend(d, 'be_held')), ['cause:servers_maint']);
    assert.deepEqual(codes(backend(d, 'be_empty')), ['cause:no_servers']);
    assert.deepEqual(codes(backend(d, 'be_backup')), ['risk:last_server_up']);
    assert.deepEqual(codes(backend(d, 'be_last')), ['risk:last_server_up', 'risk:servers_held']);
    const down = backend(d, 'be_down');
    assert.deepEqual(down.servers, { total: 2, up: 0, down: 2, maint: 0, drain: 0, nolb: 0, unknown: 0, backup_up: 0 });
    assert.match(
      down.causes[0]?.evidence[0] ?? '',
      /^d1: DOWN for (under a second|\d+s); last check L4CON (Connection refused|Layer4 connection problem); address 127\.0\.0\.1:\d+$/,
    );
    assert.ok(backend(d, 'be_held').causes[0]?.fix.includes(`echo 'set server be_held/h1 state ready' | socat stdio ${haproxy.adminSocket}`));
    assert.deepEqual(
      d.backends.slice(0, 3).map((b) => b.verdict),
      ['failing', 'failing', 'failing'],
      'failing first',
    );
  });

  test('a fix command pasted into a shell changes what it says, through the admin socket', { skip: missingTool('socat', 'socat') ?? false }, async () => {
    const fix = backend(await explain(nosrv), 'be_held').causes[0]?.fix.find((f) => f.startsWith("echo 'set server be_held/h1 state ready'"));
    assert.ok(fix);
    const shell = spawnSync('sh', ['-c', fix], { encoding: 'utf8' });
    assert.equal(shell.status, 0, shell.stderr);
    assert.doesNotMatch(shell.stdout, /denied/i);
    try {
      await waitFor(async () => backend(await explain(nosrv), 'be_held').causes.length === 0, { timeoutMs: 5000, what: 'be_held served by h1 again' });
    } finally {
      await haproxy.admin('set server be_held/h1 state maint');
    }
  });

  test('a frontend without default_backend, read from the configuration file', async () => {
    const d = await explain(nosrv);
    const fe = d.frontends.find((f) => f.name === 'fe_routes');
    assert.deepEqual(
      fe?.risks.map((r) => r.code),
      ['no_default_backend'],
    );
    assert.ok(fe.risks[0]?.fix.includes(`haproxy -c -f ${haproxy.configPath}`));
  });

  test('metrics say the same as /explain', async () => {
    const { text } = await get(`${nosrv.url}/metrics`);
    assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_down",cause="servers_down"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_held",cause="servers_maint"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_empty",cause="no_servers"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_backup",cause="servers_down"}'), 0);
    assert.equal(sample(text, 'haproxy_backend_503_risk{proxy="be_backup",risk="last_server_up"}'), 1);
    assert.equal(sample(text, 'haproxy_frontend_503_risk{proxy="fe_routes",risk="no_default_backend"}'), 1);
  });

  test('checks failing with a large fall: the risk shows while the server is still UP', async () => {
    // HAProxy starts a server at health = rise, where one failure takes it DOWN; wait until a
    // passed check has lifted it to the top (20 failures from DOWN).
    await waitFor(async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_server_checks_until_down{proxy="be_failing",server="f1"}') === 20, {
      timeoutMs: 3000,
      what: 'f1 fully UP',
    });
    assert.deepEqual(codes(backend(await explain(nosrv), 'be_failing')), []);
    await failing.close();
    let seen: BackendDiagnosis | null = null;
    await waitFor(
      async () => {
        seen = backend(await explain(nosrv), 'be_failing');
        return seen.risks.some((r) => r.code === 'checks_failing');
      },
      { timeoutMs: 4000, intervalMs: 50, what: 'checks_failing on be_failing' },
    );
    const b = seen as unknown as BackendDiagnosis;
    assert.equal(b.servers.up, 2, 'HAProxy still has both servers UP');
    assert.equal(b.causes.length, 0);
    const risk = b.risks.find((r) => r.code === 'checks_failing');
    assert.match(
      risk?.summary ?? '',
      /^f1 in be_failing is failing health checks \(L4CON Connection refused\): \d+ more failed checks \(about [\d.]+m?s\) and HAProxy marks it DOWN\./,
    );
  });
});

describe('maxconn 1 with a slow backend', { skip: missing ?? false }, () => {
  test('near_maxconn, then queueing and pool_exhausted', async () => {
    const slow = await startBackend({ delayMs: 1500 });
    const frontendPort = await freePort();
    const haproxy = await startHaproxy({
      defaultsLines: '    timeout queue 5s',
      proxies: `frontend fe\n    bind 127.0.0.1:${frontendPort}\n    default_backend be_slow\nbackend be_slow\n    server s1 127.0.0.1:${slow.port} maxconn 1\n`,
    });
    const nosrv = await startNosrv([`--haproxy.socket=${haproxy.userSocket}`]);
    const requests: Array<Promise<unknown>> = [];
    try {
      requests.push(fetch(`http://127.0.0.1:${frontendPort}/one`).then((r) => r.text()));
      let risks: string[] = [];
      await waitFor(async () => ((risks = codes(backend(await explain(nosrv), 'be_slow'))), risks.includes('risk:near_maxconn')), {
        timeoutMs: 1200,
        intervalMs: 50,
        what: 'near_maxconn',
      });
      assert.deepEqual(risks, ['risk:last_server_up', 'risk:near_maxconn']);
      for (let i = 0; i < 3; i++) requests.push(fetch(`http://127.0.0.1:${frontendPort}/more${i}`).then((r) => r.text()));
      let b: BackendDiagnosis | null = null;
      await waitFor(async () => ((b = backend(await explain(nosrv), 'be_slow')), b.causes.length > 0), {
        timeoutMs: 1200,
        intervalMs: 50,
        what: 'pool_exhausted',
      });
      const exhausted = b as unknown as BackendDiagnosis;
      assert.deepEqual(codes(exhausted), ['cause:pool_exhausted', 'risk:last_server_up', 'risk:near_maxconn', 'risk:queueing']);
      assert.ok(exhausted.causes[0]?.evidence.includes('s1: 1/1 sessions (maxconn)'));
      assert.match(exhausted.causes[0]?.evidence.at(-1) ?? '', /^[1-3] queued in the backend/);
      const { text } = await get(`${nosrv.url}/metrics`);
      assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_slow",cause="pool_exhausted"}'), 1);
      assert.equal(sample(text, 'haproxy_backend_503_risk{proxy="be_slow",risk="queueing"}'), 1);
    } finally {
      await Promise.allSettled(requests);
      await nosrv.stop();
      await haproxy.stop();
      await slow.close();
    }
  });
});

describe('reloads through the master CLI (haproxy -W -S)', { skip: missing ?? false }, () => {
  test('an old worker, then a failed reload', async () => {
    const frontendPort = await freePort();
    const haproxy = await startHaproxy({
      masterWorker: true,
      defaultsLines: '    timeout client 30s',
      proxies: `frontend fe\n    bind 127.0.0.1:${frontendPort}\n    default_backend be\nbackend be\n    server s1 127.0.0.1:${await freePort()}\n`,
    });
    const nosrv = await startNosrv([
      `--haproxy.socket=${haproxy.userSocket}`,
      `--haproxy.master-socket=${haproxy.masterSocket}`,
      `--haproxy.config=${haproxy.configPath}`,
    ]);
    const held = net.connect({ port: frontendPort, host: '127.0.0.1' });
    try {
      await new Promise<void>((resolve) =>
        held.once('connect', () => {
          resolve();
        }),
      );
      assert.deepEqual((await explain(nosrv)).process, { verdict: 'ok', known: true, causes: [], risks: [] });

      haproxy.reload();
      let d: Diagnosis | null = null;
      await waitFor(async () => ((d = await explain(nosrv)), d.process.risks.length > 0), { timeoutMs: 5000, what: 'an old worker' });
      const afterGood = (d as unknown as Diagnosis).process;
      assert.deepEqual([afterGood.causes.map((c) => c.code), afterGood.risks.map((r) => r.code)], [[], ['old_workers']]);

      haproxy.reload(`${readFileSync(haproxy.configPath, 'utf8')}\nthis is not a directive\n`);
      await waitFor(async () => ((d = await explain(nosrv)), d.process.causes.length > 0), { timeoutMs: 5000, what: 'the failed reload' });
      const afterBad = (d as unknown as Diagnosis).process;
      assert.equal(afterBad.verdict, 'failing');
      assert.deepEqual(
        afterBad.causes.map((c) => c.code),
        ['failed_reload'],
      );
      assert.deepEqual(afterBad.causes[0]?.fix, [`haproxy -c -f ${haproxy.configPath}`, 'systemctl reload haproxy']);
      const { text } = await get(`${nosrv.url}/metrics`);
      assert.equal(sample(text, 'haproxy_process_503_cause{cause="failed_reload"}'), 1);
      assert.equal(sample(text, 'haproxy_process_503_risk{risk="old_workers"}'), 1);
    } finally {
      held.destroy();
      await nosrv.stop();
      await haproxy.stop();
    }
  });
});
