// One read of HAProxy serves every scrape that arrives while it is in flight, and the watcher
// sees what happens between scrapes.

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import type { CollectOptions } from '../../src/config.js';
import { SocketSource, type Answers, type HaproxySource } from '../../src/haproxy/source.js';
import { createOwnRegistry } from '../../src/metrics/own.js';
import { HaproxyReader } from '../../src/reader.js';
import { buildSnapshot } from '../../src/snapshot.js';
import { buildApp } from '../../src/web/app.js';
import { Watcher } from '../../src/watcher.js';
import { missingTool, startBackend, startHaproxy, waitFor } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');
const DEFAULT_COLLECT: CollectOptions = { serverMetrics: new Set(['state', 'sessions', 'changes', 'traffic', 'errors']), backends: null, noMaint: false };

function serverLines(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('haproxy_server_'));
}

test('ten concurrent scrapes are served by one read of HAProxy', { skip: missing ?? false }, async () => {
  const backend = await startBackend();
  const haproxy = await startHaproxy({ proxies: `backend be\n    server s1 127.0.0.1:${backend.port}\n` });
  const real = new SocketSource({ kind: 'unix', path: haproxy.userSocket });
  let reads = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  // The real socket read, held until every scrape has arrived, and counted.
  const source: HaproxySource = {
    kind: real.kind,
    target: real.target,
    socat: real.socat,
    async read(deadline): Promise<Answers> {
      reads++;
      await gate;
      return real.read(deadline);
    },
    poll: (deadline) => real.poll(deadline),
  };
  const watcher = new Watcher();
  const reader = new HaproxyReader(source, watcher, pino({ level: 'silent' }), {
    timeoutMs: 5000,
    master: null,
    adminSocket: null,
    configFile: null,
    logs: null,
  });
  const server = http.createServer(buildApp({ reader, ownMetrics: createOwnRegistry(reader), collect: DEFAULT_COLLECT }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  try {
    const scrapes = Array.from({ length: 10 }, () => get(url));
    await waitFor(() => reads === 1, { timeoutMs: 2000, what: 'the first read to start' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    open();
    const answers = await Promise.all(scrapes);
    assert.equal(reads, 1);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.equal(sample(a.text, 'haproxy_up'), 1);
      assert.equal(sample(a.text, 'haproxy_backend_up_servers{proxy="be"}'), 1);
      // Every scrape renders the series of the one read.
      assert.equal(sample(a.text, 'haproxy_server_state{proxy="be",server="s1",state="up"}'), 1);
      assert.deepEqual(serverLines(a.text), serverLines((answers[0] as { text: string }).text));
    }
  } finally {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    await haproxy.stop();
    await backend.close();
  }
});

test('a read is its own: the next read leaves what it said as it was', { skip: missing ?? false }, async () => {
  const backend = await startBackend();
  const haproxy = await startHaproxy({ proxies: `backend be\n    server s1 127.0.0.1:${backend.port}\n` });
  const source = new SocketSource({ kind: 'unix', path: haproxy.userSocket });
  try {
    const first = buildSnapshot(await source.read(Date.now() + 5000));
    const s1 = first.backends[0]?.servers[0];
    assert.equal(s1?.address, `127.0.0.1:${backend.port}`, 'from show servers state: the user socket leaves addr empty');
    await haproxy.admin('set server be/s1 state maint');
    const second = buildSnapshot(await source.read(Date.now() + 5000));
    assert.deepEqual([s1.name, s1.state, s1.address, first.stat.cell(s1.row, 1)], ['s1', 'up', `127.0.0.1:${backend.port}`, 's1']);
    assert.equal(second.backends[0]?.servers[0]?.state, 'maint');

    // Two reads at once both read right.
    const both = await Promise.all([source.read(Date.now() + 5000), source.read(Date.now() + 5000)]);
    for (const answers of both) {
      const snapshot = buildSnapshot(answers);
      const server = snapshot.backends[0]?.servers[0];
      assert.ok(server);
      assert.deepEqual([snapshot.stat.cell(server.row, 1), server.address], ['s1', `127.0.0.1:${backend.port}`]);
    }
  } finally {
    await haproxy.stop();
    await backend.close();
  }
});

test("a scrape's own deadline (X-Prometheus-Scrape-Timeout-Seconds) bounds its wait", { skip: missing ?? false }, async () => {
  const haproxy = await startHaproxy({ proxies: 'backend be\n' });
  const real = new SocketSource({ kind: 'unix', path: haproxy.userSocket });
  const source: HaproxySource = { kind: real.kind, target: real.target, socat: real.socat, read: () => new Promise(() => {}), poll: (d) => real.poll(d) };
  const watcher = new Watcher();
  const reader = new HaproxyReader(source, watcher, pino({ level: 'silent' }), {
    timeoutMs: 30_000,
    master: null,
    adminSocket: null,
    configFile: null,
    logs: null,
  });
  const server = http.createServer(buildApp({ reader, ownMetrics: createOwnRegistry(reader), collect: DEFAULT_COLLECT }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const started = Date.now();
    const { status, text } = await get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, { 'X-Prometheus-Scrape-Timeout-Seconds': '0.5' });
    assert.equal(status, 200);
    assert.equal(sample(text, 'haproxy_up'), 0);
    assert.ok(Date.now() - started < 2000, 'answered within the scrape timeout, not --haproxy.timeout');
  } finally {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    await haproxy.stop();
  }
});

test('an outage shorter than the scrape interval is counted by the watcher', { skip: missing ?? false }, async () => {
  let backend = await startBackend();
  const port = backend.port;
  const haproxy = await startHaproxy({ proxies: `backend be_flap\n    server s1 127.0.0.1:${port} check inter 100ms fall 1 rise 1\n` });
  const nosrv = await startNosrv([`--haproxy.socket=${haproxy.userSocket}`, '--watch.interval=1s']);
  try {
    await waitFor(async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_backend_up_servers{proxy="be_flap"}') === 1, {
      timeoutMs: 3000,
      what: 'be_flap up',
    });
    const before = (await get(`${nosrv.url}/metrics`)).text;
    assert.equal(sample(before, 'haproxy_server_state_changes_total{proxy="be_flap",server="s1",to="down"}'), 0);

    // The outage: long enough for the 1 s watcher to see it, with no scrape during it.
    await backend.close();
    await new Promise((resolve) => setTimeout(resolve, 2600));
    backend = await startBackend({ port });
    await waitFor(async () => (await haproxy.admin('show servers state be_flap')).includes(' be_flap 1 s1 127.0.0.1 2 '), {
      timeoutMs: 3000,
      what: 's1 UP again',
    });

    const after = (await get(`${nosrv.url}/metrics`)).text;
    assert.equal(sample(after, 'haproxy_backend_no_up_servers{proxy="be_flap"}'), 0, 'the scrape itself sees nothing wrong');
    assert.ok((sample(after, 'haproxy_backend_no_up_servers_seconds_total{proxy="be_flap"}') ?? 0) >= 1, after);
    assert.equal(sample(after, 'haproxy_server_state_changes_total{proxy="be_flap",server="s1",to="down"}'), 1);
    assert.equal(sample(after, 'haproxy_server_state_changes_total{proxy="be_flap",server="s1",to="up"}'), 1);
  } finally {
    await nosrv.stop();
    await haproxy.stop();
    await backend.close();
  }
});

test("the watcher's polls stay below 1% of HAProxy's time: a slow answer spaces the next poll", { skip: missing ?? false }, async () => {
  const haproxy = await startHaproxy({ proxies: 'backend be\n    server s1 127.0.0.1:1 disabled\n' });
  const real = new SocketSource({ kind: 'unix', path: haproxy.userSocket });
  // The real answer, said to have taken 50 ms: at most 1% of the time means no poll for 5 s.
  let answerSeconds = 0.05;
  const source: HaproxySource = {
    kind: real.kind,
    target: real.target,
    socat: real.socat,
    read: (deadline) => real.read(deadline),
    poll: async (deadline) => ({ ...(await real.poll(deadline)), answerSeconds }),
  };
  const options = { timeoutMs: 5000, master: null, adminSocket: null, configFile: null, logs: null };
  const reader = new HaproxyReader(source, new Watcher(), pino({ level: 'silent' }), options);
  try {
    assert.equal(await reader.poll(), 'observed');
    assert.equal(await reader.poll(), 'skipped_share');
    assert.equal(await reader.poll(), 'skipped_share');
    const own = await createOwnRegistry(reader).metrics();
    assert.match(own, /nosrv_watcher_polls_total\{result="observed"\} 1\n/);
    assert.match(own, /nosrv_watcher_polls_total\{result="skipped_share"\} 2\n/);

    // A quick answer spaces nothing; a poll asked while one runs is skipped.
    answerSeconds = 0;
    const quick = new HaproxyReader(source, new Watcher(), pino({ level: 'silent' }), options);
    assert.equal(await quick.poll(), 'observed');
    const [first, second] = [quick.poll(), quick.poll()];
    assert.deepEqual([await first, await second], ['observed', 'skipped_busy']);

    // The spacing follows the median of the last answers: one slow answer does not stop the
    // watcher, answers that stay slow do.
    answerSeconds = 0.05;
    assert.equal(await quick.poll(), 'observed', 'before it, answers of 0 and 0 s');
    assert.equal(await quick.poll(), 'observed', 'before it, answers of 0, 0 and 0.05 s: the median is 0');
    assert.equal(await quick.poll(), 'skipped_share', 'before it, answers of 0, 0, 0.05 and 0.05 s');

    // A poll overlapped by a full read (a scrape) times nosrv's work as much as HAProxy's: its
    // time does not space the next poll.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const overlapped = new HaproxyReader(
      { ...source, poll: async (deadline) => (await held, { ...(await real.poll(deadline)), answerSeconds: 0.5 }) },
      new Watcher(),
      pino({ level: 'silent' }),
      options,
    );
    const poll = overlapped.poll();
    const read = overlapped.read();
    release();
    assert.equal(await poll, 'observed');
    assert.equal((await read).ok, true);
    assert.equal(await overlapped.poll(), 'observed', 'the 0.5 s answer, taken while a read ran, is not counted');
  } finally {
    await haproxy.stop();
  }
});
