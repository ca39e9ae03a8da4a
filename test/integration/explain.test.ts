// `nosrv explain` as a shell script or a deploy gate runs it, and /explain in its three formats.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Diagnosis } from '../../src/diagnosis.js';
import { freePort, haproxyVersion, missingTool, startBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { get } from '../support/metrics.js';
import { MAIN, startNosrv, type RunningNosrv } from '../support/nosrv.js';

const missing = missingTool('haproxy', 'haproxy');

// Asynchronous: the backends HAProxy checks live in this process and must keep answering meanwhile.
function nosrvExplain(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, 'explain', ...args], { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

describe('nosrv explain and /explain', { skip: missing ?? false }, () => {
  let healthy: Haproxy;
  let broken: Haproxy;
  let nosrv: RunningNosrv;
  const backends: Backend[] = [];

  before(async () => {
    const [a, b] = [await startBackend(), await startBackend()];
    const hostile = await startBackend({ status: 500, reason: '<script>alert(1)</script>' });
    backends.push(a, b, hostile);
    healthy = await startHaproxy({ proxies: `backend be_web\n    server a 127.0.0.1:${a.port}\n    server b 127.0.0.1:${b.port}\n` });
    broken = await startHaproxy({
      proxies: `backend be_web\n    server a 127.0.0.1:${a.port}\n    server b 127.0.0.1:${b.port}\nbackend be_gone\n    server x 127.0.0.1:${await freePort()} check inter 100ms\nbackend be_empty\nbackend be_hostile\n    option httpchk GET /\n    timeout check 3s\n    server h 127.0.0.1:${hostile.port} check inter 200ms\n`,
    });
    nosrv = await startNosrv([`--haproxy.socket=${broken.userSocket}`]);
    await waitFor(async () => (await get(`${nosrv.url}/explain?format=text`)).text.includes('alert(1)'), { timeoutMs: 5000, what: 'the hostile check detail' });
  });

  after(async () => {
    await nosrv.stop();
    await healthy.stop();
    await broken.stop();
    for (const b of backends) await b.close();
  });

  test('exit 0 when nothing fails', async () => {
    const r = await nosrvExplain([`--haproxy.socket=${healthy.userSocket}`]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /OK {2}1 backend\(s\): be_web/);
  });

  test('exit 1 when a backend fails, with the cause in words and in JSON', async () => {
    const text = await nosrvExplain([`--haproxy.socket=${broken.userSocket}`]);
    assert.equal(text.status, 1);
    assert.match(text.stdout, /FAILING {2}backend be_empty\n {2}\[no_servers\]/);
    const json = await nosrvExplain([`--haproxy.socket=${broken.userSocket}`, '--json']);
    assert.equal(json.status, 1);
    const d = JSON.parse(json.stdout) as Diagnosis;
    assert.deepEqual(
      d.backends
        .filter((b) => b.verdict === 'failing')
        .map((b) => b.name)
        .sort(),
      ['be_empty', 'be_gone', 'be_hostile'],
    );
  });

  test('exit 2 on a usage error, 3 when HAProxy cannot be read', async () => {
    const usage = await nosrvExplain(['--no-such-flag']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /unknown flag --no-such-flag/);
    const unreadable = await nosrvExplain(['--haproxy.socket=/nonexistent/haproxy.sock']);
    assert.equal(unreadable.status, 3);
    assert.match(unreadable.stdout, /CANNOT READ HAPROXY: no socket at \/nonexistent\/haproxy.sock/);
  });

  test('/explain: JSON by ?format or Accept, text, and ?backend narrows', async () => {
    const byQuery = JSON.parse((await get(`${nosrv.url}/explain?format=json`)).text) as Diagnosis;
    const byAccept = JSON.parse((await get(`${nosrv.url}/explain`, { accept: 'application/json' })).text) as Diagnosis;
    assert.deepEqual(
      byAccept.backends.map((b) => b.name),
      byQuery.backends.map((b) => b.name),
    );
    const narrowed = JSON.parse((await get(`${nosrv.url}/explain?format=json&backend=be_web`)).text) as Diagnosis;
    assert.deepEqual(
      narrowed.backends.map((b) => b.name),
      ['be_web'],
    );
    assert.equal((await get(`${nosrv.url}/explain?backend=nope`)).status, 404);
    const text = await get(`${nosrv.url}/explain?format=text`);
    assert.ok(text.text.startsWith(`HAProxy ${haproxyVersion()} at `), text.text.split('\n')[0]);
  });

  test('/explain HTML escapes every value from HAProxy', async () => {
    // The hostile reason shows while HAProxy's last check of h got that answer.
    let html = '';
    await waitFor(async () => (html = (await get(`${nosrv.url}/explain`)).text).includes('&#60;script&#62;alert(1)&#60;/script&#62;'), {
      timeoutMs: 5000,
      what: 'the hostile check detail, escaped',
    });
    assert.doesNotMatch(html, /<script>alert/);
  });
});
