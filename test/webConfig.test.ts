import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadWebConfig, refuseClient } from '../src/webConfig.js';
import { freePort, missingTool, waitFor } from './support/lab.js';
import { startNosrv } from './support/nosrv.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-web-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const read = (p: string): string => readFileSync(p, 'utf8');

describe('--web.config.file', () => {
  test('every problem is named, unsupported settings are refused', () => {
    writeFileSync(
      path.join(dir, 'bad.yml'),
      'tls_server_config:\n  cert_file: nope.crt\n  client_auth_type: Sometimes\n  cipher_suites: [X]\nbasic_auth_users:\n  alice: plaintext\nrate_limit:\n  burst: 1\n',
    );
    assert.throws(
      () => loadWebConfig(path.join(dir, 'bad.yml'), read),
      (err: Error) =>
        /cipher_suites: not supported/.test(err.message) &&
        /rate_limit: not supported/.test(err.message) &&
        /key or key_file is required/.test(err.message) &&
        /cert_file: ENOENT/.test(err.message) &&
        /client_auth_type: expected one of/.test(err.message) &&
        /alice: not a bcrypt hash/.test(err.message),
    );
  });

  test('client certificate policies node cannot say alone', () => {
    assert.equal(refuseClient('RequireAnyClientCert', false, false), true);
    assert.equal(refuseClient('RequireAnyClientCert', true, false), false);
    assert.equal(refuseClient('VerifyClientCertIfGiven', true, false), true);
    assert.equal(refuseClient('VerifyClientCertIfGiven', false, false), false);
    assert.equal(refuseClient('NoClientCert', false, false), false);
  });

  test('TLS and basic auth, with paths relative to the file', async (t) => {
    const missing = missingTool('openssl', 'openssl');
    if (missing) {
      t.skip(missing);
      return;
    }
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'server.key'),
        '-out',
        path.join(dir, 'server.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    const hash = bcrypt.hashSync('s3cret', 4);
    writeFileSync(
      path.join(dir, 'web.yml'),
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  alice: "${hash}"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
    );
    const nosrv = await startNosrv([`--web.config.file=${path.join(dir, 'web.yml')}`, `--haproxy.socket=${path.join(dir, 'none.sock')}`]);
    const ca = read(path.join(dir, 'server.crt'));
    const request = (auth?: string): Promise<{ status: number; headers: Record<string, unknown> }> =>
      new Promise((resolve, reject) => {
        const req = https.get(
          `${nosrv.url.replace('http:', 'https:')}/healthz`,
          { ca, headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, headers: res.headers });
          },
        );
        req.on('error', reject);
      });
    try {
      assert.equal((await request()).status, 401);
      assert.equal((await request('alice:wrong')).status, 401);
      assert.equal((await request('mallory:s3cret')).status, 401);
      const ok = await request('alice:s3cret');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-frame-options'], 'deny');
    } finally {
      await nosrv.stop();
    }
  });
});

describe('--web.config.file read again on SIGHUP', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

  /** A fresh self-signed certificate for 127.0.0.1 in `name`.crt and `name`.key; its fingerprint. */
  function certificate(into: string): string {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${into}.key`,
        '-out',
        `${into}.crt`,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return new X509Certificate(readFileSync(`${into}.crt`)).fingerprint256;
  }

  /** The fingerprint of the certificate the server shows now. */
  function served(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
  }

  test(
    'a renewed certificate is served without a restart; a broken file keeps the last good one and says why',
    { skip: missingTool('openssl', 'openssl') ?? false },
    async () => {
      const home = mkdtempSync(path.join(tmpdir(), 'nosrv-reload-'));
      const first = certificate(path.join(home, 'server'));
      writeFileSync(path.join(home, 'web.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
      const port = await freePort();
      const child = spawn(
        path.join(root, 'dist/src/main.js'),
        [`--web.config.file=${path.join(home, 'web.yml')}`, `--haproxy.socket=${path.join(home, 'none.sock')}`, `--web.listen-address=127.0.0.1:${port}`],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      try {
        await waitFor(async () => (await served(port).catch(() => '')) === first, { timeoutMs: 10_000, what: 'nosrv serving the first certificate' });
        const renewed = certificate(path.join(home, 'server'));
        assert.notEqual(renewed, first);
        process.kill(child.pid as number, 'SIGHUP');
        await waitFor(async () => (await served(port)) === renewed, { timeoutMs: 5000, what: 'the renewed certificate' });
        writeFileSync(path.join(home, 'server.key'), 'not a key\n');
        writeFileSync(path.join(home, 'web.yml'), 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [x]\n');
        process.kill(child.pid as number, 'SIGHUP');
        await waitFor(() => output.includes('the last good one stays in force'), { timeoutMs: 5000, what: 'the reason logged' });
        assert.equal(await served(port), renewed, 'still serving the last good certificate');
        assert.match(output, /cipher_suites/);
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
        rmSync(home, { recursive: true, force: true });
      }
    },
  );
});
