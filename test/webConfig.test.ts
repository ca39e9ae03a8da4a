import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadWebConfig, refuseClient } from '../src/web/webConfig.js';
import { missingTool } from './support/lab.js';
import { startNosrv } from './support/nosrv.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-web-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const read = (p: string): string => readFileSync(p, 'utf8');

describe('--web.config.file', () => {
  test('every problem is named, unsupported settings are refused', () => {
    writeFileSync(path.join(dir, 'bad.yml'), 'tls_server_config:\n  cert_file: nope.crt\n  client_auth_type: Sometimes\n  cipher_suites: [X]\nbasic_auth_users:\n  alice: plaintext\nrate_limit:\n  burst: 1\n');
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
    if (missing) return t.skip(missing);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'server.key'), '-out', path.join(dir, 'server.crt'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const hash = bcrypt.hashSync('s3cret', 4);
    writeFileSync(path.join(dir, 'web.yml'), `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  alice: "${hash}"\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`);
    const nosrv = await startNosrv([`--web.config.file=${path.join(dir, 'web.yml')}`, `--haproxy.socket=${path.join(dir, 'none.sock')}`]);
    const ca = read(path.join(dir, 'server.crt'));
    const request = (auth?: string): Promise<{ status: number; headers: Record<string, unknown> }> =>
      new Promise((resolve, reject) => {
        const req = https.get(`${nosrv.url.replace('http:', 'https:')}/healthz`, { ca, headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, headers: res.headers });
        });
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
