// A runtime API socket that lies, stalls or breaks off: what nosrv says must stay true. Each fault
// is a real Unix socket on this machine answering as HAProxy's CLI does (answers in order, each
// ended by an empty line), with one thing wrong.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { procStatus } from '../../bench/lab.js';
import { answers } from '../support/fixtures.js';
import { labTmpdir, waitFor } from '../support/lab.js';
import { get, sample } from '../support/metrics.js';
import { startCommand, startNosrv, type RunningNosrv } from '../support/nosrv.js';

const lab = answers('haproxy-2.6.12-lab.txt');

/** What the fake socket does with a command: an answer's text, or a way to fail. */
type Reply =
  | string
  | { readonly hang: true }
  | { readonly half: string }
  | { readonly late: string; readonly afterMs: number }
  /** `line(0)`, `line(1)`, ... as fast as the reader takes them, until `bytes` are written or it hangs up. */
  | { readonly flood: (i: number) => string; readonly bytes: number };
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
  /** Bytes of floods written so far. */
  written: number;
  close(): Promise<void>;
}

async function fakeRuntimeApi(answer: Answerer): Promise<FakeSocket> {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-fault-'));
  const socketPath = path.join(dir, 'api.sock');
  const connections = new Set<net.Socket>();
  const fake: FakeSocket = {
    path: socketPath,
    answer,
    written: 0,
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
    const answerAll = async (commands: readonly string[]): Promise<void> => {
      for (const command of commands) {
        const reply = fake.answer(command);
        if (typeof reply === 'string') socket.write(`${reply.trimEnd()}\n\n`);
        else if ('hang' in reply) return;
        else if ('half' in reply) {
          socket.end(reply.half);
          return;
        } else if ('late' in reply) {
          await new Promise((resolve) => setTimeout(resolve, reply.afterMs));
          socket.write(`${reply.late.trimEnd()}\n\n`);
        } else {
          for (let i = 0, written = 0; written < reply.bytes && !socket.destroyed; i++) {
            const line = reply.flood(i);
            written += line.length;
            fake.written += line.length;
            if (!socket.write(line))
              await new Promise<void>((resolve) => {
                const go = (): void => {
                  socket.off('drain', go).off('close', go);
                  resolve();
                };
                socket.on('drain', go).on('close', go);
              });
          }
          socket.write('\n');
        }
      }
      socket.end();
    };
    socket.on('data', (chunk) => {
      if (request.includes('\n')) return;
      request += chunk.toString();
      if (request.includes('\n'))
        void answerAll(
          request
            .trim()
            .split(';')
            .map((c) => c.trim()),
        );
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

async function explainJson(nosrv: {
  readonly url: string;
}): Promise<{ haproxy: { up: boolean; error: string | null }; backends: Array<{ name: string; verdict: string }> }> {
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
    ['a header without the status column', (command) => (command === 'show stat' ? `# pxname,svname,scur,\nbe_ok,web1,0,\n` : honest(command))],
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

test('an answer of a gigabyte: answer_too_large once past 64 MiB, the connection dropped, and the memory given back', async () => {
  const fake = await fakeRuntimeApi(honest);
  // The real command, with the memory settings of its first line.
  const nosrv = await startCommand([`--haproxy.socket=${fake.path}`, '--haproxy.timeout=30s', '--watch.interval=1m']);
  try {
    for (let i = 0; i < 5; i++) assert.equal(sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up'), 1);
    const before = procStatus(nosrv.pid, 'VmRSS');
    const row = lab.stat.split('\n').find((l) => l.startsWith('be_ok,web1,')) ?? '';
    fake.answer = (command) =>
      command === 'show stat' ? { flood: (i) => (i === 0 ? `${header}\n` : `${row.replace('web1', `web${i}`)}\n`), bytes: 2 ** 30 } : honest(command);
    const text = (await get(`${nosrv.url}/metrics`)).text;
    assert.equal(sample(text, 'haproxy_up'), 0);
    assert.equal(sample(text, 'nosrv_read_errors_total{code="answer_too_large"}'), 1);
    assert.ok(fake.written < 2 ** 27, `nosrv hung up after ${fake.written} bytes, not far past 64 MiB`);
    assert.match((await explainJson(nosrv)).haproxy.error ?? '', /passed 67108864 bytes/);
    fake.answer = honest;
    for (let i = 0; i < 5; i++) assert.equal(sample((await get(`${nosrv.url}/metrics`)).text, 'haproxy_up'), 1);
    let after = procStatus(nosrv.pid, 'VmRSS');
    await waitFor(
      async () => {
        await get(`${nosrv.url}/metrics`);
        after = procStatus(nosrv.pid, 'VmRSS');
        // The first 4 MiB of each answer, and its comma positions, stay in glibc's heap for the next reads.
        return after < before + 40;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: `RSS back near ${before.toFixed(0)} MB` },
    ).catch(() => assert.fail(`RSS ${after.toFixed(0)} MB, ${before.toFixed(0)} MB before the gigabyte`));
  } finally {
    await nosrv.stop();
    await fake.close();
  }
});

test('SIGTERM during a scrape: the scrape is answered, an idle connection does not hold the stop, and nosrv exits 0', async () => {
  const fake = await fakeRuntimeApi(honest);
  const nosrv = await startCommand([`--haproxy.socket=${fake.path}`, '--haproxy.timeout=5s', '--watch.interval=1m']);
  const agent = new http.Agent({ keepAlive: true });
  try {
    const scrape = (): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        http
          .get(`${nosrv.url}/metrics`, { agent }, (res) => {
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, text });
            });
          })
          .on('error', reject);
      });
    assert.equal((await scrape()).status, 200); // leaves a keep-alive connection idle
    let asked = false;
    fake.answer = (command) => {
      if (command !== 'show stat') return honest(command);
      asked = true;
      return { late: lab.stat, afterMs: 1500 };
    };
    const underWay = scrape();
    await waitFor(() => asked, { timeoutMs: 5000, intervalMs: 20, what: "the scrape's read of HAProxy" });
    const signalled = Date.now();
    process.kill(nosrv.pid, 'SIGTERM');
    const { status, text } = await underWay;
    assert.equal(status, 200);
    assert.equal(sample(text, 'haproxy_up'), 1, 'the read under way finished and was sent');
    assert.equal(await nosrv.exited, 0, nosrv.output());
    assert.ok(Date.now() - signalled < 5000, 'stopped once the scrape was sent, not held by the idle connection until the cut');
    assert.doesNotMatch(nosrv.output(), /"level":(40|50)/, 'no warning or error on the way out');
  } finally {
    agent.destroy();
    await nosrv.stop();
    await fake.close();
  }
});
