// A runtime API socket that lies, stalls or breaks off: what nosrv says must stay true. Each fault
// is a real Unix socket on this machine answering as HAProxy's CLI does (answers in order, each
// ended by an empty line), with one thing wrong.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { answers } from '../support/fixtures.js';
import { labTmpdir, waitFor } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startNosrv, type RunningNosrv } from '../support/nosrv.js';

const lab = answers('haproxy-2.6.12-lab.txt');

/** What the fake socket does with a command: an answer's text, or a way to fail. */
type Reply = string | { readonly hang: true } | { readonly half: string };
type Answerer = (command: string) => Reply;

/** The lab's answers, each command as HAProxy 2.6.12 answered it. */
const honest: Answerer = (command) => {
  if (command === 'show info') return lab.info;
  if (command === 'show stat') return lab.stat;
  if (command === 'show servers state') return lab.serversState;
  return `Unknown command: ${command}`;
};

interface FakeSocket {
  readonly path: string;
  answer: Answerer;
  close(): Promise<void>;
}

async function fakeRuntimeApi(answer: Answerer): Promise<FakeSocket> {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-fault-'));
  const socketPath = path.join(dir, 'api.sock');
  const connections = new Set<net.Socket>();
  const fake: FakeSocket = {
    path: socketPath,
    answer,
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    let request = '';
    socket.on('data', (chunk) => {
      request += chunk.toString();
      if (!request.includes('\n')) return;
      for (const command of request.trim().split(';')) {
        const reply = fake.answer(command.trim());
        if (typeof reply !== 'string') {
          if ('hang' in reply) return;
          socket.end(reply.half);
          return;
        }
        socket.write(`${reply.trimEnd()}\n\n`);
      }
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return fake;
}

async function withFake(answer: Answerer, flags: readonly string[], run: (fake: FakeSocket, nosrv: RunningNosrv) => Promise<void>): Promise<void> {
  const fake = await fakeRuntimeApi(answer);
  const nosrv = await startNosrv([`--haproxy.socket=${fake.path}`, '--haproxy.timeout=1s', '--watch.interval=1m', ...flags]);
  try {
    await run(fake, nosrv);
  } finally {
    await nosrv.stop();
    await fake.close();
  }
}

async function explainJson(
  nosrv: RunningNosrv,
): Promise<{ haproxy: { up: boolean; error: string | null }; backends: Array<{ name: string; verdict: string }> }> {
  return JSON.parse((await get(`${nosrv.url}/explain?format=json`)).text) as {
    haproxy: { up: boolean; error: string | null };
    backends: Array<{ name: string; verdict: string }>;
  };
}

const header = lab.stat.split('\n')[0] ?? '';
/** The lab's `show stat` with one more line, as HAProxy would never write it. */
const statWith =
  (line: string): Answerer =>
  (command) =>
    command === 'show stat' ? `${lab.stat.trimEnd()}\n${line}` : honest(command);

test('an answer nosrv cannot read whole is malformed_answer: haproxy_up 0, and no verdict from a part of it', async () => {
  const lies: ReadonlyArray<[string, Answerer]> = [
    ['a row of one cell', statWith('be_ghost')],
    [
      'a row of numbers',
      statWith(
        header
          .slice(2)
          .split(',')
          .map((_, i) => String(i))
          .join(','),
      ),
    ],
    ['two rows run together', statWith(`${lab.stat.split('\n')[3] ?? ''}${lab.stat.split('\n')[3] ?? ''}`)],
    ['a header without pxname,svname', (command) => (command === 'show stat' ? `# status,scur,\nUP,0,\n` : honest(command))],
    [
      'a count that is not a number',
      (command) => (command === 'show stat' ? lab.stat.replace(/^(be_ok,web1,(?:[^,]*,){2})[^,]*/m, '$1lots') : honest(command)),
    ],
  ];
  for (const [what, answer] of lies) {
    await withFake(answer, [], async (_fake, nosrv) => {
      const { status, text } = await get(`${nosrv.url}/metrics`);
      assert.equal(status, 200, what);
      assert.equal(sample(text, 'haproxy_up'), 0, what);
      assert.ok((sample(text, 'nosrv_read_errors_total{code="malformed_answer"}') ?? 0) >= 1, what);
      assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_ghost",cause="no_servers"}'), undefined, what);
      const explain = await explainJson(nosrv);
      assert.equal(explain.haproxy.up, false, what);
      assert.match(explain.haproxy.error ?? '', /show stat/, what);
      assert.deepEqual(explain.backends, [], `${what}: no backend is judged`);
    });
  }
});

test('after a good read, a malformed one is not presented as current: the last verdicts are gone', async () => {
  await withFake(honest, [], async (fake, nosrv) => {
    assert.equal(sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up'), 1);
    assert.ok((await explainJson(nosrv)).backends.length > 0);
    fake.answer = statWith('be_ghost');
    const text = (await get(`${nosrv.url}/metrics`)).text;
    assert.equal(sample(text, 'haproxy_up'), 0);
    assert.equal(sample(text, 'haproxy_backend_up_servers{proxy="be_ok"}'), undefined, 'no series of the last good read');
    assert.deepEqual((await explainJson(nosrv)).backends, []);
  });
});

test('a socket that accepts and never answers, and one that stops half way: timeout and truncated, still serving', async () => {
  await withFake(
    () => ({ hang: true }),
    [],
    async (_fake, nosrv) => {
      const text = (await get(`${nosrv.url}/metrics`)).text;
      assert.equal(sample(text, 'haproxy_up'), 0);
      assert.ok((sample(text, 'nosrv_read_errors_total{code="timeout"}') ?? 0) >= 1);
    },
  );
  await withFake(
    (command) => (command === 'show stat' ? { half: lab.stat.slice(0, 700) } : honest(command)),
    [],
    async (_fake, nosrv) => {
      const text = (await get(`${nosrv.url}/metrics`)).text;
      assert.equal(sample(text, 'haproxy_up'), 0);
      assert.ok((sample(text, 'nosrv_read_errors_total{code="truncated"}') ?? 0) >= 1);
    },
  );
});

test('show stat failing while show servers state works: logged once when it starts, whatever the watcher polls', async () => {
  await withFake(
    (command) => (command === 'show stat' ? 'Permission denied' : honest(command)),
    ['--watch.interval=1s'],
    async (fake, nosrv) => {
      for (let i = 0; i < 3; i++) assert.equal(sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up'), 0);
      await waitFor(() => (nosrv.daemon.reader.pollCounts.get('observed') ?? 0) > 0, { timeoutMs: 5000, what: 'a poll of the watcher' });
      for (let i = 0; i < 3; i++) await get(`${nosrv.url}/metrics`);
      const warnings = nosrv.logs().filter((l) => l.level === 40);
      assert.deepEqual(
        warnings.map((l) => [l.msg, l.code]),
        [['cannot read HAProxy', 'haproxy_permission_denied']],
      );
      assert.equal(typeof warnings[0]?.reason, 'string');
      assert.equal(warnings[0]?.err, undefined, 'the stack only at debug level');
      assert.equal(nosrv.logs().filter((l) => l.msg === 'HAProxy can be read again').length, 0);
      fake.answer = honest;
      await waitFor(async () => sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up') === 1, { timeoutMs: 5000, what: 'haproxy_up 1' });
      assert.equal(nosrv.logs().filter((l) => l.msg === 'HAProxy can be read again').length, 1);
    },
  );
});
