// `npm run demo` without flags: a real HAProxy on loopback with one healthy backend and one of
// each kind of trouble, nosrv reading it through a `level user` socket, and the URLs to open.
// Ctrl-C stops everything it started.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../test/support/lab.js';
import { startAlertmanager, startPrometheus, startReceiver } from '../test/support/monitoring.js';
import { RULE_DEFAULTS, ruleFileText } from '../src/rules/ruleFile.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function portOr(preferred: number): Promise<number> {
  const net = await import('node:net');
  const free = await new Promise<boolean>((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => {
      resolve(false);
    });
    probe.listen(preferred, '127.0.0.1', () =>
      probe.close(() => {
        resolve(true);
      }),
    );
  });
  return free ? preferred : freePort();
}

/** HAProxy on loopback with one healthy backend and one of each kind of trouble, and the demo's backends. */
async function startTroubledHaproxy(): Promise<{ haproxy: Haproxy; backends: Backend[]; frontendPort: number }> {
  const [web1, web2, web3] = [await startBackend(), await startBackend(), await startBackend()];
  const slow = await startBackend({ delayMs: 2000 });
  const dead = await freePort();
  const frontendPort = await freePort();
  const partnerPort = await freePort();
  const haproxy = await startHaproxy({
    masterWorker: true,
    defaultsLines: '    timeout queue 1s\n    default-server inter 1s fall 3 rise 2',
    proxies: `
frontend fe_demo
    bind 127.0.0.1:${frontendPort}
    use_backend be_api if { path_beg /api }
    use_backend be_search if { path_beg /search }
    use_backend be_checkout if { path_beg /checkout }
    use_backend be_legacy if { path_beg /legacy }
    use_backend be_reports if { path_beg /reports }
    default_backend be_shop
frontend fe_partners
    bind 127.0.0.1:${partnerPort}
    use_backend be_api if { path_beg /v1 }
backend be_shop
    server web1 127.0.0.1:${web1.port} check
    server web2 127.0.0.1:${web2.port} check
backend be_api
    server api1 127.0.0.1:${dead} check
    server api2 127.0.0.1:${dead} check
backend be_search
    server search1 127.0.0.1:${web1.port} check
    server search2 127.0.0.1:${web2.port} check
backend be_checkout
    server pay1 127.0.0.1:${slow.port} check maxconn 1
backend be_legacy
    server old1 127.0.0.1:${web3.port} check
backend be_reports
`,
  });
  await haproxy.admin('set server be_search/search2 state maint');
  await haproxy.admin('set server be_legacy/old1 state drain');
  return { haproxy, backends: [web1, web2, web3, slow], frontendPort };
}

/** What the demo prints once everything answers: where to look, what is wrong, how to break and mend it. */
function guide(
  haproxy: Haproxy,
  port: number,
  frontendPort: number,
  flags: readonly string[],
  urls: { prometheus: string; alertmanager: string; receiver: string },
): string {
  const admin = `socat stdio ${haproxy.adminSocket}`;
  return `
nosrv is watching a demo HAProxy (${haproxy.userSocket}, level user).

  explain      http://127.0.0.1:${port}/explain   (why HAProxy answers 503, and the fix)
  metrics      http://127.0.0.1:${port}/metrics
  home         http://127.0.0.1:${port}/
  runbooks     http://127.0.0.1:${port}/runbooks/
  HAProxy      http://127.0.0.1:${frontendPort}/  (try /api, /search, /checkout, /legacy, /reports)

Alerts (deploy/prometheus/nosrv.rules.yml and deploy/alertmanager/alertmanager.yml, as shipped):
  nosrv's own  http://127.0.0.1:${port}/alerts   (sent to Alertmanager seconds after a 503 starts)
  Prometheus   ${urls.prometheus}/alerts   (the rules: about a minute after a 503 starts)
  Alertmanager ${urls.alertmanager}/
  sent         ${urls.receiver}/   (what PagerDuty, Slack and the heartbeat would receive)

What is wrong on purpose:
  be_api       every server DOWN (nothing listens): 503 now
  be_reports   no server at all: 503 now
  be_legacy    its only server left in DRAIN: 503 now
  be_search    one server in MAINT, one left UP: one failure away from 503
  be_checkout  one slow server with maxconn 1: parallel requests queue, then 503
  fe_partners  use_backend without default_backend: unmatched requests get 503

Break and mend it through the admin socket, for example:
  echo 'set server be_shop/web1 state maint' | ${admin}
  echo 'set server be_search/search2 state ready' | ${admin}

  ${path.join(here, '../src/main.js')} explain ${flags.slice(0, 4).join(' ')}
  curl -s http://127.0.0.1:${port}/metrics | grep -E '^haproxy_backend_503_cause.* 1$'
  kill -USR2 ${haproxy.pid}   # reload HAProxy (break ${haproxy.configPath} first to see a failed reload)

Ctrl-C stops nosrv, HAProxy (pid ${haproxy.pid}), Prometheus, Alertmanager and the demo backends.
`;
}

async function main(): Promise<void> {
  const { haproxy, backends, frontendPort } = await startTroubledHaproxy();
  // The alerting pipeline of the README, with the receivers pointed at a page the demo serves;
  // nosrv sends its own alerts there too, and Prometheus evaluates the rules.
  const receiver = await startReceiver({ port: await portOr(9095) });
  const alertmanager = await startAlertmanager(path.join(here, '../../deploy/alertmanager/alertmanager.yml'), receiver.url);
  const port = await portOr(9503);
  const flags = [
    `--haproxy.socket=${haproxy.userSocket}`,
    `--haproxy.master-socket=${haproxy.masterSocket}`,
    `--haproxy.admin-socket=${haproxy.adminSocket}`,
    `--haproxy.config=${haproxy.configPath}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.external-url=http://127.0.0.1:${port}`,
    `--alertmanager.url=${alertmanager.url}`,
  ];
  const nosrv = spawn(path.join(here, '../src/main.js'), flags, {
    stdio: 'inherit',
  });
  const prometheus = await startPrometheus({
    targets: [`127.0.0.1:${port}`],
    rules: ruleFileText(RULE_DEFAULTS),
    alertmanager: alertmanager.address,
    interval: '5s',
  });
  const stop = async (): Promise<void> => {
    if (nosrv.pid !== undefined && nosrv.exitCode === null) process.kill(nosrv.pid, 'SIGTERM');
    await prometheus.stop();
    await alertmanager.stop();
    await receiver.close();
    await haproxy.stop();
    for (const b of backends) await b.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  nosrv.once('exit', () => void stop());
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null))?.status === 200, {
    timeoutMs: 10_000,
    what: 'nosrv to be ready',
  });
  process.stdout.write(guide(haproxy, port, frontendPort, flags, { prometheus: prometheus.url, alertmanager: alertmanager.url, receiver: receiver.url }));
}

main().catch((err: unknown) => {
  process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
