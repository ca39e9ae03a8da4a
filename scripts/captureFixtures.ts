// Captures the answers of a real HAProxy into test/fixtures/, named by its version: the lab's
// `show info;show stat;show servers state` (the configuration of haproxy-2.6.12-lab.cfg, settled),
// its stats page CSV, the master CLI's `show proc` fresh and after a failed reload, and the log
// lines it sends (RFC 3164 and RFC 5424). A file already there is kept unless --overwrite is given.
// The system's HAProxy, or the one in NOSRV_HAPROXY_ROOT (scripts/haproxy-roots.sh):
//   npm run -s build && NOSRV_HAPROXY_ROOT=~/.cache/nosrv-test/haproxy-roots/sid node dist/scripts/captureFixtures.js

import dgram from 'node:dgram';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, haproxyVersion, sendCommand, startBackend, startHaproxy, waitFor } from '../test/support/lab.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures');

async function main(): Promise<void> {
  const version = haproxyVersion().replace(/-.*$/, '');
  const overwrite = process.argv.includes('--overwrite');
  const write = (name: string, text: string): void => {
    const file = path.join(FIXTURES, `haproxy-${version}-${name}`);
    if (existsSync(file) && !overwrite) return void process.stdout.write(`kept test/fixtures/haproxy-${version}-${name}\n`);
    writeFileSync(file, text);
    process.stdout.write(`wrote test/fixtures/haproxy-${version}-${name}\n`);
  };
  const [web1, web2] = [await startBackend(), await startBackend()];
  const dead = await freePort();
  const logs = dgram.createSocket('udp4');
  const lines: string[] = [];
  logs.on('message', (m) => lines.push(m.toString()));
  await new Promise<void>((resolve) => logs.bind(0, '127.0.0.1', resolve));
  const rfc5424 = dgram.createSocket('udp4');
  const lines5424: string[] = [];
  rfc5424.on('message', (m) => lines5424.push(m.toString()));
  await new Promise<void>((resolve) => rfc5424.bind(0, '127.0.0.1', resolve));
  const [fe, nodefault, stats] = [await freePort(), await freePort(), await freePort()];
  // The lab configuration of the 2.6.12 captures, on this run's ports.
  const template = readFileSync(path.join(FIXTURES, 'haproxy-2.6.12-lab.cfg'), 'utf8');
  const proxies = template
    .slice(template.indexOf('frontend fe_main'))
    .replace('127.0.0.1:49953', `127.0.0.1:${fe}`)
    .replace('127.0.0.1:33343', `127.0.0.1:${nodefault}`)
    .replaceAll('127.0.0.1:56677', `127.0.0.1:${web1.port}`)
    .replaceAll('127.0.0.1:40801', `127.0.0.1:${web2.port}`)
    .replaceAll('127.0.0.1:55735', `127.0.0.1:${dead}`);
  const haproxy = await startHaproxy({
    masterWorker: true,
    globalLines: `    log 127.0.0.1:${(logs.address() as { port: number }).port} local0\n    log 127.0.0.1:${(rfc5424.address() as { port: number }).port} format rfc5424 local1`,
    defaultsLines: '    log global\n    option httplog\n    option log-health-checks\n    timeout queue 1s',
    proxies: `${proxies}\nlisten stats\n    bind 127.0.0.1:${stats}\n    stats enable\n    stats uri /stats\n`,
  });
  try {
    await haproxy.admin('set server be_mixed/m_drain state drain');
    await haproxy.admin('set server be_ok/web2 state maint');
    await waitFor(
      async () => (await haproxy.admin('show stat')).includes('be_api,api1,') && /be_api,api1,(?:[^,]*,){15}DOWN/.test(await haproxy.admin('show stat')),
      { timeoutMs: 10_000, what: 'be_api DOWN' },
    );
    const answers = await Promise.all(['show info', 'show stat', 'show servers state'].map((c) => sendCommand(haproxy.userSocket, c)));
    write('lab.txt', answers.map((a) => (a.endsWith('\n\n') ? a : `${a}\n`)).join(''));
    write('show-proc-fresh.txt', await sendCommand(haproxy.masterSocket as string, 'show proc'));
    write('stats-page.csv', await (await fetch(`http://127.0.0.1:${stats}/stats;csv`)).text());
    // Requests that end in HAProxy's own 503s, for the log lines.
    for (const p of ['/api/x', '/empty', '/ok'])
      await fetch(`http://127.0.0.1:${fe}${p}`, { headers: { connection: 'close' } }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    await fetch(`http://127.0.0.1:${nodefault}/nothing`, { headers: { connection: 'close' } }).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
    haproxy.reload(`${readFileSync(haproxy.configPath, 'utf8')}\nthis is not a directive\n`);
    await waitFor(async () => /\[failed: [1-9]|# old workers\n\d/.test(await sendCommand(haproxy.masterSocket as string, 'show proc')), {
      timeoutMs: 10_000,
      what: 'the failed reload',
    });
    write('show-proc-failed-reload.txt', await sendCommand(haproxy.masterSocket as string, 'show proc'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const keep = (l: string): boolean => !l.includes('Health check') || l.includes('is DOWN');
    write('syslog.txt', `${lines.filter(keep).join('\n')}\n`);
    write(
      'syslog-rfc5424.txt',
      `${lines5424
        .filter(keep)
        .map((l) => l.trimEnd())
        .join('\n')}\n`,
    );
  } finally {
    await haproxy.stop();
    await web1.close();
    await web2.close();
    logs.close();
    rfc5424.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`captureFixtures: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
