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

/** Writes `haproxy-<version>-<name>` into test/fixtures/; one already there is kept unless `overwrite`. */
function fixtureWriter(version: string, overwrite: boolean): (name: string, text: string) => void {
  return (name, text) => {
    const file = path.join(FIXTURES, `haproxy-${version}-${name}`);
    if (existsSync(file) && !overwrite) return void process.stdout.write(`kept test/fixtures/haproxy-${version}-${name}\n`);
    writeFileSync(file, text);
    process.stdout.write(`wrote test/fixtures/haproxy-${version}-${name}\n`);
  };
}

/** A syslog listener on loopback that keeps every line it receives. */
async function listenSyslog(): Promise<{ port: number; lines: string[]; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (m) => lines.push(m.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, lines, close: () => socket.close() };
}

/** The lab configuration of the 2.6.12 captures, on this run's ports. */
function labProxies(ports: { fe: number; nodefault: number; web1: number; web2: number; dead: number }): string {
  const template = readFileSync(path.join(FIXTURES, 'haproxy-2.6.12-lab.cfg'), 'utf8');
  return template
    .slice(template.indexOf('frontend fe_main'))
    .replace('127.0.0.1:49953', `127.0.0.1:${ports.fe}`)
    .replace('127.0.0.1:33343', `127.0.0.1:${ports.nodefault}`)
    .replaceAll('127.0.0.1:56677', `127.0.0.1:${ports.web1}`)
    .replaceAll('127.0.0.1:40801', `127.0.0.1:${ports.web2}`)
    .replaceAll('127.0.0.1:55735', `127.0.0.1:${ports.dead}`);
}

/** A request whose answer (HAProxy's own 503 among them) is read and thrown away, for the log lines. */
async function request(url: string): Promise<void> {
  await fetch(url, { headers: { connection: 'close' } }).then(
    (r) => r.arrayBuffer(),
    () => undefined,
  );
}

async function main(): Promise<void> {
  const write = fixtureWriter(haproxyVersion().replace(/-.*$/, ''), process.argv.includes('--overwrite'));
  const [web1, web2] = [await startBackend(), await startBackend()];
  const [logs, rfc5424] = [await listenSyslog(), await listenSyslog()];
  const [fe, nodefault, stats, dead] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const haproxy = await startHaproxy({
    masterWorker: true,
    globalLines: `    log 127.0.0.1:${logs.port} local0\n    log 127.0.0.1:${rfc5424.port} format rfc5424 local1`,
    defaultsLines: '    log global\n    option httplog\n    option log-health-checks\n    timeout queue 1s',
    proxies: `${labProxies({ fe, nodefault, web1: web1.port, web2: web2.port, dead })}\nlisten stats\n    bind 127.0.0.1:${stats}\n    stats enable\n    stats uri /stats\n`,
  });
  try {
    const master = haproxy.masterSocket;
    if (master === null) throw new Error('HAProxy started without its master CLI');
    await haproxy.admin('set server be_mixed/m_drain state drain');
    await haproxy.admin('set server be_ok/web2 state maint');
    await waitFor(async () => /be_api,api1,(?:[^,]*,){15}DOWN/.test(await haproxy.admin('show stat')), { timeoutMs: 10_000, what: 'be_api DOWN' });
    const answers = await Promise.all(['show info', 'show stat', 'show servers state'].map((c) => sendCommand(haproxy.userSocket, c)));
    write('lab.txt', answers.map((a) => (a.endsWith('\n\n') ? a : `${a}\n`)).join(''));
    write('show-proc-fresh.txt', await sendCommand(master, 'show proc'));
    write('stats-page.csv', await (await fetch(`http://127.0.0.1:${stats}/stats;csv`)).text());
    for (const p of ['/api/x', '/empty', '/ok']) await request(`http://127.0.0.1:${fe}${p}`);
    await request(`http://127.0.0.1:${nodefault}/nothing`);
    haproxy.reload(`${readFileSync(haproxy.configPath, 'utf8')}\nthis is not a directive\n`);
    await waitFor(async () => /\[failed: [1-9]|# old workers\n\d/.test(await sendCommand(master, 'show proc')), {
      timeoutMs: 10_000,
      what: 'the failed reload',
    });
    write('show-proc-failed-reload.txt', await sendCommand(master, 'show proc'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const keep = (l: string): boolean => !l.includes('Health check') || l.includes('is DOWN');
    write('syslog.txt', `${logs.lines.filter(keep).join('\n')}\n`);
    write(
      'syslog-rfc5424.txt',
      `${rfc5424.lines
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
