// nosrv writes the exposition text itself, from numbers read out of the CSV line and whole
// families cached between scrapes. Whatever those shortcuts, it must say exactly what prom-client says when fed
// the same facts the obvious way.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVER_METRIC_GROUPS, type CollectOptions } from '../src/config.js';
import type { Diagnosis } from '../src/diagnosis.js';
import { ExpositionWriter } from '../src/metrics/exposition.js';
import { HaproxyMetrics } from '../src/metrics/haproxy.js';
import { parseShowProc } from '../src/parse/showProc.js';
import { parseStat } from '../src/parse/stat.js';
import { buildSnapshot, type Server, type ServerState, type Snapshot } from '../src/snapshot.js';
import { Watcher } from '../src/watcher.js';
import { answers, diagnosisOf, fixture, observeSnapshot, snapshotOf } from './support/fixtures.js';
import { specSnapshot, type ServerSpec } from './support/specSnapshot.js';
import { expositionContent, straightforwardExposition } from './support/straightforward.js';

const ALL: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: null, noMaint: false };
const DEFAULTS: CollectOptions = { serverMetrics: new Set(['state', 'sessions', 'changes', 'traffic', 'errors']), backends: null, noMaint: false };

/** With old workers: the process families are exported too. */
const PROCS = parseShowProc(fixture('haproxy-2.6.12-show-proc-old-workers.txt'));

/** A watcher that saw the lab, then the same lab with web1 going down: some counters above 0. */
function watcherOf(...snapshots: Snapshot[]): Watcher {
  const watcher = new Watcher();
  for (const s of snapshots) observeSnapshot(watcher, s);
  return watcher;
}

/** What `metrics` (its cache and its series from the reads it rendered before) writes of this read. */
function fastExposition(snapshot: Snapshot, diagnosis: Diagnosis, metrics: HaproxyMetrics): string {
  const out = new ExpositionWriter();
  metrics.write(out, snapshot);
  metrics.writeDiagnosis(out, diagnosis);
  return out.text();
}

async function assertSameContent(fast: string, reference: Promise<string>): Promise<void> {
  const ours = expositionContent(fast);
  const theirs = expositionContent(await reference);
  assert.deepEqual(ours.samples, theirs.samples);
  // Families without a series this time are announced by nosrv only; the types of the rest agree.
  for (const [name, type] of theirs.types) assert.equal(ours.types.get(name), type, name);
}

describe('the exposition nosrv writes equals the straightforward one (prom-client, one set per series)', () => {
  const takenAt = Date.parse('2026-11-24T01:00:00Z');
  const lab = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt });
  const goingDown = snapshotOf('haproxy-2.6.12-going-down.txt', { takenAt: takenAt + 1000 });
  const down = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt: takenAt + 2000 });

  for (const [what, collect] of [
    ['every group', ALL],
    ['the default groups', DEFAULTS],
  ] as const) {
    test(`2.6.12 lab, ${what}, and again from the cache`, async () => {
      const watcher = watcherOf(lab, goingDown, down);
      const diagnosis = diagnosisOf(down, watcher, PROCS);
      const metrics = new HaproxyMetrics(collect, watcher);
      const first = fastExposition(down, diagnosis, metrics);
      await assertSameContent(first, straightforwardExposition(down, watcher, diagnosis, collect));
      const again = fastExposition(down, diagnosis, metrics);
      assert.equal(again, first);
    });
  }

  test('one renderer through changing reads: each answer is the straightforward one for its read', async () => {
    const watcher = watcherOf(lab, goingDown, down);
    const metrics = new HaproxyMetrics(DEFAULTS, watcher);
    // Back and forth, so cached families are replaced and their value arrays used again.
    for (const snapshot of [lab, goingDown, lab, down, goingDown, goingDown]) {
      const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
      await assertSameContent(fastExposition(snapshot, diagnosis, metrics), straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
    }
  });

  test('3.3.0 columns read through the stats page, with a backend filter and no MAINT servers', async () => {
    const snapshot = buildSnapshot({ takenAt, source: 'stats_url', info: null, stat: parseStat(fixture('haproxy-3.3.0-stat.csv')), serversState: null });
    const watcher = watcherOf(snapshot);
    const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
    const collect: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: /^(?:be_ok|be_mixed)$/, noMaint: true };
    await assertSameContent(
      fastExposition(snapshot, diagnosis, new HaproxyMetrics(collect, watcher)),
      straightforwardExposition(snapshot, watcher, diagnosis, collect),
    );
  });

  test('a backend without its BACKEND row: its counts and no cells', async () => {
    // The lab's answer with be_api's BACKEND row left out (never seen from HAProxy, but not assumed).
    const { stat } = answers('haproxy-2.6.12-lab.txt');
    const rowless = parseStat(
      stat
        .split('\n')
        .filter((line) => !line.startsWith('be_api,BACKEND,'))
        .join('\n'),
    );
    const snapshot = buildSnapshot({ takenAt, source: 'socket', info: null, stat: rowless, serversState: null });
    assert.equal(snapshot.backends.find((b) => b.name === 'be_api')?.row, null);
    const watcher = watcherOf(snapshot);
    const diagnosis = diagnosisOf(snapshot, watcher);
    await assertSameContent(
      fastExposition(snapshot, diagnosis, new HaproxyMetrics(DEFAULTS, watcher)),
      straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS),
    );
  });

  const FILTERED: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: /^(?:be_ok|be_mixed|be_api)$/, noMaint: true };
  for (const [what, collect] of [
    ['the default groups', DEFAULTS],
    ['every group, a backend filter and no MAINT servers', FILTERED],
  ] as const) {
    test(`one renderer for every read, the watcher taking each read first, as the daemon does: ${what}`, async () => {
      const watcher = new Watcher();
      const metrics = new HaproxyMetrics(collect, watcher);
      const reads = [
        'haproxy-2.6.12-lab.txt',
        'haproxy-2.6.12-going-down.txt',
        'haproxy-2.6.12-lab.txt',
        'haproxy-2.6.12-going-down.txt',
        'haproxy-2.6.12-going-down.txt',
      ];
      for (const [k, name] of reads.entries()) {
        const snapshot = snapshotOf(name, { takenAt: takenAt + k * 1000 });
        observeSnapshot(watcher, snapshot);
        const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
        await assertSameContent(fastExposition(snapshot, diagnosis, metrics), straightforwardExposition(snapshot, watcher, diagnosis, collect));
      }
    });
  }

  test('change counts land in the series of their own state', async () => {
    const watcher = new Watcher();
    const first = lab.backends.flatMap((b) => b.servers)[0] as Server;
    // up, then down twice, maint three times, drain once and nolb four times.
    const path: ServerState[] = ['up', 'down', 'up', 'down', 'maint', 'up', 'maint', 'up', 'maint', 'drain', 'nolb', 'up', 'nolb', 'up', 'nolb', 'up', 'nolb'];
    for (const [k, state] of path.entries()) {
      watcher.observe(
        [{ backend: first.backend, name: first.name, state, held: [], usable: state === 'up', check: null, lastChangeAt: null }],
        null,
        takenAt - 100_000 + k * 1000,
      );
    }
    const snapshot = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt });
    const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
    const text = fastExposition(snapshot, diagnosis, new HaproxyMetrics(DEFAULTS, watcher));
    for (const [to, count] of Object.entries({ up: 6, down: 2, maint: 3, drain: 1, nolb: 4 })) {
      assert.match(text, new RegExp(`\\nhaproxy_server_state_changes_total\\{proxy="${first.backend}",server="${first.name}",to="${to}"\\} ${count}\\n`), to);
    }
    await assertSameContent(text, straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
  });

  test('the cache follows what changed through reads whose server counts shrink and grow', async () => {
    // 200 servers, then 10 (the series give back their room), then 200 again: the values of the
    // servers past the tenth are gone, and must not be taken for unchanged.
    const servers = (count: number, spec: (i: number) => ServerSpec): Record<string, ServerSpec> =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, spec(i)]));
    const busy = servers(200, (i) => ({ status: 'UP', scur: i + 1, maxconn: 500 }));
    const reads: Array<Record<string, ServerSpec>> = [
      busy,
      servers(200, (i) => ({ status: 'UP', scur: i + 2, maxconn: 500 })),
      busy,
      servers(10, (i) => ({ status: 'UP', scur: i + 1, maxconn: 500 })),
      servers(200, (i) => ({ status: 'UP', scur: i < 10 ? i + 1 : 0, maxconn: 500 })),
      servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })),
      servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })),
      servers(200, () => ({ status: 'UP', scur: 0, maxconn: 500 })),
      servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })),
    ];
    const watcher = new Watcher();
    const metrics = new HaproxyMetrics(DEFAULTS, watcher);
    for (const [k, read] of reads.entries()) {
      // The backend's queue and its servers' counts move with the reads too.
      const snapshot = specSnapshot({
        be: { queue: k % 3, servers: read },
        be_other: { queue: k % 2, servers: { a: { status: k % 4 === 0 ? 'DOWN' : 'UP' } } },
      });
      observeSnapshot(watcher, snapshot);
      const diagnosis = diagnosisOf(snapshot, watcher);
      const text = fastExposition(snapshot, diagnosis, metrics);
      await assertSameContent(text, straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
      assert.equal(text, fastExposition(snapshot, diagnosis, new HaproxyMetrics(DEFAULTS, watcher)), `read ${k}`);
    }
  });
});
