// The client against a local Unix socket that answers like HAProxy (captured answers), so each
// failure can be made on purpose. The real HAProxy is in test/integration.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { HaproxyReadError } from '../src/haproxy/errors.js';
import { AnswerSplitter, parseRuntimeApiAddress, runShowCommands } from '../src/haproxy/runtimeApi.js';
import { SocketSource } from '../src/haproxy/source.js';
import { answers, fixture } from './support/fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-client-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;

/** A socket that reads the request line, then does what `respond` says. */
async function fakeHaproxy(respond: (socket: net.Socket, request: string) => void): Promise<{ path: string; requests: string[]; close: () => Promise<void> }> {
  const socketPath = path.join(dir, `s${n++}.sock`);
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      if (buffer.includes('\n')) {
        requests.push(buffer.trim());
        respond(socket, buffer.trim());
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    path: socketPath,
    requests,
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

const soon = (): { deadline: number; maxBytes: number } => ({ deadline: Date.now() + 2000, maxBytes: 1024 * 1024 });

async function failure(promise: Promise<unknown>): Promise<HaproxyReadError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HaproxyReadError, `expected a HaproxyReadError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the read to fail');
}

describe('runtime API client', () => {
  test('sends every command on one line and splits the answers at their empty lines', async () => {
    const capture = fixture('haproxy-2.6.12-lab.txt');
    const fake = await fakeHaproxy((socket) => socket.end(capture));
    const answers = await runShowCommands({ kind: 'unix', path: fake.path }, ['show info', 'show stat', 'show servers state'], soon());
    assert.deepEqual(fake.requests, ['show info;show stat;show servers state']);
    assert.deepEqual(
      answers.map((a) => a.command),
      ['show info', 'show stat', 'show servers state'],
    );
    assert.match(answers[0]?.text ?? '', /^Name: HAProxy\n/);
    assert.match(answers[1]?.text ?? '', /^# pxname,svname,/);
    assert.match(answers[2]?.text ?? '', /^1\n# be_id /);
    assert.ok(answers.every((a) => a.seconds >= 0));
    await fake.close();
  });

  test('answers split across many small packets, and an empty answer', async () => {
    const body = 'a: 1\n\n\n1\n# be_id\n\n';
    const fake = await fakeHaproxy((socket) => {
      let i = 0;
      const drip = setInterval(() => {
        socket.write(body[i] ?? '');
        if (++i >= body.length) {
          clearInterval(drip);
          socket.end();
        }
      }, 1);
    });
    const answers = await runShowCommands({ kind: 'unix', path: fake.path }, ['show info', 'show x', 'show servers state'], soon());
    assert.deepEqual(
      answers.map((a) => a.text),
      ['a: 1\n', '', '1\n# be_id\n'],
    );
    await fake.close();
  });

  test('the answers and their whole lines, wherever the chunks end', () => {
    const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
      ['Name: HAProxy\nUptime: 1é\n\n# pxname,svname,\nbe,s1,\nbe,s2,\n\n\n', ['Name: HAProxy\nUptime: 1é\n', '# pxname,svname,\nbe,s1,\nbe,s2,\n', '']],
      ['\n\nx\n\n', ['', '', 'x\n']],
    ];
    for (const [text, expected] of cases) {
      const body = Buffer.from(text);
      // Every two places the stream can be cut, so a line can span three chunks.
      for (let first = 0; first <= body.length; first++) {
        for (let second = first; second <= body.length; second++) {
          const pieces = expected.map((): string[] => []);
          const splitter = new AnswerSplitter(
            ['show info', 'show stat', 'show x'],
            pieces.map((own) => ({ writeBytes: (lines: Uint8Array) => void own.push(Buffer.from(lines).toString('utf8')) })),
            'test',
          );
          for (const chunk of [body.subarray(0, first), body.subarray(first, second), body.subarray(second)]) splitter.take(chunk);
          const where = `${JSON.stringify(text)} cut at ${first} and ${second}`;
          assert.ok(splitter.done, where);
          assert.deepEqual(
            pieces.map((p) => p.join('')),
            expected,
            where,
          );
          assert.ok(
            pieces.flat().every((p) => p.endsWith('\n')),
            `${where}: only whole lines`,
          );
        }
      }
    }
  });

  test('a connection closed before the last empty line is "truncated", not data', async () => {
    const capture = fixture('haproxy-2.6.12-lab.txt');
    const fake = await fakeHaproxy((socket) => socket.end(capture.slice(0, capture.length - 500)));
    const err = await failure(runShowCommands({ kind: 'unix', path: fake.path }, ['show info', 'show stat', 'show servers state'], soon()));
    assert.equal(err.code, 'truncated');
    await fake.close();
  });

  test('a socket that never answers times out at the deadline', async () => {
    const fake = await fakeHaproxy(() => {});
    const started = Date.now();
    const err = await failure(runShowCommands({ kind: 'unix', path: fake.path }, ['show info'], { deadline: Date.now() + 200, maxBytes: 1000 }));
    assert.equal(err.code, 'timeout');
    assert.ok(Date.now() - started < 1500);
    await fake.close();
  });

  test('an answer over the size cap is refused', async () => {
    const fake = await fakeHaproxy((socket) => socket.end('x'.repeat(5000)));
    const err = await failure(runShowCommands({ kind: 'unix', path: fake.path }, ['show stat'], { deadline: Date.now() + 2000, maxBytes: 1000 }));
    assert.equal(err.code, 'answer_too_large');
    await fake.close();
  });

  test("HAProxy's own refusals: Permission denied and Unknown command", async () => {
    for (const [name, code] of [
      ['haproxy-2.6.12-permission-denied.txt', 'haproxy_permission_denied'],
      ['haproxy-2.6.12-unknown-command.txt', 'unknown_command'],
    ] as const) {
      const answer = fixture(name);
      const fake = await fakeHaproxy((socket) => socket.end(answer));
      const err = await failure(runShowCommands({ kind: 'unix', path: fake.path }, ['show stat'], soon()));
      assert.equal(err.code, code);
      await fake.close();
    }
  });

  test('a missing socket, a stale socket file and an unreadable one', async () => {
    assert.equal((await failure(runShowCommands({ kind: 'unix', path: path.join(dir, 'none.sock') }, ['show info'], soon()))).code, 'socket_missing');
    const stale = path.join(dir, 'stale.sock');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(stale, resolve));
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    writeFileSync(path.join(dir, 'plain-file.sock'), '');
    assert.equal((await failure(runShowCommands({ kind: 'unix', path: path.join(dir, 'plain-file.sock') }, ['show info'], soon()))).code, 'connection_refused');
  });

  test('only show commands can be sent', () => {
    for (const command of ['set server be/s state ready', 'show stat;set server be/s state ready', 'show stat\nclear counters', 'disable server be/s']) {
      assert.throws(() => runShowCommands({ kind: 'unix', path: '/nonexistent' }, [command], soon()), /only sends "show"/, command);
    }
    assert.doesNotThrow(() => runShowCommands({ kind: 'unix', path: '/nonexistent' }, ['@1 show info'], soon()).catch(() => {}));
  });

  test('a malformed answer becomes a read error with the command named', async () => {
    const { serversState } = answers('haproxy-2.6.12-lab.txt');
    const fake = await fakeHaproxy((socket, request) =>
      socket.end(request === 'show servers state' ? `${serversState}\n\n` : 'Name: HAProxy\n\nnot csv at all\n\n'),
    );
    try {
      const err = await failure(new SocketSource({ kind: 'unix', path: fake.path }).read(Date.now() + 2000));
      assert.equal(err.code, 'malformed_answer');
      assert.match(err.message, /show stat/);
    } finally {
      await fake.close();
    }
  });

  test('a malformed server line of show servers state, found when that server is built', async () => {
    const { info, stat, serversState } = answers('haproxy-2.6.12-lab.txt');
    // web2's srv_admin_state (the 7th field) becomes a word.
    const broken = serversState.replace(/^(\d+ be_ok \d+ web2 \S+ \d+ )\d+/m, '$1x');
    assert.notEqual(broken, serversState);
    const fake = await fakeHaproxy((socket, request) => socket.end(request === 'show servers state' ? `${broken}\n\n` : `${info}\n\n${stat}\n\n`));
    try {
      const err = await failure(new SocketSource({ kind: 'unix', path: fake.path }).read(Date.now() + 2000));
      assert.equal(err.code, 'malformed_answer');
      assert.match(err.message, /show servers state.*srv_admin_state is "x"/);
    } finally {
      await fake.close();
    }
  });
});

describe('socket addresses', () => {
  test('path, unix: and tcp://', () => {
    assert.deepEqual(parseRuntimeApiAddress('/run/haproxy/admin.sock'), { kind: 'unix', path: '/run/haproxy/admin.sock' });
    assert.deepEqual(parseRuntimeApiAddress('unix:/tmp/a.sock'), { kind: 'unix', path: '/tmp/a.sock' });
    assert.deepEqual(parseRuntimeApiAddress('tcp://127.0.0.1:9999'), { kind: 'tcp', host: '127.0.0.1', port: 9999 });
    assert.deepEqual(parseRuntimeApiAddress('tcp://[::1]:9999'), { kind: 'tcp', host: '::1', port: 9999 });
    assert.throws(() => parseRuntimeApiAddress('http://x:1/'), /unix:PATH or tcp/);
    assert.throws(() => parseRuntimeApiAddress('tcp://host'), /HOST:PORT/);
  });
});
