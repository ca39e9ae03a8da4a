// The integration tests that start HAProxy, run again against each HAProxy people run besides the
// system's 2.6 (Debian bookworm): 2.2 (bullseye), 3.0 (trixie) and 3.2 (sid), each from a Debian
// root that scripts/haproxy-roots.sh builds and keeps. NOSRV_HAPROXY_VERSIONS=3.0 runs one.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOTS = process.env.NOSRV_HAPROXY_ROOTS ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'nosrv-test/haproxy-roots');
export const VERSIONS = [
  { haproxy: '2.2', suite: 'bullseye' },
  { haproxy: '3.0', suite: 'trixie' },
  { haproxy: '3.2', suite: 'sid' },
] as const;
/** The integration tests whose subject is HAProxy's behaviour. */
const FILES = ['states', 'diagnosis', 'scrapes', 'logs', 'explain', 'resilience'].map((f) => path.join(HERE, 'integration', `${f}.test.js`));

const wanted = (process.env.NOSRV_HAPROXY_VERSIONS ?? '').split(',').filter(Boolean);

describe('every HAProxy people run', () => {
  for (const v of VERSIONS.filter((x) => wanted.length === 0 || wanted.includes(x.haproxy))) {
    const root = path.join(ROOTS, v.suite);
    const missing = existsSync(path.join(root, 'usr/sbin/haproxy'))
      ? null
      : `no Debian ${v.suite} root at ${root}: scripts/haproxy-roots.sh ${v.suite} builds it (as root)`;
    if (missing && process.env.CI === 'true') throw new Error(missing);
    test(`HAProxy ${v.haproxy} (Debian ${v.suite}): the integration tests that start HAProxy`, { skip: missing ?? false, timeout: 900_000 }, (t) => {
      // A run of its own, not a child of this one: without NODE_TEST_CONTEXT it reports as a run.
      const { NODE_TEST_CONTEXT: _, ...env } = process.env;
      const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...FILES], {
        env: { ...env, NOSRV_HAPROXY_ROOT: root },
        encoding: 'utf8',
        timeout: 840_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      const summary = run.stdout.split('\n').filter((l) => /^ℹ (tests|pass|fail|skipped) /.test(l));
      const count = (what: string): number => Number(/\d+/.exec(summary.find((l) => l.startsWith(`ℹ ${what} `)) ?? '')?.[0] ?? NaN);
      t.diagnostic(`${spawnSync('chroot', [root, 'haproxy', '-v'], { encoding: 'utf8' }).stdout.split('\n')[0]}: ${summary.join(', ')}`);
      const failing = run.stdout.split('\n').filter((l) => /^\s*✖/.test(l));
      assert.equal(run.status, 0, `${failing.join('\n')}\n${run.stdout.slice(-6000)}${run.stderr.slice(-2000)}`);
      assert.ok(count('tests') >= 20 && count('fail') === 0 && count('pass') === count('tests') - count('skipped'), summary.join(', '));
      assert.equal(count('skipped'), 0, 'every test ran');
    });
  }
});
