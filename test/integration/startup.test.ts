// What the user must fix is said at start, one line per problem naming the flag or file, with
// exit 2 and no stack trace: the real `nosrv` command, against real ports, files and folders.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { labTmpdir } from '../support/lab.js';
import { MAIN } from '../support/nosrv.js';

/** Runs nosrv until it exits (a start that does not fail is stopped by the timeout, and fails the test). */
function nosrv(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr });
    });
    child.stdin?.end();
  });
}

function assertRefused(result: { code: number | null; stderr: string }, said: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, said);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

test('addresses, files and folders the system refuses: exit 2, naming the flag', async () => {
  const dir = mkdtempSync(path.join(labTmpdir(), 'nosrv-start-'));
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as net.AddressInfo).port;
  const notPem = path.join(dir, 'web.yml');
  writeFileSync(notPem, `tls_server_config:\n  cert_file: ${path.join(dir, 'web.yml')}\n  key_file: ${path.join(dir, 'web.yml')}\n`);
  const socket = `--haproxy.socket=${path.join(dir, 'none.sock')}`;
  try {
    assertRefused(
      await nosrv([socket, `--web.listen-address=127.0.0.1:${port}`]),
      /^nosrv: --web\.listen-address=127\.0\.0\.1:\d+: the address is in use by another process\n$/,
    );
    assertRefused(
      await nosrv([socket, '--web.listen-address=nosuchhost.invalid:0']),
      /--web\.listen-address=nosuchhost\.invalid:0: the host name does not resolve/,
    );
    assertRefused(
      await nosrv([socket, '--web.listen-address=127.0.0.1:0', `--logs.listen=unixgram:${path.join(dir, 'missing', 'log.sock')}`]),
      /--logs\.listen=unixgram:.*missing\/log\.sock: the folder does not exist/,
    );
    assertRefused(
      await nosrv([socket, '--web.listen-address=127.0.0.1:0', `--web.config.file=${notPem}`]),
      /--web\.config\.file=.*web\.yml: the certificate or key cannot be used/,
    );
  } finally {
    taken.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('values that cannot mean anything: an emptied setting, an empty socket path, a duration no timer holds', async () => {
  assertRefused(
    await nosrv(['--haproxy.socket=', '--web.listen-address=127.0.0.1:0']),
    /--haproxy\.socket is empty: give it a value, or leave it out for \/run\/haproxy\/admin\.sock/,
  );
  assertRefused(await nosrv(['--haproxy.socket=unix:', '--web.listen-address=127.0.0.1:0']), /--haproxy\.socket=unix:: the socket path is empty/);
  assertRefused(await nosrv(['--haproxy.timeout=3000000s', '--web.listen-address=127.0.0.1:0']), /--haproxy\.timeout=3000000s: must be at most 596h/);
});
