import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHaproxyConfig, parseTime, splitWords } from '../src/parse/haproxyConfig.js';
import { parseShowProc, parseUptime } from '../src/parse/showProc.js';
import { fixture } from './support/fixtures.js';

describe('HAProxy configuration', () => {
  test('the lab configuration the fixtures were captured with', () => {
    const config = parseHaproxyConfig(fixture('haproxy-2.6.12-lab.cfg'));
    const by = new Map(config.proxies.map((p) => [p.name, p]));
    assert.deepEqual(
      config.proxies.map((p) => `${p.kind} ${p.name}`),
      [
        'frontend fe_main',
        'frontend fe_nodefault',
        'backend be_ok',
        'backend be_api',
        'backend be_empty',
        'backend be_mixed',
        'backend be_backup',
        'backend be_fail',
      ],
    );
    assert.equal(by.get('fe_main')?.defaultBackend, 'be_ok');
    assert.deepEqual(
      by.get('fe_nodefault')?.useBackends.map((u) => u.target),
      ['be_ok'],
    );
    assert.equal(by.get('fe_nodefault')?.defaultBackend, null);
    const mixed = by.get('be_mixed')?.servers ?? [];
    assert.deepEqual(
      mixed.map((s) => [s.name, s.check, s.backup, s.disabled, s.track]),
      [
        ['m_up', true, false, false, null],
        ['m_drain', true, false, false, null],
        ['m_nocheck', false, false, false, null],
        ['m_track', false, false, false, 'be_api/api1'],
        ['m_disabled', true, false, true, null],
        ['m_backup', true, true, false, null],
      ],
    );
    assert.equal(by.get('be_ok')?.servers[1]?.maxconn, 10);
    assert.equal(by.get('be_ok')?.servers[0]?.interMs, 200);
    assert.equal(by.get('be_fail')?.servers[0]?.fastinterMs, 2000);
    assert.equal(by.get('be_ok')?.timeoutQueueMs, 1000, 'inherited from defaults');
  });

  test('defaults: the last one applies, a new one resets, "from" names one', () => {
    const config = parseHaproxyConfig(`
defaults base
    timeout queue 5s
    default-server check inter 3s
    default_backend be_a
backend be_a
    server s1 10.0.0.1:80
defaults
    timeout connect 2s
frontend fe_reset
    use_backend be_a if TRUE
frontend fe_from from base
    use_backend be_a if TRUE
`);
    const by = new Map(config.proxies.map((p) => [p.name, p]));
    assert.deepEqual([by.get('be_a')?.servers[0]?.check, by.get('be_a')?.servers[0]?.interMs, by.get('be_a')?.timeoutQueueMs], [true, 3000, 5000]);
    assert.equal(by.get('be_a')?.defaultBackend, null, 'a backend does not route');
    assert.deepEqual([by.get('fe_reset')?.defaultBackend, by.get('fe_reset')?.timeoutConnectMs], [null, 2000]);
    assert.equal(by.get('fe_from')?.defaultBackend, 'be_a');
  });

  test('comments, quotes and escapes; unknown directives and sections are ignored', () => {
    assert.deepEqual(splitWords('  use_backend be_x if { hdr(host) -i "a b" } # comment'), ['use_backend', 'be_x', 'if', '{', 'hdr(host)', '-i', 'a b', '}']);
    assert.deepEqual(splitWords("log-format 'x #y'  \\# z"), ['log-format', 'x #y', '#', 'z']);
    const config = parseHaproxyConfig(
      'global\n    stats socket /x level user\nresolvers dns\n    nameserver a 1.1.1.1:53\nbackend be # the api\n    whatever-new-directive 1 2 3\n    server-template web 1-3 10.0.0.1:80 check\n    # server gone 10.0.0.9:80\n',
    );
    assert.deepEqual(
      config.proxies.map((p) => [p.name, p.servers.map((s) => s.name)]),
      [['be', ['web1', 'web2', 'web3']]],
    );
  });

  test('time units', () => {
    assert.deepEqual(['100', '100ms', '2s', '1m', '1h', '1d', '500us', 'x'].map(parseTime), [100, 100, 2000, 60_000, 3_600_000, 86_400_000, 0.5, null]);
  });
});

describe('show proc', () => {
  test('after a failed reload: the master counts it, the current worker survived it', () => {
    const p = parseShowProc(fixture('haproxy-2.6.12-show-proc-failed-reload.txt'));
    assert.deepEqual([p.master.pid, p.master.reloads, p.master.failedReloads], [27070, 2, 1]);
    assert.deepEqual(
      p.workers.map((w) => [w.pid, w.reloads, w.version]),
      [[27103, 1, '2.6.12-1+deb12u4']],
    );
    assert.deepEqual(p.oldWorkers, []);
  });

  test('an old worker still serving its connections', () => {
    const p = parseShowProc(fixture('haproxy-2.6.12-show-proc-old-workers.txt'));
    assert.deepEqual(
      p.workers.map((w) => w.reloads),
      [0],
    );
    assert.deepEqual(
      p.oldWorkers.map((w) => [w.pid, w.reloads, w.uptimeSeconds]),
      [[27285, 1, 4]],
    );
  });

  test('what is not show proc is an error', () => {
    assert.throws(() => parseShowProc('Unknown command\n'), /unexpected line|no master/);
    assert.throws(() => parseShowProc('# workers\n'), /no master line/);
    assert.equal(parseUptime('1d02h03m04s'), 93784);
  });
});
