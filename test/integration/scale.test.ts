// 10,000 servers on a real HAProxy (1,000 backends of 10): the exposition stays valid for
// promtool, says what the straightforward prom-client path says, and the cardinality flags cut
// the series as the README documents. Speed is measured by `npm run bench`, not here.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadInvocation, type CollectOptions } from '../../src/config.js';
import { SocketSource } from '../../src/haproxy/source.js';
import { ExpositionWriter } from '../../src/metrics/exposition.js';
import { HaproxyMetrics } from '../../src/metrics/haproxy.js';
import { buildSnapshot } from '../../src/snapshot.js';
import type { Snapshot } from '../../src/snapshot.js';
import { Watcher, type ReadHistory } from '../../src/watcher.js';
import { freePort, missingTool, startBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';
import { startNosrv } from '../support/nosrv.js';
import { diagnosisOf, observeSnapshot } from '../support/fixtures.js';
import { expositionContent, straightforwardExposition } from '../support/straightforward.js';

const missing = missingTool('haproxy', 'haproxy') ?? missingTool('promtool', 'prometheus');
const BACKENDS = 1000;
const PER_BACKEND = 10;

/** Series per server for each --collect.server-metrics group, as the README's table says (checked: a TCP health check, maxconn and maxqueue; unchecked: maxconn only). */
const DOCUMENTED: Record<string, { checked: number; unchecked: number }> = {
  state: { checked: 6, unchecked: 4 },
  sessions: { checked: 5, unchecked: 4 },
  changes: { checked: 5, unchecked: 5 },
  traffic: { checked: 12, unchecked: 12 },
  errors: { checked: 11, unchecked: 8 },
  timing: { checked: 5, unchecked: 4 },
};

function collectFrom(flags: readonly string[]): CollectOptions {
  const loaded = loadInvocation([...flags], {}, (file) => readFileSync(file, 'utf8'));
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.join('; '));
  return loaded.invocation.config.collect;
}

function render(snapshot: Snapshot, history: ReadHistory, collect: CollectOptions): string {
  const out = new ExpositionWriter();
  new HaproxyMetrics(collect).write(out, snapshot, history);
  return out.text();
}

function seriesOf(text: string, labels: string): number {
  return text.split('\n').filter((l) => !l.startsWith('#') && l.includes(labels)).length;
}

describe('10,000 servers on a real HAProxy', { skip: missing ?? false }, () => {
  let haproxy: Haproxy;
  let backend: Backend;

  before(async () => {
    backend = await startBackend();
    const dead = await freePort();
    // be_0 has health checks, maxconn and maxqueue; the other 999 backends have neither checks nor a queue limit.
    const lines = [`backend be_0\n    default-server check inter 500ms maxconn 100 maxqueue 50\n`];
    for (let s = 0; s < PER_BACKEND; s++) lines.push(`    server srv_${s} 127.0.0.1:${backend.port}\n`);
    for (let b = 1; b < BACKENDS; b++) {
      lines.push(`backend be_${b}\n`);
      for (let s = 0; s < PER_BACKEND; s++) lines.push(`    server srv_${s} 127.0.0.1:${dead} maxconn 100\n`);
    }
    haproxy = await startHaproxy({ proxies: lines.join('') });
    await haproxy.admin('set server be_1/srv_0 state maint');
    await waitFor(async () => (await haproxy.admin('show stat be_0 4 -1')).split('\n').filter((l) => l.includes(',L4OK,')).length === PER_BACKEND, {
      timeoutMs: 5000,
      what: "be_0's checks to pass",
    });
  });

  after(async () => {
    await haproxy.stop();
    await backend.close();
  });

  test('promtool check metrics accepts the whole /metrics, every group on, sent as it is written', async () => {
    const nosrv = await startNosrv([`--haproxy.socket=${haproxy.userSocket}`, '--collect.server-metrics=all', '--haproxy.timeout=30s']);
    try {
      const response = await fetch(`${nosrv.url}/metrics`);
      // Sent as it is written, not held for a Content-Length until the last family is written.
      assert.equal(response.headers.get('transfer-encoding'), 'chunked');
      const text = await response.text();
      assert.equal(response.status, 200);
      assert.equal(text.split('\n').filter((l) => l.startsWith('haproxy_server_state{')).length, BACKENDS * PER_BACKEND);
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`.slice(0, 2000));
    } finally {
      await nosrv.stop();
    }
  });

  test('a read streamed from the socket renders what prom-client renders the obvious way', async () => {
    const snapshot = buildSnapshot(await new SocketSource({ kind: 'unix', path: haproxy.userSocket }).read(Date.now() + 30_000));
    const watcher = new Watcher();
    const history = observeSnapshot(watcher, snapshot);
    const diagnosis = diagnosisOf(snapshot, history);
    const collect = collectFrom(['--collect.server-metrics=all']);
    const out = new ExpositionWriter();
    const metrics = new HaproxyMetrics(collect);
    metrics.write(out, snapshot, history);
    metrics.writeDiagnosis(out, diagnosis);
    const ours = expositionContent(out.text());
    const reference = expositionContent(await straightforwardExposition(snapshot, watcher, diagnosis, collect));
    assert.equal(ours.samples.size, reference.samples.size);
    assert.deepEqual(ours.samples, reference.samples);
  });

  describe('cardinality flags', () => {
    let snapshot: Snapshot;
    let history: ReadHistory;
    before(async () => {
      snapshot = buildSnapshot(await new SocketSource({ kind: 'unix', path: haproxy.userSocket }).read(Date.now() + 30_000));
      history = observeSnapshot(new Watcher(), snapshot);
    });

    test('each --collect.server-metrics group adds the series per server the README says', () => {
      const none = render(snapshot, history, collectFrom(['--collect.server-metrics=']));
      assert.equal(seriesOf(none, 'server="'), 0, 'no group: no per-server series');
      const measured = Object.fromEntries(
        Object.keys(DOCUMENTED).map((group) => {
          const text = render(snapshot, history, collectFrom([`--collect.server-metrics=${group}`]));
          return [group, { checked: seriesOf(text, 'proxy="be_0",server="srv_3"'), unchecked: seriesOf(text, 'proxy="be_2",server="srv_3"') }];
        }),
      );
      assert.deepEqual(measured, DOCUMENTED);
      const defaults = render(snapshot, history, collectFrom([]));
      const perUnchecked = ['state', 'sessions', 'changes', 'traffic', 'errors'].reduce((sum, group) => sum + (DOCUMENTED[group]?.unchecked ?? 0), 0);
      assert.equal(seriesOf(defaults, 'proxy="be_2",server="srv_3"'), perUnchecked, 'the defaults: state, sessions, changes, traffic, errors');
    });

    test('--collect.backends keeps the matching backends and their servers only', () => {
      const all = render(snapshot, history, collectFrom([]));
      const some = render(snapshot, history, collectFrom(['--collect.backends=be_1\\d\\d']));
      assert.equal(seriesOf(some, 'haproxy_backend_up_servers{'), 100);
      assert.equal(seriesOf(some, 'haproxy_server_state{'), 100 * PER_BACKEND);
      assert.ok(seriesOf(all, '{') > 9 * seriesOf(some, '{'));
    });

    test('--collect.no-maint leaves out the server in MAINT, as promex does with no-maint', () => {
      const all = render(snapshot, history, collectFrom([]));
      const noMaint = render(snapshot, history, collectFrom(['--collect.no-maint']));
      assert.equal(seriesOf(all, 'proxy="be_1",server="srv_0"') > 0, true);
      assert.equal(seriesOf(noMaint, 'proxy="be_1",server="srv_0"'), 0);
      assert.equal(seriesOf(all, 'server="') - seriesOf(noMaint, 'server="'), seriesOf(all, 'proxy="be_1",server="srv_0"'));
    });
  });
});
