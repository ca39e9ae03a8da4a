import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cronExpression, loadInvocation, parseDuration, parseListenAddress } from '../src/config.js';

const noFile = (): string => {
  throw new Error('no such file');
};

describe('configuration', () => {
  test("defaults are the contract's", () => {
    const result = loadInvocation([], {}, noFile);
    assert.ok(result.ok);
    const { config, command } = result.invocation;
    assert.equal(command, 'daemon');
    assert.deepEqual(config.haproxy.socket, { kind: 'unix', path: '/run/haproxy/admin.sock' });
    assert.equal(config.haproxy.timeoutMs, 5000);
    assert.equal(config.watchIntervalMs, 1000);
    assert.deepEqual(config.listen, { host: undefined, port: 9503 });
    assert.equal(config.logLevel, 'info');
  });

  test('alerting: Alertmanagers repeated or listed, debounce by severity, the admin socket and external URL', () => {
    const result = loadInvocation(
      [
        '--alertmanager.url=http://am1:9093',
        '--alertmanager.url',
        'http://am2:9093,https://am3:9093',
        '--alertmanager.for=critical=5s',
        '--haproxy.admin-socket=/run/haproxy/admin.sock',
        '--web.external-url=http://lb1.example:9503/',
      ],
      {},
      noFile,
    );
    assert.ok(result.ok, JSON.stringify(result));
    const { config } = result.invocation;
    assert.deepEqual(config.alerting.alertmanagers, ['http://am1:9093', 'http://am2:9093', 'https://am3:9093']);
    assert.deepEqual(config.alerting.debounceMs, { critical: 5000, warning: 30_000, info: 60_000 });
    assert.equal(config.alerting.ignoreBackends, null);
    assert.deepEqual(config.haproxy.adminSocket, { kind: 'unix', path: '/run/haproxy/admin.sock' });
    assert.equal(config.externalUrl, 'http://lb1.example:9503');
    const defaults = loadInvocation([], { NOSRV_ALERTMANAGER_URL: 'http://am:9093' }, noFile);
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.invocation.config.alerting.alertmanagers, ['http://am:9093']);
    assert.deepEqual(defaults.invocation.config.alerting.debounceMs, { critical: 3000, warning: 30_000, info: 60_000 });
    const bad = loadInvocation(['--alertmanager.url=ftp://am', '--alertmanager.for=page=1s', '--alertmanager.http-config.file=/nope.yml'], {}, noFile);
    if (bad.ok) assert.fail('loaded');
    assert.equal(bad.problems.length, 3, bad.problems.join('\n'));
  });

  test('flag over environment over file', () => {
    const file = 'haproxy:\n  socket: /from/file.sock\n  timeout: 3s\nlog.level: debug\nweb:\n  listen-address: "127.0.0.1:1000"\n';
    const env = { NOSRV_HAPROXY_SOCKET: '/from/env.sock', NOSRV_HAPROXY_TIMEOUT: '2s', NOSRV_CONFIG: '/etc/nosrv.yml' };
    const result = loadInvocation(['--haproxy.socket=/from/flag.sock', '--log.level', 'warn'], env, () => file);
    assert.ok(result.ok, JSON.stringify(result));
    const { config } = result.invocation;
    assert.deepEqual(config.haproxy.socket, { kind: 'unix', path: '/from/flag.sock' });
    assert.equal(config.haproxy.timeoutMs, 2000);
    assert.equal(config.logLevel, 'warn');
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 1000 });
  });

  test('every problem is listed at once', () => {
    const result = loadInvocation(
      ['--haproxy.timeout=soon', '--no.such', '--watch.interval=7s', '--web.listen-address=nowhere', '--log.level=loud', 'extra'],
      {},
      noFile,
    );
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.problems.length, 6, result.problems.join('\n'));
    assert.match(result.problems.join('\n'), /unknown flag --no.such/);
    assert.match(result.problems.join('\n'), /--watch.interval=7s: must be a whole number of seconds that divides 60/);
  });

  test('a bad YAML file or an unknown setting in it is a problem, not a crash', () => {
    const bad = loadInvocation(['--config=x.yml'], {}, () => 'haproxy: [');
    assert.ok(!bad.ok);
    const unknown = loadInvocation(['--config=x.yml'], {}, () => 'haproxy:\n  sockett: /x\n');
    assert.ok(!unknown.ok);
    assert.match(unknown.problems.join(), /unknown setting "haproxy.sockett"/);
  });

  test('explain and --json', () => {
    const result = loadInvocation(['explain', '--json'], {}, noFile);
    assert.ok(result.ok);
    assert.equal(result.invocation.command, 'explain');
    assert.equal(result.invocation.json, true);
    assert.ok(!loadInvocation(['--json'], {}, noFile).ok, '--json alone is for explain');
  });

  test('a secret is not echoed in a problem', () => {
    const result = loadInvocation(['--haproxy.stats-url=ftp://x/'], { NOSRV_HAPROXY_STATS_PASSWORD: 'hunter2' }, noFile);
    assert.ok(!result.ok);
    assert.doesNotMatch(result.problems.join(), /hunter2/);
  });

  test('durations, cron expressions and listen addresses', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.throws(() => parseDuration('5'), /duration/);
    assert.equal(cronExpression(1000), '*/1 * * * * *');
    assert.equal(cronExpression(15_000), '*/15 * * * * *');
    assert.equal(cronExpression(300_000), '0 */5 * * * *');
    assert.throws(() => cronExpression(500));
    assert.deepEqual(parseListenAddress(':9503'), { host: undefined, port: 9503 });
    assert.deepEqual(parseListenAddress('[::1]:9503'), { host: '::1', port: 9503 });
  });
});
